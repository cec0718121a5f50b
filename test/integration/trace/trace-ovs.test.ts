/**
 * `wyvern trace` against real Open vSwitch (dummy datapath): two chassis, networks blue and red
 * joined by router r1, the north-bound store read over the server's HTTP store endpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { traceFlow } from '../../../src/cli/trace.js';
import { main } from '../../../src/cli/main.js';
import { LocalController } from '../../../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';
import { NeutronApi } from '../../../src/server/app.js';
import { createStoreHttpHandler } from '../../../src/store/http-service.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { NeutronClient, waitFor } from '../../support/neutron-client.js';

const TUNNEL = { hv1: '198.51.100.11', hv2: '198.51.100.12' } as const;
type Port = Record<string, unknown> & { id: string };

describe('wyvern trace on real Open vSwitch', () => {
  let dir: string;
  const ovs: Record<string, OvsInstance> = {};
  const controllers: LocalController[] = [];
  let store: MemoryStore;
  let server: Server;
  let url: string;
  let vm1: Port;
  let vm2: Port;
  let vm3: Port;
  let gw: Port;
  let vm4: Port;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-trace-'));
    store = new MemoryStore();
    ({ server, url } = await new NeutronApi(store, { onError: () => {}, preHandlers: [createStoreHttpHandler(store)] }).listen('127.0.0.1', 0));
    const api = new NeutronClient(url);
    for (const name of ['hv1', 'hv2'] as const) {
      ovs[name] = await startOvs({ dir: path.join(dir, name), dummy: true });
      const c = new LocalController({ chassis: name, nb: 'memory:', store, ovsdb: ovs[name].dbTarget, tunnelIp: TUNNEL[name], datapathType: 'dummy' });
      controllers.push(c);
      await c.start();
    }
    const blue = await api.create('network', { name: 'blue' });
    const red = await api.create('network', { name: 'red' });
    const sBlue = await api.create('subnet', { network_id: blue.id, cidr: '10.1.0.0/24', ip_version: 4 });
    const sRed = await api.create('subnet', { network_id: red.id, cidr: '10.2.0.0/24', ip_version: 4 });
    const r1 = await api.create('router', { name: 'r1' });
    const ifBlue = await api.call<{ port_id: string }>('PUT', `/routers/${r1.id}/add_router_interface`, { subnet_id: sBlue.id });
    await api.call('PUT', `/routers/${r1.id}/add_router_interface`, { subnet_id: sRed.id });
    gw = await api.show('port', ifBlue.port_id);
    vm1 = await api.create('port', { network_id: blue.id, name: 'vm1' });
    vm2 = await api.create('port', { network_id: red.id, name: 'vm2' });
    vm3 = await api.create('port', { network_id: blue.id, name: 'vm3' });
    const { security_group: web } = await api.call<{ security_group: { id: string } }>('POST', '/security-groups', { security_group: { name: 'web' } });
    await api.call('POST', '/security-group-rules', {
      security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
    });
    vm4 = await api.create('port', { network_id: blue.id, name: 'vm4', security_groups: [web.id] });
    await ovs.hv1.vsctl('add-port', 'br-int', 'vm4', '--', 'set', 'Interface', 'vm4', `external_ids:iface-id=${vm4.id}`);
    await ovs.hv1.vsctl('add-port', 'br-int', 'vm1', '--', 'set', 'Interface', 'vm1', `external_ids:iface-id=${vm1.id}`);
    await ovs.hv2.vsctl('add-port', 'br-int', 'vm2', '--', 'set', 'Interface', 'vm2', `external_ids:iface-id=${vm2.id}`);
    await ovs.hv2.vsctl('add-port', 'br-int', 'vm3', '--', 'set', 'Interface', 'vm3', `external_ids:iface-id=${vm3.id}`);
  });

  afterAll(async () => {
    for (const c of controllers) await c.stop();
    for (const o of Object.values(ovs)) await o.stop();
    server?.closeAllConnections();
    server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ip = (p: Port) => (p.fixed_ips as { ip_address: string }[])[0].ip_address;
  const mac = (p: Port) => p.mac_address as string;
  const target = () => path.join(dir, 'hv1', 'ovs-vswitchd.ctl');

  it('names the ports and network of a VM→VM packet (L2, remote chassis)', async () => {
    const r = await waitFor(async () => {
      const t = await traceFlow({
        appctlTarget: target(), nb: url, port: 'vm1', ovsdb: ovs.hv1.dbTarget,
        flow: `dl_dst=${mac(vm3)},ip,nw_src=${ip(vm1)},nw_dst=${ip(vm3)}`,
      });
      return t.explanation.summary.includes('tunnel to') ? t : undefined;
    }, 20_000, 'vm1 → vm3 through the tunnel');
    expect(r.flow).toMatch(new RegExp(`^in_port=vm1,dl_src=${mac(vm1)},`));
    expect(r.explanation.summary).toMatch(
      /^port vm1 → network blue → allowed by security group default rule [0-9a-f]{8} \(egress IPv4 any\) → port vm3 \(tunnel to 198\.51\.100\.12\)$/,
    );
    expect(r.explanation.lines.some((l) => /^\[\d+\] l2_lookup: port vm3 \(/.test(l))).toBe(true);
  });

  it('names the router and both networks of a routed packet', async () => {
    const r = await waitFor(async () => {
      const t = await traceFlow({
        appctlTarget: target(), nb: url,
        flow: `in_port=vm1,dl_src=${mac(vm1)},dl_dst=${mac(gw)},ip,nw_src=${ip(vm1)},nw_dst=${ip(vm2)},nw_ttl=64`,
      });
      return t.explanation.summary.includes('tunnel to') ? t : undefined;
    }, 20_000, 'vm1 → vm2 routed');
    expect(r.explanation.summary).toMatch(
      /^port vm1 → network blue → allowed by security group default rule [0-9a-f]{8} \(egress IPv4 any\) → router r1 → network red → port vm2 \(tunnel to 198\.51\.100\.12\)$/,
    );
  });

  it('runs as `wyvern trace` and exits 1 on a drop', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await main([
        'trace', '--appctl-target', target(), '--nb', url, '--bridge', 'br-int',
        `in_port=vm1,dl_src=fa:16:3e:66:66:66,dl_dst=${mac(vm3)},ip,nw_src=${ip(vm1)},nw_dst=${ip(vm3)}`,
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(1);
    expect(out.join('')).toContain('path: port vm1 → network blue → drop in port_sec_in (miss flow)');
    expect(out.join('')).toContain('datapath actions: drop');
  });

  describe('security groups', () => {
    const tcpTo = (port: number) => `dl_dst=${mac(vm4)},tcp,nw_src=${ip(vm1)},nw_dst=${ip(vm4)},tp_dst=${port}`;
    const trace = (flow: string, ctNext: string[]) =>
      waitFor(async () => {
        const t = await traceFlow({ appctlTarget: target(), nb: url, port: 'vm1', ovsdb: ovs.hv1.dbTarget, flow, ctNext });
        return t.explanation.summary.includes('security group web') || t.explanation.summary.includes('connection') ? t : undefined;
      }, 20_000, `trace ${flow}`);

    it('names the rule that allowed a new connection on each side', async () => {
      const r = await trace(tcpTo(22), ['trk,new', 'trk,new']);
      expect(r.explanation.summary).toMatch(
        /^port vm1 → network blue → allowed by security group default rule [0-9a-f]{8} \(egress IPv4 any\) → allowed by security group web rule [0-9a-f]{8} \(ingress IPv4 tcp 22-22\) → port vm4$/,
      );
    });

    it('names the groups of the port that dropped it', async () => {
      const r = await trace(tcpTo(80), ['trk,new', 'trk,new']);
      expect(r.explanation.dropped).toBe(true);
      expect(r.explanation.summary).toMatch(/→ dropped by security group web of port vm4 \(no rule matched\)$/);
    });

    it('says a reply passes as a reply, and an invalid packet is dropped for its state', async () => {
      const reply = await trace(tcpTo(80), ['trk,est,rpl', 'trk,est,rpl']);
      expect(reply.explanation.summary).toMatch(/^port vm1 → network blue → reply of an allowed connection → port vm4$/);
      const inv = await trace(tcpTo(22), ['trk,inv']);
      expect(inv.explanation.summary).toMatch(/→ dropped: invalid connection state$/);
    });
  });
});
