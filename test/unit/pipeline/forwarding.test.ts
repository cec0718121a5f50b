/** Fake-switch tests for every stage on the fixture cloud (see fixture.ts). */
import { describe, expect, it } from 'vitest';
import { decodePuntUserdata, tableId } from '../../../src/pipeline/index.js';
import { GENEVE_OFPORT, VXLAN_OFPORT, World, mac } from './fixture.js';
import { arpRequest, dhcpDiscover, ipPacket, switchFor } from './harness.js';
import type { OutputRecord } from '../../support/fake-oftable.js';

const ports = (outs: readonly OutputRecord[]): (number | string)[] => outs.map((o) => o.port).sort();
const tunnelDsts = (outs: readonly OutputRecord[]): string[] =>
  outs
    .filter((o) => o.port === GENEVE_OFPORT || o.port === VXLAN_OFPORT)
    .map((o) => o.packet.tun_ipv4_dst!)
    .sort();

describe('pipeline on the fake switch (geneve)', () => {
  const w = World.standard();
  const { table } = switchFor(w.snapshot());

  it('VM → VM on the same chassis', () => {
    const r = table.walk(ipPacket(w, 'b1', w.port('b2')));
    expect(r.ambiguous).toEqual([]);
    expect(ports(r.outputs)).toEqual([2]);
    expect(r.outputs[0].packet.reg15).toBe(12);
  });

  it('VM → remote VM goes to the tunnel with tun_dst, VNI = network key, port key in tun_metadata0', () => {
    const r = table.walk(ipPacket(w, 'b1', w.port('b3')));
    expect(r.outputs).toHaveLength(1);
    const o = r.outputs[0];
    expect(o.port).toBe(GENEVE_OFPORT);
    expect(o.packet.tun_ipv4_dst).toBe('192.168.0.2');
    expect(o.packet.tunnel_id).toBe(1n);
    expect(o.packet.tun_metadata0).toBe(13n);
  });

  it('packets from the tunnel reach the local port with no second lookup', () => {
    const r = table.walk({
      in_port: GENEVE_OFPORT,
      tunnel_id: 1n,
      tun_metadata0: 12n,
      tun_ipv4_src: '192.168.0.2',
      eth_src: mac(13),
      eth_dst: mac(12),
      eth_type: 0x0800,
      ipv4_src: '10.1.0.13',
      ipv4_dst: '10.1.0.12',
      ip_proto: 6,
      tcp_src: 1,
      tcp_dst: 2,
    });
    expect(ports(r.outputs)).toEqual([2]);
    expect(r.trace.map((t) => t.tableId)).not.toContain(tableId('l2_lookup'));
    // the eth_dst does not matter: the port key decides
    expect(table.isOutput({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 12n, eth_dst: mac(99) }, 2)).toBe(true);
  });

  it('tunnel packets for unknown, remote or wrong-network keys are dropped, never sent back into a tunnel', () => {
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 13n }).outputs).toEqual([]);
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 999n }).outputs).toEqual([]);
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 2n, tun_metadata0: 12n }).outputs).toEqual([]);
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 3n, tun_metadata0: 0n }).outputs).toEqual([]);
  });

  it('broadcast reaches every local port of its network + one copy per remote chassis with ports in it', () => {
    const r = table.walk(ipPacket(w, 'b1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '10.1.0.255' }));
    expect(ports(r.outputs)).toEqual([100, 100, 2]);
    expect(tunnelDsts(r.outputs)).toEqual(['192.168.0.2', '192.168.0.3']);
    for (const o of r.outputs.filter((x) => x.port === GENEVE_OFPORT)) {
      expect(o.packet.tunnel_id).toBe(1n);
      expect(o.packet.tun_metadata0).toBe(0n);
    }
    // red has a port on hv2 only
    const red = table.walk(ipPacket(w, 'r1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '10.1.0.255' }));
    expect(ports(red.outputs)).toEqual([100]);
    expect(tunnelDsts(red.outputs)).toEqual(['192.168.0.2']);
    expect(red.outputs[0].packet.tunnel_id).toBe(2n);
  });

  it('a flood from the tunnel reaches local ports only', () => {
    const r = table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 0n, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_src: mac(13) });
    expect(ports(r.outputs)).toEqual([1, 2]);
    const red = table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 2n, tun_metadata0: 0n, eth_dst: 'ff:ff:ff:ff:ff:ff' });
    expect(ports(red.outputs)).toEqual([3]);
  });

  it('unknown unicast floods like broadcast', () => {
    const r = table.walk(ipPacket(w, 'b1', { mac: '02:00:00:00:00:99', ip: '10.1.0.99' }));
    expect(ports(r.outputs)).toEqual([100, 100, 2]);
  });

  it('answers ARP for a known (remote) address locally', () => {
    const r = table.walk(arpRequest(w, 'b1', '10.1.0.13'));
    expect(r.outputs).toHaveLength(1);
    const o = r.outputs[0];
    expect(o.port).toBe(1);
    expect(o.packet).toMatchObject({
      eth_src: mac(13),
      eth_dst: mac(11),
      arp_op: 2,
      arp_sha: mac(13),
      arp_spa: '10.1.0.13',
      arp_tha: mac(11),
      arp_tpa: '10.1.0.11',
    });
    // local target too
    expect(table.outputsTo(arpRequest(w, 'b2', '10.1.0.11'), 2, { arp_sha: mac(11), arp_op: 2 })).toHaveLength(1);
  });

  it('ARP is isolated between networks with overlapping CIDRs', () => {
    // 10.1.0.11 is b1 in blue and r1 in red: b2 must learn b1's MAC
    expect(table.isOutput(arpRequest(w, 'b2', '10.1.0.11'), 2, { arp_sha: mac(11) })).toBe(true);
    expect(table.isOutput(arpRequest(w, 'b2', '10.1.0.11'), 2, { arp_sha: mac(21) })).toBe(false);
    // r1 asks for a blue-only address: not answered, flooded in red only
    const r = table.walk(arpRequest(w, 'r1', '10.1.0.13'));
    expect(r.outputs.filter((o) => o.port === 3)).toEqual([]);
    expect(tunnelDsts(r.outputs)).toEqual(['192.168.0.2']);
    expect(r.outputs.every((o) => o.packet.tunnel_id === 2n)).toBe(true);
    // r1 asks for r2 → answered with r2's MAC
    expect(table.isOutput(arpRequest(w, 'r1', '10.1.0.22'), 3, { arp_sha: mac(22), arp_op: 2 })).toBe(true);
  });

  it('does not answer ARP from the owner of the address (DAD, gratuitous ARP)', () => {
    const probe = arpRequest(w, 'b1', '10.1.0.11', { arp_spa: '0.0.0.0' });
    const r = table.walk(probe);
    expect(r.outputs.some((o) => o.port === 1)).toBe(false);
    expect(ports(r.outputs)).toEqual([100, 100, 2]);
  });

  it('unicast across networks with overlapping CIDRs never leaks', () => {
    // r1 sends to b1's MAC and IP: red does not know that MAC → red flood (hv2 only), never port 1/2
    const r = table.walk(ipPacket(w, 'r1', w.port('b1')));
    expect(r.outputs.some((o) => o.port === 1 || o.port === 2)).toBe(false);
    expect(r.outputs.every((o) => o.packet.tunnel_id === 2n)).toBe(true);
    // b1 → r2's MAC stays in blue
    const b = table.walk(ipPacket(w, 'b1', w.port('r2')));
    expect(b.outputs.every((o) => o.port === 2 || o.packet.tunnel_id === 1n)).toBe(true);
  });

  it('drops spoofed MAC, IP and ARP sender', () => {
    expect(table.walk(ipPacket(w, 'b1', w.port('b2'), { eth_src: mac(99) })).outputs).toEqual([]);
    expect(table.walk(ipPacket(w, 'b1', w.port('b2'), { ipv4_src: '10.1.0.12' })).outputs).toEqual([]);
    expect(table.walk(arpRequest(w, 'b1', '10.1.0.12', { arp_spa: '10.1.0.99' })).outputs).toEqual([]);
    expect(table.walk(arpRequest(w, 'b1', '10.1.0.12', { arp_sha: mac(12) })).outputs).toEqual([]);
    // non-IP/ARP ethertypes are dropped too
    expect(table.walk({ in_port: 1, eth_src: mac(11), eth_dst: mac(12), eth_type: 0x88cc }).outputs).toEqual([]);
  });

  it('drops a rogue DHCP server in a VM', () => {
    const offer = ipPacket(w, 'b1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '255.255.255.255' }, { udp_src: 67, udp_dst: 68 });
    expect(table.walk(offer).outputs).toEqual([]);
  });

  it('punts DHCP to the controller only when the subnet has DHCP enabled', () => {
    const r = table.walk(dhcpDiscover(w, 'b1'));
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].port).toBe('controller');
    expect(r.outputs[0].maxLen).toBe(0xffff);
    expect(decodePuntUserdata(r.outputs[0].userdata!)).toBe(11);
    const red = table.walk(dhcpDiscover(w, 'r1'));
    expect(red.outputs.some((o) => o.port === 'controller')).toBe(false);
  });

  it('IPv6: link-local of the port MAC passes, others are dropped', () => {
    const base = { in_port: 1, eth_src: mac(11), eth_dst: mac(12), eth_type: 0x86dd, ip_proto: 17, udp_src: 1, udp_dst: 2 };
    expect(table.isOutput({ ...base, ipv6_src: 'fe80::f816:3eff:fe00:b', ipv6_dst: 'fe80::1' }, 2)).toBe(true);
    expect(table.isOutput({ ...base, ipv6_src: 'fe80::99', ipv6_dst: 'fe80::1' }, 2)).toBe(false);
  });
});

