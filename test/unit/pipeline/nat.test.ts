/**
 * North-south through the fake switch (with its conntrack and NAT): SNAT on the gateway chassis,
 * the redirect of other chassis to it, floating IPs on their VM's chassis (both directions, the
 * VM to its own floating IP), ARP on the external network, neighbours, provider networks.
 */
import { describe, expect, it } from 'vitest';
import { GENEVE_PORT_FIELD, decodePunt, LOCALNET_PORT_KEY } from '../../../src/pipeline/index.js';
import { EXT, GENEVE_OFPORT, GW_PORT_KEY, HV1_MAC, PATCH_OFPORT, UPSTREAM_MAC, mac, natWorld, network, port, subnet, World } from './fixture.js';
import { ipPacket, ofportOf, switchFor } from './harness.js';
import { TCP_FLAGS } from '../../support/fake-conntrack.js';
import type { PacketFields } from '../../support/fake-oftable.js';

const OUTSIDE = '192.0.2.10';
const FIP = '203.0.113.50';
const GW_IP = '203.0.113.5';
const R1_BLUE_MAC = mac(91);
const GW_MAC = mac(GW_PORT_KEY);

/** A TCP packet from the outside (the upstream router's MAC) to `dst` with `dstMac`. */
function fromOutside(dst: string, dstMac: string, extra: PacketFields = {}): PacketFields {
  return {
    in_port: PATCH_OFPORT,
    eth_src: UPSTREAM_MAC,
    eth_dst: dstMac,
    eth_type: 0x0800,
    ipv4_src: OUTSIDE,
    ipv4_dst: dst,
    ip_proto: 6,
    nw_ttl: 60,
    tcp_src: 80,
    tcp_dst: 40000,
    ...extra,
  };
}

function vmToOutside(w: World, from: string, extra: PacketFields = {}): PacketFields {
  return ipPacket(w, from, { mac: R1_BLUE_MAC, ip: OUTSIDE }, { ip_proto: 6, tcp_src: 40000, tcp_dst: 80, udp_src: undefined, udp_dst: undefined, ...extra });
}

