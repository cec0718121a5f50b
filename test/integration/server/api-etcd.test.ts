/**
 * The API's transactional guarantees on etcd (a private etcd started by the test): the same
 * races as the unit concurrency tests, through the etcd driver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open.js';
import { EtcdProcess } from '../../support/etcd.js';
import { expectFault, netWithSubnet, startApi, type Harness } from '../../unit/server/helpers.js';


describe('API on etcd', () => {
  let etcd: EtcdProcess;
  let h: Harness;
  beforeAll(async () => {
    etcd = await EtcdProcess.start();
    h = await startApi({ store: await openStore(`etcd:${etcd.url}`) });
  });
  afterAll(async () => {
    await h?.close();
    await etcd?.stop();
  });

  it('lifecycle and errors', async () => {
    const { net, subnet } = await netWithSubnet(h, '10.1.0.0/24');
    const p = await h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ subnet_id: subnet, ip_address: '10.1.0.9' }] } });
    expect(p.status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ ip_address: '10.1.0.9' }] } }), 409, 'IpAddressInUse');
    expectFault(await h.req('DELETE', `/v2.0/networks/${net}`), 409, 'NetworkInUse');
    expect((await h.req('DELETE', `/v2.0/ports/${p.body.port.id}`)).status).toBe(204);
    expect((await h.req('DELETE', `/v2.0/networks/${net}`)).status).toBe(204);
  });

  it('200 parallel port creates on a /26: 61 unique addresses, the rest IpAddressGenerationFailure', async () => {
    const { net } = await netWithSubnet(h, '10.0.0.0/26');
    const results = await Promise.all(Array.from({ length: 200 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net } })));
    const ok = results.filter((r) => r.status === 201);
    expect(ok).toHaveLength(61);
    expect(results.filter((r) => r.status === 409 && r.body.NeutronError.type === 'IpAddressGenerationFailure')).toHaveLength(139);
    expect(new Set(ok.map((r) => r.body.port.fixed_ips[0].ip_address)).size).toBe(61);
    expect(new Set(ok.map((r) => r.body.port.mac_address)).size).toBe(61);
    expect((await h.req('GET', `/v2.0/ports?network_id=${net}`)).body.ports).toHaveLength(61);
  });

  it('same IP and same MAC races: exactly one winner', async () => {
    const { net } = await netWithSubnet(h, '10.2.0.0/24');
    const sameIp = await Promise.all(Array.from({ length: 20 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ ip_address: '10.2.0.50' }] } })));
    expect(sameIp.filter((r) => r.status === 201)).toHaveLength(1);
    expect(sameIp.filter((r) => r.status === 409 && r.body.NeutronError.type === 'IpAddressInUse')).toHaveLength(19);
    const sameMac = await Promise.all(Array.from({ length: 20 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: net, mac_address: 'fa:16:3e:01:02:03' } })));
    expect(sameMac.filter((r) => r.status === 201)).toHaveLength(1);
    expect(sameMac.filter((r) => r.status === 409 && r.body.NeutronError.type === 'MacAddressInUse')).toHaveLength(19);
  });
});