describe('pipeline on the fake switch (vxlan)', () => {
  const w = World.standard('vxlan');
  const { table } = switchFor(w.snapshot());

  it('unicast to a remote port: VNI = destination port key', () => {
    const r = table.walk(ipPacket(w, 'b1', w.port('b4')));
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0]).toMatchObject({ port: VXLAN_OFPORT });
    expect(r.outputs[0].packet.tun_ipv4_dst).toBe('192.168.0.3');
    expect(r.outputs[0].packet.tunnel_id).toBe(14n);
  });

  it('flood: VNI = 2^23 + network key, once per chassis', () => {
    const r = table.walk(ipPacket(w, 'b1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '10.1.0.255' }));
    expect(ports(r.outputs)).toEqual([101, 101, 2]);
    for (const o of r.outputs.filter((x) => x.port === VXLAN_OFPORT)) expect(o.packet.tunnel_id).toBe(0x800001n);
  });

  it('from the tunnel: port key VNI → local port; flood VNI → local ports only', () => {
    expect(ports(table.walk({ in_port: VXLAN_OFPORT, tunnel_id: 11n, eth_dst: mac(11) }).outputs)).toEqual([1]);
    expect(ports(table.walk({ in_port: VXLAN_OFPORT, tunnel_id: 0x800001n, eth_dst: 'ff:ff:ff:ff:ff:ff' }).outputs)).toEqual([1, 2]);
    expect(table.walk({ in_port: VXLAN_OFPORT, tunnel_id: 14n }).outputs).toEqual([]);
  });
});

