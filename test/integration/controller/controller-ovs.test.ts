/**
 * The local controller against real ovsdb-server + ovs-vswitchd (dummy datapath): two chassis,
 * one network, ports bound and compiled; forwarding checked with ofproto/trace on the real
 * switch; a controller restart changes nothing on the switch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalController } from '../../../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';
import { NeutronApi } from '../../../src/server/app.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { NeutronClient, waitFor } from '../../support/neutron-client.js';

const TUNNEL = { hv1: '198.51.100.11', hv2: '198.51.100.12' } as const;

describe('local controller on real Open vSwitch', () => {
  let dir: string;
  const ovs: Record<string, OvsInstance> = {};
  const controllers: Record<string, LocalController> = {};
  let store: MemoryStore;
  let server: Server;
  let api: NeutronClient;
  let admin: NeutronClient;
  let net: { id: string };
  let p1: Record<string, unknown> & { id: string };
  let p2: Record<string, unknown> & { id: string };

  function startController(name: 'hv1' | 'hv2'): Promise<void> {
    const c = new LocalController({
      chassis: name,
      nb: 'memory:',
      store,
      ovsdb: ovs[name].dbTarget,
      tunnelIp: TUNNEL[name],
      datapathType: 'dummy',
    });
    controllers[name] = c;
    return c.start();
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-ctl-'));
    store = new MemoryStore();
    const napi = new NeutronApi(store, { onError: () => {} });
    ({ server } = await napi.listen('127.0.0.1', 0).then(({ server, url }) => {
      api = new NeutronClient(url);
      admin = new NeutronClient(url, 'demo', ['admin']);
      return { server };
    }));
    for (const name of ['hv1', 'hv2'] as const) ovs[name] = await startOvs({ dir: path.join(dir, name), dummy: true });
    await Promise.all([startController('hv1'), startController('hv2')]);
    net = await api.create('network', { name: 'blue' });
    await api.create('subnet', { network_id: net.id, cidr: '10.1.0.0/24', ip_version: 4 });
    p1 = await api.create('port', { network_id: net.id, name: 'vm1' });
    p2 = await api.create('port', { network_id: net.id, name: 'vm2' });
    await ovs.hv1.vsctl('add-port', 'br-int', 'vm1', '--', 'set', 'Interface', 'vm1', `external_ids:iface-id=${p1.id}`);
    await ovs.hv2.vsctl('add-port', 'br-int', 'vm2', '--', 'set', 'Interface', 'vm2', `external_ids:iface-id=${p2.id}`);
  });

  afterAll(async () => {
    for (const c of Object.values(controllers)) await c.stop();
    for (const o of Object.values(ovs)) await o.stop();
    server?.closeAllConnections();
    server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ip = (p: Record<string, unknown>) => (p.fixed_ips as { ip_address: string }[])[0].ip_address;
  const mac = (p: Record<string, unknown>) => p.mac_address as string;

  it('binds plugged ports: ACTIVE on their chassis', async () => {
    for (const [p, host] of [[p1, 'hv1'], [p2, 'hv2']] as const) {
      const bound = await waitFor(async () => {
        const cur = await admin.show('port', p.id);
        return cur.status === 'ACTIVE' ? cur : undefined;
      }, 15_000, `port ${host} ACTIVE`);
      expect(bound['binding:host_id']).toBe(host);
    }
  });

  it('sends unicast to a remote port through the tunnel with the network key', async () => {
    const out = await waitFor(async () => {
      const t = await ovs.hv1.appctl(
        'ofproto/trace', 'br-int',
        `in_port=vm1,dl_src=${mac(p1)},dl_dst=${mac(p2)},ip,nw_src=${ip(p1)},nw_dst=${ip(p2)},nw_proto=1`,
      );
      return /set_field:198\.51\.100\.12->tun_dst/.test(t) ? t : undefined;
    }, 15_000, 'remote port reachable through the tunnel');
    const tunnelOfport = (await ovs.hv1.vsctl('get', 'Interface', 'wyv-geneve', 'ofport')).trim();
    expect(out).toMatch(new RegExp(`\\boutput:${tunnelOfport}\\b`));
    expect(out).not.toMatch(/Datapath actions: drop/);
  });

  it('delivers a packet from the tunnel straight to the local port', async () => {
    const tunnelOfport = (await ovs.hv2.vsctl('get', 'Interface', 'wyv-geneve', 'ofport')).trim();
    const vm2Ofport = (await ovs.hv2.vsctl('get', 'Interface', 'vm2', 'ofport')).trim();
    // The tunnel_in flow for vm2: network key in the VNI, vm2's port key in the Geneve option.
    const [, netKey, portKey] = await waitFor(async () => {
      const flows = await ovs.hv2.ofctl('dump-flows', 'br-int');
      return /tun_id=(0x[0-9a-f]+),tun_metadata0=(0x[1-9a-f][0-9a-f]*)/.exec(flows) ?? undefined;
    }, 15_000, 'tunnel classification flows');
    const t = await ovs.hv2.appctl(
      'ofproto/trace', 'br-int',
      `in_port=${tunnelOfport},tun_id=${netKey},tun_metadata0=${portKey},tun_src=198.51.100.11,tun_dst=198.51.100.12,dl_src=${mac(p1)},dl_dst=${mac(p2)},ip,nw_src=${ip(p1)},nw_dst=${ip(p2)}`,
    );
    // One lookup: the port key names the destination; no L2 lookup, no tunnel back out.
    expect(t).toMatch(new RegExp(`\\boutput:${vm2Ofport}\\b`));
    expect(t).not.toMatch(/->tun_dst|group:/);
    expect(t).not.toMatch(/Datapath actions: drop/);
  });

  it('answers ARP for a known address on the local chassis', async () => {
    const t = await ovs.hv1.appctl(
      'ofproto/trace', 'br-int',
      `in_port=vm1,dl_src=${mac(p1)},dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_spa=${ip(p1)},arp_tpa=${ip(p2)},arp_sha=${mac(p1)}`,
    );
    // The packet leaves as vm2's reply to vm1, back out of the port it came in on (the IN_PORT
    // action, not the `in_port=` every trace prints), and goes nowhere else.
    const final = /^Final flow: (.*)$/m.exec(t)?.[1] ?? '';
    for (const field of [`dl_src=${mac(p2)}`, `dl_dst=${mac(p1)}`, 'arp_op=2', `arp_spa=${ip(p2)}`, `arp_tpa=${ip(p1)}`, `arp_sha=${mac(p2)}`, `arp_tha=${mac(p1)}`]) {
      expect(final, t).toContain(field);
    }
    expect(t).toMatch(/^\s+IN_PORT$/m);
    expect(t).not.toMatch(/->tun_dst|group:|\boutput:/);
    expect(t).not.toMatch(/Datapath actions: drop/);
  });

  it('drops a spoofed source MAC', async () => {
    const t = await ovs.hv1.appctl(
      'ofproto/trace', 'br-int',
      `in_port=vm1,dl_src=fa:16:3e:66:66:66,dl_dst=${mac(p2)},ip,nw_src=${ip(p1)},nw_dst=${ip(p2)}`,
    );
    expect(t).toMatch(/Datapath actions: drop/);
  });

  it('restarts without touching the installed flows', async () => {
    const before = await ovs.hv1.ofctl('dump-flows', 'br-int', '--no-stats');
    await controllers.hv1.stop();
    await startController('hv1');
    const s = controllers.hv1.stats();
    expect(controllers.hv1.lastSent).toEqual([]);
    expect(s.flowModsSent).toBe(0);
    expect(s.groupModsSent).toBe(0);
    const after = await ovs.hv1.ofctl('dump-flows', 'br-int', '--no-stats');
    expect(after).toBe(before);
  });

  it('removes a deleted port from every chassis', async () => {
    // vm2's flows, by the cookie naming it (read from its classify flow on hv2), its MAC and its
    // address. Both chassis have some first: hv2 binds it, hv1 tunnels to it.
    const vm2Ofport = (await ovs.hv2.vsctl('get', 'Interface', 'vm2', 'ofport')).trim();
    const cookie = new RegExp(`cookie=(0x[0-9a-f]+), priority=\\d+,in_port=${vm2Ofport} `).exec(await ovs.hv2.ofctl('dump-flows', 'br-int', '--no-stats'))?.[1];
    expect(cookie, "vm2's classify flow on hv2").toBeDefined();
    const ipRe = new RegExp(`\\b${ip(p2).replace(/\./g, '\\.')}\\b`);
    const flowsOf = async (name: 'hv1' | 'hv2'): Promise<string[]> =>
      (await ovs[name].ofctl('dump-flows', 'br-int', '--no-stats'))
        .split('\n')
        .filter((l) => l.includes(`cookie=${cookie},`) || l.includes(mac(p2)) || ipRe.test(l));
    for (const name of ['hv1', 'hv2'] as const) expect((await flowsOf(name)).length, `vm2's flows on ${name} before`).toBeGreaterThan(0);
    await api.remove('port', p2.id);
    for (const name of ['hv1', 'hv2'] as const) {
      await waitFor(async () => ((await flowsOf(name)).length === 0 ? true : undefined), 15_000, `flows of the deleted port gone on ${name}`);
    }
  });
});
