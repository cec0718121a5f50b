/**
 * The distributed router on the fake switch. The L3 cloud, seen from hv1 (fixture.ts + ):
 *   blue   (1) 10.1.0.0/24: b1 (hv1, ofport 1), b2 (hv1, 2), b3 (hv2), b4, b5 (hv3)   — r1 at .1
 *   red    (2) 10.1.0.0/24: r1 (hv1, 3), r2 (hv2)                                     — not routed
 *   green  (3) 10.3.0.0/24: g1 (hv2), g2 (hv3): no local port                        — r1 at .1
 *   yellow (5) 10.5.0.0/24: y1 (hv1, 5), y2 (hv2)                                    — r1 at .1
 * Router r1 (key 7): interfaces r1-blue-v4 (key 91), r1-green-v4 (93), r1-yellow-v4 (95).
 */
import { describe, expect, it } from 'vitest';
import {
  ICMP_PUNT_METER_ID,
  InstalledTable,
  PUNT_METERS,
  REACTIVE_PUNT_METER_ID,
  NEIGHBOUR_PUNT_METER_ID,
  TUN_METADATA_LENGTHS,
  canonicalInstructions,
  canonicalMatch,
  decodeCookie,
  decodePunt,
  decodePuntUserdata,
  diff,
  diffTracked,
  dhcpPuntUserdata,
  fullCompile,
  ownerId,
  reactiveDeleteForPort,
  reactiveDeleteForRouter,
  reactiveFlow,
  reactiveFlowMod,
  reactiveInvalidations,
  routeLookup,
  routerInterfaceOn,
  tableId,
  updateDesired,
  type PipelineMessage,
} from '../../../src/pipeline/index.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec.js';
import type { OfMessage } from '../../../src/openflow/types.js';
import { FakeOFTable, type OutputRecord, type PacketFields } from '../../support/fake-oftable.js';
import { GENEVE_OFPORT, R1, VXLAN_OFPORT, World, l3World, mac, network, port, router, subnet } from './fixture.js';
import { arpRequest, ipPacket, newSwitchTable, switchFor } from './harness.js';

/** A packet from local port `from` to `dstIp` through the router (eth_dst = r1's MAC on the source network). */
function routed(w: World, from: string, dstIp: string, extra: PacketFields = {}): PacketFields {
  const src = w.port(from);
  const gw = [...w.ports.values()].find((p) => p.deviceId === 'r1' && p.networkId === src.networkId);
  return ipPacket(w, from, { mac: gw ? gw.macAddress : mac(91), ip: dstIp }, extra);
}

const only = (outs: readonly OutputRecord[]): OutputRecord => {
  expect(outs).toHaveLength(1);
  return outs[0];
};

const l3Tables = (): number[] => [tableId('l2_lookup'), tableId('l3_input'), tableId('l3_route'), tableId('l3_nexthop')];

