/**
 * services:
 * - ARP responder (owned by the port that holds the address, local or remote): an ARP request
 *   for a fixed IPv4 of an admin-up port of the network is answered in OpenFlow and sent back
 *   out of in_port, so no ARP broadcast for a known address leaves the chassis. A request from
 *   the owner itself (gratuitous ARP, duplicate address detection) is not answered.
 *   Allowed address pairs are not answered (their owner may move, e.g. VRRP).
 * - DHCP punt (per local port): udp 68→67 from a port with a fixed IPv4 on a subnet with
 *   enable_dhcp → controller2 (userdata = port key). Without such a subnet the request is not
 *   punted and is switched like any broadcast (the VM hears nothing unless it runs its own server
 *   on a network without port security).
 */
import type { Action } from '../../openflow/types.js';
import type { NetworkInfo, PortInfo } from '../topology.js';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  IP_PROTO_UDP,
  PUNT_MAX_LEN,
  dhcpPuntUserdata,
} from '../conventions.js';
import { isIpv6 } from '../fields.js';
import type { FlowBuilder } from '../flow-builder.js';
import type { CompileContext } from './context.js';

export const PRIO_DHCP_PUNT = 100;
export const PRIO_ARP_OWNER_BYPASS = 60;
export const PRIO_ARP_RESPONDER = 50;

function ipv4Addresses(port: PortInfo): string[] {
  return [...new Set(port.fixedIps.map((f) => f.ipAddress).filter((ip) => !isIpv6(ip)))].sort();
}

/** Turn an ARP request for `ip` into the reply "`ip` is at `mac`" and send it back where it came from. */
export function arpReplyActions(mac: string, ip: string): Action[] {
  return [
    { type: 'move', src: { field: 'eth_src', ofs: 0, nbits: 48 }, dst: { field: 'eth_dst', ofs: 0, nbits: 48 } },
    { type: 'set_field', field: 'eth_src', value: mac },
    { type: 'set_field', field: 'arp_op', value: ARP_OP_REPLY },
    { type: 'move', src: { field: 'arp_sha', ofs: 0, nbits: 48 }, dst: { field: 'arp_tha', ofs: 0, nbits: 48 } },
    { type: 'set_field', field: 'arp_sha', value: mac },
    { type: 'move', src: { field: 'arp_spa', ofs: 0, nbits: 32 }, dst: { field: 'arp_tpa', ofs: 0, nbits: 32 } },
    { type: 'set_field', field: 'arp_spa', value: ip },
    { type: 'output', port: 'in_port' },
  ];
}

export function compileArpResponder(b: FlowBuilder, port: PortInfo, net: NetworkInfo, local: boolean): void {
  const mac = port.macAddress.toLowerCase();
  for (const ip of ipv4Addresses(port)) {
    b.flow('services', {
      priority: PRIO_ARP_RESPONDER,
      match: { metadata: BigInt(net.key), eth_type: ETH_TYPE_ARP, arp_op: ARP_OP_REQUEST, arp_tpa: ip },
      actions: arpReplyActions(mac, ip),
    });
    if (local) {
      b.flow('services', {
        priority: PRIO_ARP_OWNER_BYPASS,
        match: {
          metadata: BigInt(net.key),
          reg14: port.key,
          eth_type: ETH_TYPE_ARP,
          arp_op: ARP_OP_REQUEST,
          arp_tpa: ip,
        },
        goto: 'l2_lookup',
      });
    }
  }
}

export function dhcpEnabledFor(ctx: CompileContext, port: PortInfo): boolean {
  return port.fixedIps.some((f) => {
    const s = ctx.topo.subnets.get(f.subnetId);
    return s !== undefined && s.ipVersion === 4 && s.enableDhcp && s.networkId === port.networkId;
  });
}

export function compileDhcpPunt(b: FlowBuilder, ctx: CompileContext, port: PortInfo, net: NetworkInfo): void {
  if (!dhcpEnabledFor(ctx, port)) return;
  b.flow('services', {
    priority: PRIO_DHCP_PUNT,
    match: {
      metadata: BigInt(net.key),
      reg14: port.key,
      eth_type: ETH_TYPE_IPV4,
      ip_proto: IP_PROTO_UDP,
      udp_src: DHCP_CLIENT_PORT,
      udp_dst: DHCP_SERVER_PORT,
    },
    actions: [{ type: 'controller2', maxLen: PUNT_MAX_LEN, reason: 'action', userdata: dhcpPuntUserdata(port.key) }],
  });
}
