import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open.js';
import type { Store } from '../../../src/store/types.js';
import { netWithSubnet, startApi, type Harness } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function storeFor(kind: string): Promise<Store> {
  if (kind === 'memory') return openStore('memory:');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-api-'));
  dirs.push(dir);
  return openStore(`sqlite:${path.join(dir, 'nb.sqlite')}`);
}

describe.each(['memory', 'sqlite'])('concurrency on %s', (kind) => {
  let h: Harness;
  afterEach(() => h.close());

  it('200 parallel port creates on a /26: unique addresses until exhaustion, then IpAddressGenerationFailure', async () => {
    h = await startApi({ store: await storeFor(kind) });
    const { net } = await netWithSubnet(h, '10.0.0.0/26');
    const results = await Promise.all(Array.from({ length: 200 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net } })));
    const ok = results.filter((r) => r.status === 201);
    const failed = results.filter((r) => r.status !== 201);
    // .0 network, .1 gateway, .63 broadcast: 61 addresses in the pool.
    expect(ok).toHaveLength(61);
    expect(failed.every((r) => r.status === 409 && r.body.NeutronError.type === 'IpAddressGenerationFailure')).toBe(true);
    const ips = ok.map((r) => r.body.port.fixed_ips[0].ip_address);
    const macs = ok.map((r) => r.body.port.mac_address);
    expect(new Set(ips).size).toBe(61);
    expect(new Set(macs).size).toBe(61);
    const listed = (await h.req('GET', '/v2.0/ports')).body.ports;
    expect(listed).toHaveLength(61);
    expect((await h.store.range('/ipam/ip/')).kvs).toHaveLength(61);
    const keys = new Set((await h.store.range('/ipam/port-key/')).kvs.map((kv) => kv.key));
    expect(keys.size).toBe(61);
  }, 120_000);

  it('concurrent creates of the same IP and the same MAC: exactly one wins, the rest get 409', async () => {
    h = await startApi({ store: await storeFor(kind) });
    const { net } = await netWithSubnet(h, '10.0.0.0/24');
    const sameIp = await Promise.all(Array.from({ length: 20 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ ip_address: '10.0.0.50' }] } })));
    expect(sameIp.filter((r) => r.status === 201)).toHaveLength(1);
    expect(sameIp.filter((r) => r.status === 409 && r.body.NeutronError.type === 'IpAddressInUse')).toHaveLength(19);
    const sameMac = await Promise.all(Array.from({ length: 20 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net, mac_address: 'fa:16:3e:01:02:03' } })));
    expect(sameMac.filter((r) => r.status === 201)).toHaveLength(1);
    expect(sameMac.filter((r) => r.status === 409 && r.body.NeutronError.type === 'MacAddressInUse')).toHaveLength(19);
    expect((await h.req('GET', '/v2.0/ports')).body.ports).toHaveLength(2);
  }, 60_000);

  it('network delete racing port creates never leaves orphan ports', async () => {
    h = await startApi({ store: await storeFor(kind) });
    for (let round = 0; round < 5; round++) {
      const { net } = await netWithSubnet(h, '10.0.0.0/24');
      const creates = Array.from({ length: 10 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net, device_owner: 'compute:x' } }));
      const del = h.req('DELETE', `/v2.0/networks/${net}`);
      const [d, ...ports] = await Promise.all([del, ...creates]);
      const created = ports.filter((p) => p.status === 201).length;
      if (d.status === 204) {
        expect(created).toBe(0);
        expect((await h.req('GET', `/v2.0/ports?network_id=${net}`)).body.ports).toHaveLength(0);
      } else {
        expect(d.body.NeutronError.type).toBe('NetworkInUse');
        expect((await h.req('GET', `/v2.0/ports?network_id=${net}`)).body.ports).toHaveLength(created);
      }
    }
  }, 60_000);
});