describe('distributed router: east-west (proactive)', () => {
  const w = l3World();
  const { table } = switchFor(w.snapshot());

  it('routes between subnets on the same chassis: TTL-1, router MAC of the egress subnet, destination MAC', () => {
    const r = table.walk(routed(w, 'b1', '10.5.0.51'));
    expect(r.ambiguous).toEqual([]);
    const o = only(r.outputs);
    expect(o.port).toBe(5);
    expect(o.packet).toMatchObject({ eth_src: mac(95), eth_dst: mac(51), nw_ttl: 63, ipv4_src: '10.1.0.11', ipv4_dst: '10.5.0.51' });
    expect(o.packet.metadata).toBe(5n);
    expect(o.packet.reg15).toBe(51);
    // and back
    const back = only(table.walk(routed(w, 'y1', '10.1.0.12')).outputs);
    expect(back.port).toBe(2);
    expect(back.packet).toMatchObject({ eth_src: mac(91), eth_dst: mac(12), nw_ttl: 63 });
  });

  it('routes to another chassis in one tunnel hop, also to a network with no local port', () => {
    const o = only(table.walk(routed(w, 'b1', '10.3.0.31')).outputs);
    expect(o.port).toBe(GENEVE_OFPORT);
    expect(o.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.2', eth_src: mac(93), eth_dst: mac(31), nw_ttl: 63 });
    expect(o.packet.tunnel_id).toBe(3n);
    expect(o.packet.tun_metadata0).toBe(31n);
    const y = only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs);
    expect(y.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.2', eth_src: mac(95), eth_dst: mac(52) });
    expect(y.packet.tun_metadata0).toBe(52n);
    const g2 = only(table.walk(routed(w, 'y1', '10.3.0.32')).outputs);
    expect(g2.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.3', eth_dst: mac(32) });
  });

  it('the receiving chassis does no routing: tunnel_in straight to the port', () => {
    const sent = only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs);
    const hv2 = w.viewAs('hv2');
    const rx = switchFor(hv2.snapshot()).table;
    const r = rx.walk({ ...sent.packet, in_port: GENEVE_OFPORT, tun_ipv4_src: '192.168.0.1', metadata: 0n, reg13: 0, reg0: 0, reg14: 0, reg15: 0 });
    const o = only(r.outputs);
    expect(o.port).toBe(200 + 52);
    expect(o.packet).toMatchObject({ eth_src: mac(95), eth_dst: mac(52), nw_ttl: 63 });
    const seen = new Set(r.trace.map((t) => t.tableId));
    for (const t of l3Tables()) expect(seen.has(t)).toBe(false);
  });

  it('green has no local port: routed to, but none of its L2 flows are here', () => {
    const d = fullCompile(w.snapshot()).dump();
    expect(d).not.toMatch(/owner=network:3 /);
    expect(table.walk(routed(w, 'b1', '10.3.0.31')).outputs).toHaveLength(1);
  });

  it('a VM on a subnet not attached to the router cannot reach through it', () => {
    // red (10.1.0.0/24, not attached) sends to r1's blue MAC: red does not know it → red flood only
    const r = table.walk(ipPacket(w, 'r1', { mac: mac(91), ip: '10.5.0.51' }));
    expect(r.outputs.some((o) => o.port === 5)).toBe(false);
    expect(r.outputs.every((o) => o.packet.tunnel_id === 2n)).toBe(true);
    expect(r.trace.some((t) => t.tableId === tableId('l3_input'))).toBe(false);
    // and nothing routes into red: r2 (10.1.0.22) is only a blue address to r1 (b-side: no such port)
    const toRed = table.walk(routed(w, 'y1', '10.1.0.22'));
    expect(toRed.outputs.some((o) => o.packet.tunnel_id === 2n || o.port === 3)).toBe(false);
  });

  it('answers ARP for the gateway locally with the interface MAC, only in its network', () => {
    const o = only(table.walk(arpRequest(w, 'b1', '10.1.0.1')).outputs);
    expect(o.port).toBe(1);
    expect(o.packet).toMatchObject({ arp_op: 2, arp_sha: mac(91), arp_spa: '10.1.0.1', eth_src: mac(91), eth_dst: mac(11) });
    expect(table.isOutput(arpRequest(w, 'y1', '10.5.0.1'), 5, { arp_sha: mac(95) })).toBe(true);
    expect(table.isOutput(arpRequest(w, 'r1', '10.1.0.1'), 3, { arp_sha: mac(91) })).toBe(false);
  });

  it('TTL 1 (and 0) → controller ttl_exceeded with the router and ingress network, metered', () => {
    for (const ttl of [0, 1]) {
      const o = only(table.walk(routed(w, 'b1', '10.5.0.51', { nw_ttl: ttl })).outputs);
      expect(o.port).toBe('controller');
      expect(decodePunt(o.userdata!)).toEqual({ kind: 'ttl_exceeded', routerKey: R1, networkKey: 1 });
      expect(o.meters).toEqual([ICMP_PUNT_METER_ID]);
    }
    expect(only(table.walk(routed(w, 'b1', '10.5.0.51', { nw_ttl: 2 })).outputs).packet.nw_ttl).toBe(1);
  });

  it('no route → controller no_route, metered', () => {
    const o = only(table.walk(routed(w, 'y1', '192.0.2.9')).outputs);
    expect(o.port).toBe('controller');
    expect(decodePunt(o.userdata!)).toEqual({ kind: 'no_route', routerKey: R1, networkKey: 5 });
    expect(o.meters).toEqual([ICMP_PUNT_METER_ID]);
  });

  it('echo request to any router address → controller icmp_echo (even with TTL 1); other traffic to it dropped', () => {
    const echo = { ip_proto: 1, icmpv4_type: 8, icmpv4_code: 0, udp_src: undefined, udp_dst: undefined };
    for (const [ip, net] of [
      ['10.1.0.1', 1],
      ['10.5.0.1', 5],
      ['10.3.0.1', 3],
    ] as const) {
      const o = only(table.walk(routed(w, 'b1', ip, echo)).outputs);
      expect(o.port).toBe('controller');
      expect(decodePunt(o.userdata!)).toEqual({ kind: 'icmp_echo', routerKey: R1, networkKey: net });
      expect(o.meters).toEqual([ICMP_PUNT_METER_ID]);
    }
    expect(decodePunt(only(table.walk(routed(w, 'b1', '10.5.0.1', { ...echo, nw_ttl: 1 })).outputs).userdata!)?.kind).toBe('icmp_echo');
    expect(table.walk(routed(w, 'b1', '10.5.0.1')).outputs).toEqual([]);
    // non-IPv4 to the router MAC: dropped
    expect(table.walk({ ...routed(w, 'b1', '10.5.0.1'), eth_type: 0x86dd, ipv4_src: undefined, ipv4_dst: undefined, ipv6_src: 'fe80::f816:3eff:fe00:b', ipv6_dst: 'fe80::1' }).outputs).toEqual([]);
  });

  it('switched traffic is unchanged by the router (same-subnet, DHCP punt, flood)', () => {
    expect(only(table.walk(ipPacket(w, 'b1', w.port('b2'))).outputs).packet.nw_ttl).toBe(64);
    expect(decodePuntUserdata(dhcpPuntUserdata(11))).toBe(11);
    expect(decodePunt(dhcpPuntUserdata(11))).toEqual({ kind: 'dhcp', portKey: 11 });
  });

  it('helpers for the controller: interface on a network, route lookup', () => {
    const topo = w.snapshot();
    expect(routerInterfaceOn(topo, R1, 5)).toEqual({
      routerKey: R1,
      portId: 'r1-yellow-v4',
      portKey: 95,
      networkKey: 5,
      ip: '10.5.0.1',
      cidr: '10.5.0.0/24',
      mac: mac(95),
    });
    expect(routerInterfaceOn(topo, R1, 2)).toBeUndefined();
    expect(routerInterfaceOn(topo, 99, 1)).toBeUndefined();
    expect(routeLookup(topo, R1, '10.3.0.77')).toMatchObject({ nexthop: '10.3.0.77', egress: { networkKey: 3 } });
    expect(routeLookup(topo, R1, '8.8.8.8')).toBeUndefined();
    expect(PUNT_METERS.map((m) => m.meterId).sort()).toEqual([ICMP_PUNT_METER_ID, REACTIVE_PUNT_METER_ID, NEIGHBOUR_PUNT_METER_ID].sort());
    for (const m of PUNT_METERS) expect(m).toMatchObject({ command: 'add', flags: { pktps: true }, bands: [{ type: 'drop' }] });
  });
});

describe('distributed router over VXLAN', () => {
  it('routed packets carry the destination port key as the VNI', () => {
    const w = World.standard('vxlan');
    w.addRouter(router('r1', R1));
    w.attach('r1', 'blue-v4', '10.1.0.1', 91);
    w.attach('r1', 'green-v4', '10.3.0.1', 93);
    const { table } = switchFor(w.snapshot());
    const o = only(table.walk(routed(w, 'b1', '10.3.0.32')).outputs);
    expect(o.port).toBe(VXLAN_OFPORT);
    expect(o.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.3', eth_src: mac(93), eth_dst: mac(32), nw_ttl: 63 });
    expect(o.packet.tunnel_id).toBe(32n);
  });
});

describe('extra routes', () => {
  it('via a VM next hop, longest prefix first', () => {
    const w = l3World();
    w.updateRouter('r1', {
      routes: [
        { destination: '172.16.0.0/16', nexthop: '10.5.0.52' },
        { destination: '172.16.3.0/24', nexthop: '10.3.0.32' },
        { destination: '192.168.77.0/24', nexthop: '10.9.9.9' }, // nexthop not on an attached subnet: ignored
      ],
    });
    const { table } = switchFor(w.snapshot());
    const a = only(table.walk(routed(w, 'b1', '172.16.9.9')).outputs);
    expect(a.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.2', eth_src: mac(95), eth_dst: mac(52), ipv4_dst: '172.16.9.9', nw_ttl: 63 });
    expect(a.packet.tun_metadata0).toBe(52n);
    const b = only(table.walk(routed(w, 'b1', '172.16.3.4')).outputs);
    expect(b.packet).toMatchObject({ tun_ipv4_dst: '192.168.0.3', eth_src: mac(93), eth_dst: mac(32) });
    expect(decodePunt(only(table.walk(routed(w, 'b1', '192.168.77.1')).outputs).userdata!)?.kind).toBe('no_route');
    // a VM next hop on this chassis
    w.updateRouter('r1', { routes: [{ destination: '0.0.0.0/0', nexthop: '10.5.0.51' }] });
    const t2 = switchFor(w.snapshot()).table;
    const c = only(t2.walk(routed(w, 'b1', '203.0.113.5')).outputs);
    expect(c.port).toBe(5);
    expect(c.packet).toMatchObject({ eth_dst: mac(51), ipv4_dst: '203.0.113.5' });
    // connected subnets still win over the default route
    expect(only(t2.walk(routed(w, 'b1', '10.3.0.31')).outputs).packet.eth_dst).toBe(mac(31));
  });
});

describe('router state and changes', () => {
  it('admin down: no forwarding, no ARP answers, no router flows', () => {
    const w = l3World();
    w.updateRouter('r1', { adminStateUp: false });
    const { table, desired } = switchFor(w.snapshot());
    expect(table.walk(routed(w, 'b1', '10.5.0.51')).outputs.some((o) => o.port === 5)).toBe(false);
    expect(table.isOutput(arpRequest(w, 'b1', '10.1.0.1'), 1, { arp_sha: mac(91) })).toBe(false);
    expect(desired.dump()).not.toMatch(/owner=router:7 /);
    expect(desired.dump()).not.toMatch(/^l3_\w+ prio=(?!00000)/m);
  });

  it('removing an interface removes its routes; only that router and the ports it routed to change', () => {
    const w = l3World();
    w.addNetwork(network('violet', 6));
    w.addSubnet(subnet('violet-v4', 'violet', '10.6.0.0/24', true));
    w.addPort(port('v1', 61, 'violet', 'violet-v4', '10.6.0.61', 'hv1'), 6);
    w.addRouter(router('r2', 8));
    w.attach('r2', 'red-v4', '10.1.0.254', 92);
    w.attach('r2', 'violet-v4', '10.6.0.254', 96);
    const before = w.snapshot();
    const desired = fullCompile(before);
    const installed = new InstalledTable();
    const table = newSwitchTable();
    const send = (m: PipelineMessage[]): void => {
      table.apply(m);
      installed.apply(m);
    };
    send(diff(desired, installed));
    desired.takeDirty();
    expect(table.isOutput(routed(w, 'b1', '10.5.0.51'), 5)).toBe(true);

    w.detach('r1', 'yellow-v4');
    const after = w.snapshot();
    const recompiled = updateDesired(desired, before, after).map(ownerId);
    // incremental: the router and yellow's ports, not the ports of its other networks
    expect(recompiled).toContain('router:7');
    expect(recompiled).toContain('port:51');
    expect(recompiled).not.toContain('port:11');
    expect(recompiled).not.toContain('router:8');
    const msgs = diffTracked(desired, installed);
    send(msgs);
    expect(msgs.length).toBeGreaterThan(0);
    const owners = new Set(msgs.map((m) => (m.type === 'flow_mod' ? ownerId(decodeCookie(m.cookie)!) : `group:${m.groupId}`)));
    // r1's own flows and the per-destination flows of yellow's ports; never r2 or other ports
    for (const o of owners) expect(['router:7', 'port:51', 'port:52']).toContain(o);
    expect(table.walk(routed(w, 'b1', '10.5.0.51')).outputs.some((o) => o.port === 5)).toBe(false);
    expect(decodePunt(only(table.walk(routed(w, 'b1', '10.5.0.51')).outputs).userdata!)?.kind).toBe('no_route');
    // y1 can no longer use r1 (its gateway MAC is unknown in yellow: switched, flooded, not routed)
    expect(table.walk(ipPacket(w, 'y1', { mac: mac(95), ip: '10.1.0.11' })).outputs.some((o) => o.port === 1)).toBe(false);
    // r2 unaffected; and incremental == from scratch
    expect(table.isOutput(ipPacket(w, 'r1', { mac: mac(92), ip: '10.6.0.61' }), 6, { eth_src: mac(96), eth_dst: mac(61) })).toBe(true);
    expect(desired.dump()).toBe(fullCompile(after).dump());
    // add it back: restored exactly
    w.attach('r1', 'yellow-v4', '10.5.0.1', 95);
    updateDesired(desired, after, w.snapshot());
    send(diffTracked(desired, installed));
    expect(table.isOutput(routed(w, 'b1', '10.5.0.51'), 5)).toBe(true);
    expect(table.dump()).toBe(switchFor(w.snapshot()).table.dump());
  });

  it('a VM port change recompiles that port only, never the router', () => {
    const w = l3World();
    const t0 = w.snapshot();
    w.updatePort('y2', { chassis: 'hv3' });
    const t1 = w.snapshot();
    const d = fullCompile(t0);
    const owners = updateDesired(d, t0, t1).map(ownerId);
    expect(owners.filter((o) => o.startsWith('router:'))).toEqual([]);
    expect(owners).toContain('port:52');
    expect(d.dump()).toBe(fullCompile(t1).dump());
    expect(only(switchFor(t1).table.walk(routed(w, 'b1', '10.5.0.52')).outputs).packet.tun_ipv4_dst).toBe('192.168.0.3');
  });

  it('no router flows on a chassis without a local port on any attached network', () => {
    const w = l3World();
    w.detach('r1', 'blue-v4');
    w.detach('r1', 'yellow-v4');
    const d = fullCompile(w.snapshot()).dump();
    expect(d).not.toMatch(/owner=router:7 /);
    expect(d).not.toMatch(/^l3_\w+ prio=(?!00000)/m);
    w.attach('r1', 'yellow-v4', '10.5.0.1', 95);
    expect(fullCompile(w.snapshot()).dump()).toMatch(/owner=router:7 /);
  });

  it('several routers with overlapping subnets stay apart', () => {
    const w = l3World();
    w.addNetwork(network('violet', 6));
    w.addSubnet(subnet('violet-v4', 'violet', '10.6.0.0/24', true));
    w.addPort(port('v1', 61, 'violet', 'violet-v4', '10.6.0.61', 'hv1'), 6);
    w.addRouter(router('r2', 8));
    w.attach('r2', 'red-v4', '10.1.0.254', 92);
    w.attach('r2', 'violet-v4', '10.6.0.254', 96);
    const { table } = switchFor(w.snapshot());
    // red r1 (10.1.0.11) → violet through r2
    const o = only(table.walk(ipPacket(w, 'r1', { mac: mac(92), ip: '10.6.0.61' })).outputs);
    expect(o.port).toBe(6);
    expect(o.packet).toMatchObject({ eth_src: mac(96), eth_dst: mac(61), nw_ttl: 63 });
    // violet → 10.1.0.11 reaches red's r1 (port 3), never blue's b1 (port 1)
    const back = only(table.walk(ipPacket(w, 'v1', { mac: mac(96), ip: '10.1.0.11' })).outputs);
    expect(back.port).toBe(3);
    expect(back.packet.eth_dst).toBe(mac(21));
    // and through r1, 10.1.0.11 is blue's b1
    expect(only(table.walk(routed(w, 'y1', '10.1.0.11')).outputs).port).toBe(1);
    // blue cannot reach violet (r1 has no route to it)
    expect(decodePunt(only(table.walk(routed(w, 'b1', '10.6.0.61')).outputs).userdata!)?.kind).toBe('no_route');
  });

  it('a router with many subnets', () => {
    const w = l3World();
    const N = 60;
    for (let i = 0; i < N; i++) {
      const id = `many${i}`;
      w.addNetwork(network(id, 100 + i));
      w.addSubnet(subnet(`${id}-v4`, id, `10.100.${i}.0/24`, true));
      w.addPort(port(`${id}-vm`, 1000 + i, id, `${id}-v4`, `10.100.${i}.10`, i % 2 ? 'hv2' : 'hv3'));
      w.attach('r1', `${id}-v4`, `10.100.${i}.1`, 2000 + i);
    }
    const { table } = switchFor(w.snapshot());
    for (let i = 0; i < N; i++) {
      const o = only(table.walk(routed(w, 'b1', `10.100.${i}.10`)).outputs);
      expect(o.packet).toMatchObject({ tun_ipv4_dst: i % 2 ? '192.168.0.2' : '192.168.0.3', eth_src: mac(2000 + i), eth_dst: mac(1000 + i) });
      expect(o.packet.tunnel_id).toBe(BigInt(100 + i));
    }
  });
});

describe('reactive mode', () => {
  const build = (): { w: World; proactive: FakeOFTable } => {
    const w = l3World();
    w.updateRouter('r1', { routes: [{ destination: '172.16.0.0/16', nexthop: '10.5.0.52' }] });
    const proactive = switchFor(w.snapshot()).table;
    w.l3Mode = 'reactive';
    return { w, proactive };
  };

  it('l3_nexthop miss → controller reactive_miss, metered; the rest of the router is as proactive', () => {
    const { w } = build();
    const { table } = switchFor(w.snapshot());
    const o = only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs);
    expect(o.port).toBe('controller');
    expect(decodePunt(o.userdata!)).toEqual({ kind: 'reactive_miss', routerKey: R1 });
    expect(o.meters).toEqual([REACTIVE_PUNT_METER_ID]);
    expect(o.packet.reg0).toBe(0x0a050034); // the next hop, as the packet-in's match carries it
    expect(decodePunt(only(table.walk(routed(w, 'b1', '10.5.0.51', { nw_ttl: 1 })).outputs).userdata!)?.kind).toBe('ttl_exceeded');
    expect(table.isOutput(arpRequest(w, 'b1', '10.1.0.1'), 1, { arp_sha: mac(91) })).toBe(true);
  });

  it('installing reactiveFlow makes the packet take exactly the proactive path; diff leaves it alone', () => {
    const { w, proactive } = build();
    const { table, desired, installed } = switchFor(w.snapshot());
    const topo = w.snapshot();
    for (const [from, dst] of [
      ['b1', '10.5.0.52'],
      ['b1', '10.5.0.51'],
      ['y1', '10.3.0.32'],
      ['b2', '172.16.1.2'],
    ] as const) {
      const pkt = routed(w, from, dst);
      const flow = reactiveFlow(topo, R1, dst);
      expect(flow).toBeDefined();
      expect(decodeCookie(flow!.cookie)?.kind).toBe('reactive');
      const mod = reactiveFlowMod(flow!);
      expect(mod.idleTimeout).toBeGreaterThan(0);
      table.apply([mod]);
      installed.apply([mod]);
      expect(table.walk(pkt).outputs).toEqual(proactive.walk(pkt).outputs);
      // the same key and instructions as the proactive flow
      const pro = [...fullCompile({ ...topo, l3Mode: 'proactive' }).flows()].map(([, f]) => f);
      const twin = pro.find((f) => f.tableId === flow!.tableId && canonicalMatch(f.match) === canonicalMatch(flow!.match));
      expect(twin && canonicalInstructions(twin.instructions)).toBe(canonicalInstructions(flow!.instructions));
    }
    expect(diff(desired, installed)).toEqual([]);
    // read back from the switch (after a reconnect) the reactive flows are there, and left alone
    const dumped = InstalledTable.fromSwitch(
      table.flowsIn(tableId('l3_nexthop')).map((f) => ({
        ...f,
        tableId: tableId('l3_nexthop'),
        durationSec: 0,
        durationNsec: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        flags: {},
        packetCount: 0n,
        byteCount: 0n,
      })),
      [],
    );
    expect(diff(desired, dumped).filter((m) => m.type === 'flow_mod' && m.command !== 'add')).toEqual([]);
    expect(() => installed.apply([reactiveDeleteForPort(52), reactiveDeleteForRouter(R1)])).not.toThrow();
    // invalidation: by destination port
    const before = table.walk(routed(w, 'b1', '10.5.0.52')).outputs[0].port;
    expect(before).toBe(GENEVE_OFPORT);
    table.apply([reactiveDeleteForPort(52)]);
    expect(only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs).port).toBe('controller');
    expect(only(table.walk(routed(w, 'b1', '10.5.0.51')).outputs).port).toBe(5);
    table.apply([reactiveDeleteForRouter(R1)]);
    expect(only(table.walk(routed(w, 'b1', '10.5.0.51')).outputs).port).toBe('controller');
    expect(table.dump()).toBe(switchFor(w.snapshot()).table.dump());
  });

  it('reactiveFlow is undefined for no route, unknown hosts, admin-down routers and ports', () => {
    const { w } = build();
    expect(reactiveFlow(w.snapshot(), R1, '8.8.8.8')).toBeUndefined();
    expect(reactiveFlow(w.snapshot(), R1, '10.5.0.99')).toBeUndefined();
    expect(reactiveFlow(w.snapshot(), 99, '10.5.0.51')).toBeUndefined();
    w.updatePort('y1', { adminStateUp: false });
    expect(reactiveFlow(w.snapshot(), R1, '10.5.0.51')).toBeUndefined();
    w.updateRouter('r1', { adminStateUp: false });
    expect(reactiveFlow(w.snapshot(), R1, '10.5.0.52')).toBeUndefined();
  });

  it('switching modes: proactive flows replace reactive ones (add over the same key)', () => {
    const { w, proactive } = build();
    const reactiveTopo = w.snapshot();
    const desired = fullCompile(reactiveTopo);
    const installed = new InstalledTable();
    const table = newSwitchTable();
    const send = (m: PipelineMessage[]): void => {
      table.apply(m);
      installed.apply(m);
    };
    send(diff(desired, installed));
    send([reactiveFlowMod(reactiveFlow(reactiveTopo, R1, '10.5.0.52')!)]);
    w.l3Mode = 'proactive';
    updateDesired(desired, reactiveTopo, w.snapshot());
    send(diff(desired, installed));
    expect(table.dump()).toBe(proactive.dump());
  });
});

describe('reactive invalidation', () => {
  it('deletes the flows toward a port that moved, and nothing for unrelated changes', () => {
    const w = l3World();
    w.l3Mode = 'reactive';
    const t0 = w.snapshot();
    const { table } = switchFor(t0);
    const install = (ip: string): void => table.apply([reactiveFlowMod(reactiveFlow(t0, R1, ip)!)]);
    install('10.5.0.52');
    install('10.3.0.31');
    // a new port appears: nothing to invalidate; a port changes: only its own flows
    w.addPort(port('b9', 19, 'blue', 'blue-v4', '10.1.0.19', 'hv3'));
    const t1 = w.snapshot();
    expect(reactiveInvalidations(t0, t1)).toEqual([]);
    w.updatePort('b4', { adminStateUp: false });
    expect(reactiveInvalidations(t1, w.snapshot())).toEqual([reactiveDeleteForPort(14)]);
    w.updatePort('b4', { adminStateUp: true });
    // y2 moves to hv3
    const t1b = w.snapshot();
    w.updatePort('y2', { chassis: 'hv3' });
    const t2 = w.snapshot();
    const msgs = reactiveInvalidations(t1b, t2);
    expect(msgs).toEqual([reactiveDeleteForPort(52)]);
    table.apply(msgs);
    expect(only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs).port).toBe('controller');
    expect(only(table.walk(routed(w, 'b1', '10.3.0.31')).outputs).port).toBe(GENEVE_OFPORT);
    // and the new flow goes to hv3
    table.apply([reactiveFlowMod(reactiveFlow(t2, R1, '10.5.0.52')!)]);
    expect(only(table.walk(routed(w, 'b1', '10.5.0.52')).outputs).packet.tun_ipv4_dst).toBe('192.168.0.3');
    // the router changes: its flows go; back to proactive: everything goes
    w.updateRouter('r1', { routes: [] });
    expect(reactiveInvalidations(t2, w.snapshot())).toEqual([reactiveDeleteForRouter(R1)]);
    w.l3Mode = 'proactive';
    expect(reactiveInvalidations(t2, w.snapshot())).toHaveLength(1);
    expect(reactiveInvalidations(w.snapshot(), t2)).toEqual([]);
  });
});

