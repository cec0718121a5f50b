/**
 * `wyvern trace` across chassis against real Open vSwitch (dummy datapath): two chassis with
 * in-process controllers, networks blue (vm1 on hv1) and red (vm2, vm3 on hv2) joined by router
 * r1; vm2 is in security group web (ingress tcp/22 only). The trace leaves hv1 through the
 * Geneve tunnel and continues on hv2 with the tunnel metadata hv1 set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { traceAcross, type AcrossResult } from '../../../src/cli/trace.js';
import { main } from '../../../src/cli/main.js';
import { LocalController } from '../../../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';
import { NeutronApi } from '../../../src/server/app.js';
import { createStoreHttpHandler } from '../../../src/store/http-service.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { PORTS } from '../../../src/model/collections.js';
import { NeutronClient, waitFor } from '../../support/neutron-client.js';

const TUNNEL = { hv1: '198.51.100.11', hv2: '198.51.100.12' } as const;
type Port = Record<string, unknown> & { id: string };

describe.each(['geneve', 'vxlan'] as const)('wyvern trace across chassis on real Open vSwitch (%s)', (encap) => {
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

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-trace-across-'));
    store = new MemoryStore();
    ({ server, url } = await new NeutronApi(store, { onError: () => {}, preHandlers: [createStoreHttpHandler(store)] }).listen('127.0.0.1', 0));
    const api = new NeutronClient(url);
    for (const name of ['hv1', 'hv2'] as const) {
      ovs[name] = await startOvs({ dir: path.join(dir, name), dummy: true });
      const c = new LocalController({ chassis: name, nb: 'memory:', store, ovsdb: ovs[name].dbTarget, tunnelIp: TUNNEL[name], datapathType: 'dummy', encap });
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
    const { security_group: web } = await api.call<{ security_group: { id: string } }>('POST', '/security-groups', { security_group: { name: 'web' } });
    await api.call('POST', '/security-group-rules', {
      security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
    });
    vm1 = await api.create('port', { network_id: blue.id, name: 'vm1' });
    vm2 = await api.create('port', { network_id: red.id, name: 'vm2', security_groups: [web.id] });
    vm3 = await api.create('port', { network_id: red.id, name: 'vm3' });
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ip = (p: Port) => (p.fixed_ips as { ip_address: string }[])[0].ip_address;
  const mac = (p: Port) => p.mac_address as string;
  const ctl = (chassis: string) => path.join(dir, chassis, 'ovs-vswitchd.ctl');
  const routedTo = (dst: Port, l4: string) => `dl_dst=${mac(gw)},${l4},nw_src=${ip(vm1)},nw_dst=${ip(dst)},nw_ttl=64`;

  /** Traces until both chassis have their flows for the packet (the controllers converge meanwhile). */
  const across = (flow: string, done: (r: AcrossResult) => boolean): Promise<AcrossResult> =>
    waitFor(async () => {
      const r = await traceAcross({ appctlTarget: path.join(dir, '{chassis}', 'ovs-vswitchd.ctl'), nb: url, port: 'vm1', ovsdb: ovs.hv1.dbTarget, flow });
      return done(r) ? r : undefined;
    }, 30_000, `trace ${flow}`);
  const reachedHv2 = (r: AcrossResult) => r.hops.length === 2 && !/drop in (tunnel_in|classify)/.test(r.hops[1].explanation.summary);

  it('follows a routed packet from hv1 through the tunnel to its delivery on hv2', async () => {
    const r = await across(routedTo(vm3, 'icmp,icmp_type=8,icmp_code=0'), (x) => reachedHv2(x) && !x.story.dropped);
    expect(r.hops.map((h) => [h.chassis, h.tunnelIp, h.appctlTarget])).toEqual([
      ['hv1', TUNNEL.hv1, ctl('hv1')],
      ['hv2', TUNNEL.hv2, ctl('hv2')],
    ]);
    // hv2 was asked about the packet as the tunnel delivers it: its tunnel port, the network key
    // as tun_id, vm3's port key in the Geneve option, and the headers hv1's router rewrote.
    const exit = r.hops[0].explanation.exits[0];
    expect(r.hops[1].from).toEqual({ hop: 0, exit: 0 });
    // Geneve: tun_id = the network key, the port key in the option; VXLAN: the port key is the VNI.
    const vm3Key = (JSON.parse(String((await store.get(`${PORTS.prefix}${vm3.id}`))?.value)) as { key: number }).key;
    expect(exit.portKey).toBe(vm3Key);
    if (encap === 'geneve') {
      expect(exit.tunMetadata0).toBe(`0x${exit.portKey.toString(16)}`);
      expect(r.hops[1].flow).toContain(`in_port=wyv-geneve,tun_id=${exit.tunId},tun_src=${TUNNEL.hv1},tun_dst=${TUNNEL.hv2},tun_metadata0=${exit.tunMetadata0}`);
    } else {
      expect(exit.tunMetadata0).toBeUndefined();
      expect(exit.tunId).toBe(`0x${exit.portKey.toString(16)}`);
      expect(r.hops[1].flow).toMatch(new RegExp(`in_port=wyv-vxlan,tun_id=${exit.tunId},tun_src=${TUNNEL.hv1},tun_dst=${TUNNEL.hv2}$`));
    }
    expect(r.hops[1].flow).toMatch(/nw_ttl=63/);
    expect(r.hops[1].flow).not.toContain(`dl_dst=${mac(gw)}`);
    expect(r.hops[1].flow).toContain(`dl_dst=${mac(vm3)}`);
    expect(r.story.summary).toMatch(
      /^\[hv1\] port vm1 → network blue → allowed by security group default rule [0-9a-f]{8} \(egress IPv4 any\) → router r1 → network red → tunnel to hv2 \(198\.51\.100\.12\) → \[hv2\] network red → allowed by security group default rule [0-9a-f]{8} \(ingress IPv4 any with security group default\) → port vm3$/,
    );
    expect(r.story.destinations).toEqual(['[hv2] port vm3']);
    expect(r.story.dropped).toBe(false);
    expect(r.story.lines).toContain(`=== chassis hv1 (${TUNNEL.hv1}) ===`);
    expect(r.story.lines).toContain(`=== chassis hv2 (${TUNNEL.hv2}), from hv1 through the tunnel ===`);
    // hv2's own block names the stage the tunnel enters by and vm3 as the output.
    const hv2 = r.story.lines.slice(r.story.lines.indexOf(`=== chassis hv2 (${TUNNEL.hv2}), from hv1 through the tunnel ===`));
    expect(hv2.some((l) => /^\[\d+\] tunnel_in: port vm3 \(/.test(l))).toBe(true);
  });

  it('ends with the drop by the receiving chassis\' security group; the allowed port is delivered', async () => {
    const blocked = await across(routedTo(vm2, 'tcp,tp_src=49152,tp_dst=80'), (x) => reachedHv2(x) && /security group web/.test(x.story.summary));
    expect(blocked.story.dropped).toBe(true);
    expect(blocked.story.destinations).toEqual([]);
    expect(blocked.hops[0].explanation.dropped).toBe(false);
    expect(blocked.story.summary).toMatch(/→ router r1 → network red → tunnel to hv2 \(198\.51\.100\.12\) → \[hv2\] network red → dropped by security group web of port vm2 \(no rule matched\)$/);

    const allowed = await across(routedTo(vm2, 'tcp,tp_src=49152,tp_dst=22'), (x) => reachedHv2(x) && /security group web/.test(x.story.summary));
    expect(allowed.story.dropped).toBe(false);
    expect(allowed.story.summary).toMatch(/→ \[hv2\] network red → allowed by security group web rule [0-9a-f]{8} \(ingress IPv4 tcp 22-22\) → port vm2$/);
  });

  it('stops at the tunnel with a note when the receiving chassis cannot be reached, and with --no-follow', async () => {
    const flow = routedTo(vm3, 'icmp,icmp_type=8,icmp_code=0');
    await across(flow, (x) => reachedHv2(x));
    const r = await traceAcross({ appctlTarget: ctl('hv1'), nb: url, port: 'vm1', ovsdb: ovs.hv1.dbTarget, flow });
    expect(r.hops.map((h) => h.chassis)).toEqual(['hv1']);
    expect(r.unfollowed).toEqual([expect.objectContaining({ hop: 0, exit: 0, chassis: 'hv2', reason: expect.stringContaining('no appctl target for hv2') })]);
    expect(r.story.dropped).toBe(false);
    const one = await traceAcross({ appctlTarget: path.join(dir, '{chassis}', 'ovs-vswitchd.ctl'), nb: url, port: 'vm1', ovsdb: ovs.hv1.dbTarget, flow, follow: false });
    expect(one.hops.map((h) => h.chassis)).toEqual(['hv1']);
  });

  it('runs as `wyvern trace --json` and `--chassis-target`, exiting 1 on a drop on the far side', async () => {
    await across(routedTo(vm2, 'tcp,tp_src=49152,tp_dst=80'), (x) => reachedHv2(x) && /security group web/.test(x.story.summary));
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let jsonCode: number;
    let textCode: number;
    let text: string;
    try {
      jsonCode = await main([
        'trace', '--json', '--appctl-target', ctl('hv1'), '--chassis-target', `hv2=${ctl('hv2')}`, '--nb', url,
        '--port', 'vm1', '--ovsdb', ovs.hv1.dbTarget, routedTo(vm2, 'tcp,tp_src=49152,tp_dst=80'),
      ]);
      const json = out.join('');
      out.length = 0;
      textCode = await main([
        'trace', '--appctl-target', ctl('hv1'), '--chassis-target', `hv2=${ctl('hv2')}`, '--nb', url,
        '--port', 'vm1', '--ovsdb', ovs.hv1.dbTarget, routedTo(vm2, 'tcp,tp_src=49152,tp_dst=22'),
      ]);
      text = out.join('');
      out.length = 0;
      out.push(json);
    } finally {
      spy.mockRestore();
    }
    expect(jsonCode).toBe(1);
    const j = JSON.parse(out[0]) as {
      dropped: boolean;
      path: string;
      hops: { chassis: string; dropped: boolean; end: string; from?: unknown; steps: { stage: string; verdict?: string }[]; exits: { followed: boolean; chassis?: string; hop?: number }[] }[];
    };
    expect(j.dropped).toBe(true);
    expect(j.hops.map((h) => h.chassis)).toEqual(['hv1', 'hv2']);
    expect(j.hops[0].exits).toEqual([expect.objectContaining({ followed: true, chassis: 'hv2', hop: 1 })]);
    expect(j.hops[1].from).toEqual({ hop: 0, exit: 0 });
    expect(j.hops[1].end).toBe('dropped by security group web of port vm2 (no rule matched)');
    expect(j.hops[1].steps[0].stage).toBe('classify');
    expect(textCode).toBe(0);
    expect(text).toContain(`=== chassis hv2 (${TUNNEL.hv2}), from hv1 through the tunnel ===`);
    expect(text).toMatch(/\npath: \[hv1\] port vm1 → .* → \[hv2\] network red → allowed by security group web rule [0-9a-f]{8} \(ingress IPv4 tcp 22-22\) → port vm2\n$/);
  });
});
