/** Compile a topology, reconcile into a fake switch, and build packets. */
import type { LocalTopology, PortInfo } from '../../../src/pipeline/topology.js';
import { InstalledTable, PUNT_METERS, diff, fullCompile, type DesiredTable } from '../../../src/pipeline/index.js';
import { FakeOFTable, type PacketFields } from '../../support/fake-oftable.js';
import type { World } from './fixture.js';

export interface Switch {
  readonly table: FakeOFTable;
  readonly desired: DesiredTable;
  readonly installed: InstalledTable;
}

/** A fake switch as the controller prepares it: the punt meters installed before any flow. */
export function newSwitchTable(): FakeOFTable {
  const t = new FakeOFTable();
  t.apply(PUNT_METERS.map((m) => ({ type: 'meter_mod' as const, ...m })));
  return t;
}

export function switchFor(topo: LocalTopology): Switch {
  const desired = fullCompile(topo);
  const installed = new InstalledTable();
  const table = newSwitchTable();
  const msgs = diff(desired, installed);
  table.apply(msgs);
  installed.apply(msgs);
  return { table, desired, installed };
}

export function ofportOf(w: World, id: string): number {
  const b = w.local.get(id);
  if (!b) throw new Error(`${id} is not local`);
  return b.ofport;
}

function ipOf(p: PortInfo): string {
  return p.fixedIps[0].ipAddress;
}

/** An IPv4/UDP unicast packet from local port `from` to port `to` (same network by MAC). */
export function ipPacket(w: World, from: string, to: PortInfo | { mac: string; ip: string }, extra: PacketFields = {}): PacketFields {
  const src = w.port(from);
  const dst = 'macAddress' in to ? { mac: to.macAddress, ip: ipOf(to) } : to;
  return {
    in_port: ofportOf(w, from),
    eth_src: src.macAddress,
    eth_dst: dst.mac,
    eth_type: 0x0800,
    ipv4_src: ipOf(src),
    ipv4_dst: dst.ip,
    ip_proto: 17,
    nw_ttl: 64,
    udp_src: 5000,
    udp_dst: 5001,
    ...extra,
  };
}

export function arpRequest(w: World, from: string, targetIp: string, extra: PacketFields = {}): PacketFields {
  const src = w.port(from);
  return {
    in_port: ofportOf(w, from),
    eth_src: src.macAddress,
    eth_dst: 'ff:ff:ff:ff:ff:ff',
    eth_type: 0x0806,
    arp_op: 1,
    arp_sha: src.macAddress,
    arp_spa: ipOf(src),
    arp_tha: '00:00:00:00:00:00',
    arp_tpa: targetIp,
    ...extra,
  };
}

export function dhcpDiscover(w: World, from: string): PacketFields {
  const src = w.port(from);
  return {
    in_port: ofportOf(w, from),
    eth_src: src.macAddress,
    eth_dst: 'ff:ff:ff:ff:ff:ff',
    eth_type: 0x0800,
    ipv4_src: '0.0.0.0',
    ipv4_dst: '255.255.255.255',
    ip_proto: 17,
    nw_ttl: 64,
    udp_src: 68,
    udp_dst: 67,
  };
}