describe('L3 messages through the codec', () => {
  it('encode and decode back to the same canonical form (router, punts with meters, reactive)', () => {
    const w = l3World();
    w.updateRouter('r1', { routes: [{ destination: '0.0.0.0/0', nexthop: '10.5.0.52' }, { destination: '172.16.0.0/16', nexthop: '10.3.0.31' }] });
    const msgs: PipelineMessage[] = diff(fullCompile(w.snapshot()), new InstalledTable());
    w.l3Mode = 'reactive';
    msgs.push(...diff(fullCompile(w.snapshot()), new InstalledTable()));
    msgs.push(reactiveFlowMod(reactiveFlow(w.snapshot(), R1, '10.5.0.52')!), reactiveDeleteForPort(52), reactiveDeleteForRouter(R1));
    for (const m of msgs) {
      const r = decodeMessage(encodeMessage({ ...m, xid: 1 } as OfMessage, { tunMetadataLengths: TUN_METADATA_LENGTHS }));
      if (!r.ok) throw new Error(`decode failed: ${JSON.stringify(r)}`);
      const d = r.msg;
      if (d.type === 'flow_mod' && m.type === 'flow_mod') {
        expect(canonicalMatch(d.match)).toBe(canonicalMatch(m.match));
        expect(canonicalInstructions(d.instructions)).toBe(canonicalInstructions(m.instructions));
        expect([d.cookie, d.cookieMask, d.idleTimeout, d.command]).toEqual([m.cookie, m.cookieMask, m.idleTimeout, m.command]);
      }
    }
    for (const meter of PUNT_METERS) {
      const r = decodeMessage(encodeMessage({ type: 'meter_mod', xid: 2, ...meter }));
      expect(r.ok && r.msg).toMatchObject({ type: 'meter_mod', ...meter });
    }
  });
});