describe('floating IP on its VM chassis (hv1)', () => {
  it('translates a VM connection to the floating IP, out through the physical network; the reply comes back to the VM', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    const out = table.walk(vmToOutside(w, 'b1', { tcp_flags: TCP_FLAGS.syn })).outputs;
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ port: PATCH_OFPORT, packet: { ipv4_src: FIP, ipv4_dst: OUTSIDE, eth_src: HV1_MAC, eth_dst: UPSTREAM_MAC, nw_ttl: 63 } });
    // The reply (to the floating IP, at the chassis MAC) reaches b1 with its fixed address.
    const reply = fromOutside(FIP, HV1_MAC, { tcp_flags: TCP_FLAGS.syn | TCP_FLAGS.ack });
    expect(table.isOutput(reply, ofportOf(w, 'b1'), { ipv4_dst: '10.1.0.11', ipv4_src: OUTSIDE })).toBe(true);
  });

  it('translates an ICMP error about a translated connection back to the VM (inner packet included)', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    table.walk(vmToOutside(w, 'b1', { tcp_flags: TCP_FLAGS.syn }));
    const error = (inner: string): PacketFields =>
      fromOutside(FIP, HV1_MAC, {
        ipv4_src: '203.0.113.1', ip_proto: 1, icmpv4_type: 11, icmpv4_code: 0, tcp_src: undefined, tcp_dst: undefined,
        icmp_inner: { ipv4_src: inner, ipv4_dst: OUTSIDE, ip_proto: 6, tcp_src: 40000, tcp_dst: 80 },
      });
    const out = table.walk(error(FIP)).outputs;
    expect(out).toEqual([
      expect.objectContaining({ port: ofportOf(w, 'b1'), packet: expect.objectContaining({ ipv4_dst: '10.1.0.11', icmp_inner: expect.objectContaining({ ipv4_src: '10.1.0.11' }) }) }),
    ]);
    // Control: an error about a connection that never was reaches nobody.
    expect(table.walk({ ...error(FIP), icmp_inner: { ipv4_src: FIP, ipv4_dst: OUTSIDE, ip_proto: 6, tcp_src: 40999, tcp_dst: 80 } }).outputs.filter((o) => o.port === ofportOf(w, 'b1'))).toEqual([]);
  });

  it('lets the outside open a connection to the floating IP (DNAT), and the VM answers from it', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    const syn = fromOutside(FIP, HV1_MAC, { tcp_src: 50000, tcp_dst: 22, tcp_flags: TCP_FLAGS.syn });
    expect(table.isOutput(syn, ofportOf(w, 'b1'), { ipv4_dst: '10.1.0.11', tcp_dst: 22 })).toBe(true);
    const answer = vmToOutside(w, 'b1', { tcp_src: 22, tcp_dst: 50000, tcp_flags: TCP_FLAGS.syn | TCP_FLAGS.ack });
    expect(table.isOutput(answer, PATCH_OFPORT, { ipv4_src: FIP, tcp_src: 22 })).toBe(true);
  });

  it('answers ARP for the floating IP with the chassis MAC; not for an address it does not serve', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    const arp = (tpa: string): PacketFields => ({
      in_port: PATCH_OFPORT, eth_src: UPSTREAM_MAC, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806,
      arp_op: 1, arp_sha: UPSTREAM_MAC, arp_spa: '203.0.113.1', arp_tha: '00:00:00:00:00:00', arp_tpa: tpa,
    });
    const out = table.walk(arp(FIP)).outputs;
    expect(out).toEqual([expect.objectContaining({ port: PATCH_OFPORT, packet: expect.objectContaining({ arp_op: 2, arp_sha: HV1_MAC, arp_spa: FIP }) })]);
    // The gateway address lives on hv2, another floating IP nowhere here: silence.
    expect(table.walk(arp(GW_IP)).outputs).toEqual([]);
    expect(table.walk(arp('203.0.113.51')).outputs).toEqual([]);
  });

  it('does not translate traffic of a VM without a floating IP: it goes, untouched, to the gateway chassis', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    const out = table.walk(vmToOutside(w, 'b2', { tcp_flags: TCP_FLAGS.syn })).outputs;
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      port: GENEVE_OFPORT,
      packet: { ipv4_src: '10.1.0.12', tun_ipv4_dst: '192.168.0.2', tunnel_id: BigInt(EXT), [GENEVE_PORT_FIELD]: BigInt(GW_PORT_KEY), nw_ttl: 64 },
    });
  });

  it('a VM reaches its own floating IP (hairpin on the chassis) and sees it as the source', () => {
    const w = natWorld('hv2');
    const { table } = switchFor(w.snapshot());
    const p = ipPacket(w, 'b1', { mac: R1_BLUE_MAC, ip: FIP }, { ip_proto: 6, tcp_src: 41000, tcp_dst: 22, udp_src: undefined, udp_dst: undefined, tcp_flags: TCP_FLAGS.syn });
    const out = table.walk(p).outputs;
    expect(out).toEqual([expect.objectContaining({ port: ofportOf(w, 'b1'), packet: expect.objectContaining({ ipv4_src: FIP, ipv4_dst: '10.1.0.11', tcp_dst: 22 }) })]);
  });

  it('punts an unknown next hop on the external network (neighbour_miss); a learned one goes out', () => {
    const w = natWorld('hv2');
    w.neighbours.set('public', new Map());
    const { table } = switchFor(w.snapshot());
    const out = table.walk(vmToOutside(w, 'b1', { tcp_flags: TCP_FLAGS.syn })).outputs;
    expect(out).toHaveLength(1);
    expect(out[0].port).toBe('controller');
    expect(decodePunt(out[0].userdata!)).toEqual({ kind: 'neighbour_miss', networkKey: EXT });
    expect(out[0].packet).toMatchObject({ ipv4_src: FIP, reg0: 0xcb007101 });
  });

  it('without the physnet mapped here the floating IP is not served (and its VM goes through the gateway)', () => {
    const w = natWorld('hv2');
    w.localnets.clear();
    const { table } = switchFor(w.snapshot());
    const out = table.walk(vmToOutside(w, 'b1', { tcp_flags: TCP_FLAGS.syn })).outputs;
    expect(out).toEqual([expect.objectContaining({ port: GENEVE_OFPORT, packet: expect.objectContaining({ ipv4_src: '10.1.0.11' }) })]);
  });
});