describe('port and network state', () => {
  it('admin down on a port stops its traffic both ways', () => {
    const w = World.standard();
    w.updatePort('b2', { adminStateUp: false });
    const { table } = switchFor(w.snapshot());
    expect(table.walk(ipPacket(w, 'b1', w.port('b2'))).outputs).toEqual([]);
    expect(table.walk(ipPacket(w, 'b2', w.port('b1'))).outputs).toEqual([]);
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 12n }).outputs).toEqual([]);
    const bcast = table.walk(ipPacket(w, 'b1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '10.1.0.255' }));
    expect(ports(bcast.outputs)).toEqual([100, 100]);
    // no ARP answer for it either
    expect(table.isOutput(arpRequest(w, 'b1', '10.1.0.12'), 1)).toBe(false);
  });

  it('admin down on a remote port: not reachable, not answered', () => {
    const w = World.standard();
    w.updatePort('b3', { adminStateUp: false });
    const { table } = switchFor(w.snapshot());
    expect(table.walk(ipPacket(w, 'b1', w.port('b3'))).outputs).toEqual([]);
    // hv2 has no admin-up blue port left: no flood copy to it
    const bcast = table.walk(ipPacket(w, 'b1', { mac: 'ff:ff:ff:ff:ff:ff', ip: '10.1.0.255' }));
    expect(tunnelDsts(bcast.outputs)).toEqual(['192.168.0.3']);
  });

  it('admin down on a network stops everything in it', () => {
    const w = World.standard();
    w.updateNetwork('blue', { adminStateUp: false });
    const { table } = switchFor(w.snapshot());
    expect(table.walk(ipPacket(w, 'b1', w.port('b2'))).outputs).toEqual([]);
    expect(table.walk(ipPacket(w, 'b1', w.port('b3'))).outputs).toEqual([]);
    expect(table.walk(dhcpDiscover(w, 'b1')).outputs).toEqual([]);
    expect(table.walk({ in_port: GENEVE_OFPORT, tunnel_id: 1n, tun_metadata0: 0n }).outputs).toEqual([]);
    // red is unaffected
    expect(ports(table.walk(ipPacket(w, 'r1', w.port('r2'))).outputs)).toEqual([100]);
  });

  it('port security disabled: spoofed sources and DHCP server replies pass', () => {
    const w = World.standard();
    w.updatePort('b1', { portSecurityEnabled: false });
    const { table } = switchFor(w.snapshot());
    expect(ports(table.walk(ipPacket(w, 'b1', w.port('b2'), { eth_src: mac(99), ipv4_src: '1.2.3.4' })).outputs)).toEqual([2]);
    const offer = ipPacket(w, 'b1', w.port('b2'), { udp_src: 67, udp_dst: 68 });
    expect(ports(table.walk(offer).outputs)).toEqual([2]);
  });

  it('allowed address pairs (address, CIDR, other MAC) pass port security', () => {
    const w = World.standard();
    w.updatePort('b1', {
      allowedAddressPairs: [
        { ipAddress: '10.1.0.200', macAddress: mac(11) },
        { ipAddress: '172.16.0.0/16', macAddress: '02:00:00:00:aa:aa' },
      ],
    });
    const { table } = switchFor(w.snapshot());
    expect(table.isOutput(ipPacket(w, 'b1', w.port('b2'), { ipv4_src: '10.1.0.200' }), 2)).toBe(true);
    expect(table.isOutput(ipPacket(w, 'b1', w.port('b2'), { ipv4_src: '172.16.9.9', eth_src: '02:00:00:00:aa:aa' }), 2)).toBe(true);
    expect(table.isOutput(ipPacket(w, 'b1', w.port('b2'), { ipv4_src: '172.16.9.9' }), 2)).toBe(false);
    expect(table.isOutput(ipPacket(w, 'b1', w.port('b2'), { ipv4_src: '172.17.0.1', eth_src: '02:00:00:00:aa:aa' }), 2)).toBe(false);
    // ARP from the pair's MAC + address
    const garp = arpRequest(w, 'b1', '10.1.0.12', { eth_src: '02:00:00:00:aa:aa', arp_sha: '02:00:00:00:aa:aa', arp_spa: '172.16.0.5' });
    expect(table.isOutput(garp, 1, { arp_op: 2, arp_tpa: '172.16.0.5', eth_dst: '02:00:00:00:aa:aa' })).toBe(true);
    expect(table.walk({ ...garp, arp_spa: '10.9.0.1' }).outputs).toEqual([]);
  });

  it('DHCP is not punted when the subnet disables it', () => {
    const w = World.standard();
    w.updateSubnet('blue-v4', { enableDhcp: false });
    const { table } = switchFor(w.snapshot());
    expect(table.walk(dhcpDiscover(w, 'b1')).outputs.some((o) => o.port === 'controller')).toBe(false);
  });
});