describe('gateway chassis (hv2)', () => {
  const view = (): World => natWorld('hv2').viewAs('hv2');

  it('SNATs traffic redirected from another chassis to the gateway address, and un-SNATs the reply back to it', () => {
    const w = view();
    const { table } = switchFor(w.snapshot());
    // b2 (on hv1) → outside, as hv1 redirects it: unrouted, in the tunnel with the gateway port's key.
    const redirected: PacketFields = {
      in_port: GENEVE_OFPORT, tunnel_id: BigInt(EXT), [GENEVE_PORT_FIELD]: BigInt(GW_PORT_KEY), tun_ipv4_src: '192.168.0.1',
      eth_src: mac(12), eth_dst: R1_BLUE_MAC, eth_type: 0x0800, ipv4_src: '10.1.0.12', ipv4_dst: OUTSIDE,
      ip_proto: 6, nw_ttl: 64, tcp_src: 40000, tcp_dst: 80, tcp_flags: TCP_FLAGS.syn,
    };
    const out = table.walk(redirected).outputs;
    expect(out).toEqual([
      expect.objectContaining({ port: PATCH_OFPORT, packet: expect.objectContaining({ ipv4_src: GW_IP, eth_src: GW_MAC, eth_dst: UPSTREAM_MAC, nw_ttl: 63 }) }),
    ]);
    const reply = fromOutside(GW_IP, GW_MAC, { tcp_dst: out[0].packet.tcp_src as number, tcp_flags: TCP_FLAGS.syn | TCP_FLAGS.ack });
    const back = table.walk(reply).outputs;
    expect(back).toEqual([
      expect.objectContaining({ port: GENEVE_OFPORT, packet: expect.objectContaining({ ipv4_dst: '10.1.0.12', tun_ipv4_dst: '192.168.0.1', eth_dst: mac(12) }) }),
    ]);
    // A VM on hv1 without a floating IP reaching a floating IP (of a VM elsewhere) through the gateway.
    const toFip = table.walk({ ...redirected, ipv4_dst: '203.0.113.77', tcp_src: 40100 }).outputs;
    expect(toFip).toHaveLength(1);
    expect(toFip[0].packet).toMatchObject({ ipv4_src: GW_IP, ipv4_dst: '203.0.113.77' });
    // Control: a new connection from the outside to the gateway address goes nowhere.
    expect(table.walk(fromOutside(GW_IP, GW_MAC, { tcp_dst: 40001, tcp_flags: TCP_FLAGS.syn })).outputs).toEqual([]);
  });

  it('enable_snat=false routes without translation', () => {
    const w = view();
    w.updateRouter('r1', { gateway: { portId: 'gw', networkId: 'public', enableSnat: false } });
    const { table } = switchFor(w.snapshot());
    const p = ipPacket(w, 'g1', { mac: mac(93), ip: OUTSIDE }, { ip_proto: 6, tcp_src: 40000, tcp_dst: 80, udp_src: undefined, udp_dst: undefined, tcp_flags: TCP_FLAGS.syn });
    expect(table.isOutput(p, PATCH_OFPORT, { ipv4_src: '10.3.0.31', eth_src: GW_MAC })).toBe(true);
  });

  it('answers ARP for the gateway address with the gateway MAC', () => {
    const w = view();
    const { table } = switchFor(w.snapshot());
    const out = table.walk({
      in_port: PATCH_OFPORT, eth_src: UPSTREAM_MAC, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806,
      arp_op: 1, arp_sha: UPSTREAM_MAC, arp_spa: '203.0.113.1', arp_tha: '00:00:00:00:00:00', arp_tpa: GW_IP,
    }).outputs;
    expect(out).toEqual([expect.objectContaining({ port: PATCH_OFPORT, packet: expect.objectContaining({ arp_op: 2, arp_sha: GW_MAC }) })]);
  });
});

describe('provider networks', () => {
  function providerWorld(type: 'flat' | 'vlan'): World {
    const w = World.standard();
    w.addNetwork(network('prov', 40, { networkType: type, physicalNetwork: 'public', ...(type === 'vlan' ? { segmentationId: 100 } : {}) }));
    w.addSubnet(subnet('prov-v4', 'prov', '192.0.2.64/26', true));
    w.addPort(port('p1', 41, 'prov', 'prov-v4', '192.0.2.71', 'hv1'), 7);
    w.addPort(port('p2', 42, 'prov', 'prov-v4', '192.0.2.72', 'hv2'));
    w.localnets.set('public', PATCH_OFPORT);
    return w;
  }
  for (const type of ['flat', 'vlan'] as const) {
    it(`${type}: a remote port is reached through the physical network, never a tunnel; floods go there too`, () => {
      const w = providerWorld(type);
      const { table } = switchFor(w.snapshot());
      const vid = type === 'vlan' ? 0x1000 | 100 : 0;
      expect(table.isOutput(ipPacket(w, 'p1', w.port('p2')), PATCH_OFPORT, { vlan_vid: vid })).toBe(true);
      const flood = table.walk(ipPacket(w, 'p1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '192.0.2.127' })).outputs;
      expect(flood.map((o) => o.port)).toEqual([PATCH_OFPORT]);
      expect(flood.some((o) => o.port === GENEVE_OFPORT)).toBe(false);
      // From the physical network (tagged for VLAN) to p1: delivered untagged; not sent back out.
      const inbound: PacketFields = { ...ipPacket(w, 'p1', w.port('p1')), in_port: PATCH_OFPORT, eth_src: mac(200), ipv4_src: '192.0.2.100', vlan_vid: vid };
      expect(table.walk(inbound).outputs).toEqual([expect.objectContaining({ port: 7, packet: expect.objectContaining({ vlan_vid: 0 }) })]);
      // Control: the other VLAN (or a tagged frame on a flat network) is not this network.
      expect(table.walk({ ...inbound, vlan_vid: 0x1000 | 200 }).outputs).toEqual([]);
      expect(LOCALNET_PORT_KEY).toBeGreaterThan(0xffffff - 2);
    });
  }
  it('without the physnet mapped, a remote port of a provider network is unreachable (no tunnel fallback)', () => {
    const w = providerWorld('flat');
    w.localnets.clear();
    const { table } = switchFor(w.snapshot());
    expect(table.walk(ipPacket(w, 'p1', w.port('p2'))).outputs).toEqual([]);
  });
});
