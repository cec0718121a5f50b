/**
 * port_sec_in (per local port). With port_security_enabled:
 * - a DHCP server reply (udp src 67) from the VM is dropped (highest priority);
 * - the DHCP discover/request from 0.0.0.0:68 to 255.255.255.255:67 with the port's MAC passes;
 * - IPv4: (eth_src, ipv4_src) must be (port MAC, a fixed IPv4) or an allowed address pair
 *   (the pair's IP may be a CIDR; priority grows with the prefix length);
 * - ARP: eth_src = arp_sha = an allowed MAC and arp_spa an allowed IPv4 (or 0.0.0.0, an ARP probe);
 * - IPv6: source = the EUI-64 link-local of an allowed MAC, a fixed IPv6, an IPv6 pair, or `::`
 *   for ICMPv6 (duplicate address detection / MLD);
 * - everything else (other ethertypes included) misses and is dropped.
 * Without port security: everything from the port passes.
 */
import type { PortInfo } from '../topology.js';
import type { Match } from '../../openflow/types.js';
import {
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  IP_PROTO_ICMPV6,
  IP_PROTO_UDP,
} from '../conventions.js';
import { ipv4Prefix, ipv6Prefix, isIpv6, linkLocalOfMac } from '../fields.js';
import type { FlowBuilder } from '../flow-builder.js';

export const PRIO_PS_ROGUE_DHCP = 110;
export const PRIO_PS_DHCP_DISCOVER = 100;
/** Base priority of the address flows; + prefix length (IPv4) or + prefix length / 4 (IPv6). */
export const PRIO_PS_ADDR_BASE = 60;
export const PRIO_PS_DISABLED = 50;

function v4Match(cidr: string, field: 'ipv4_src' | 'arp_spa'): { match: Match; len: number } {
  const p = ipv4Prefix(cidr);
  return { match: { [field]: p.len === 32 ? p.value : { value: p.value, mask: p.mask } }, len: p.len };
}

export function compilePortSecurity(b: FlowBuilder, port: PortInfo): void {
  const reg14 = port.key;
  if (!port.portSecurityEnabled) {
    b.flow('port_sec_in', { priority: PRIO_PS_DISABLED, match: { reg14 }, goto: 'acl_egress' });
    return;
  }
  b.flow('port_sec_in', {
    priority: PRIO_PS_ROGUE_DHCP,
    match: { reg14, eth_type: ETH_TYPE_IPV4, ip_proto: IP_PROTO_UDP, udp_src: DHCP_SERVER_PORT },
  });
  const mac = port.macAddress.toLowerCase();
  b.flow('port_sec_in', {
    priority: PRIO_PS_DHCP_DISCOVER,
    match: {
      reg14,
      eth_src: mac,
      eth_type: ETH_TYPE_IPV4,
      ipv4_src: '0.0.0.0',
      ipv4_dst: '255.255.255.255',
      ip_proto: IP_PROTO_UDP,
      udp_src: DHCP_CLIENT_PORT,
      udp_dst: DHCP_SERVER_PORT,
    },
    goto: 'acl_egress',
  });

  // (mac, address) pairs, deduplicated, in a stable order.
  const pairs = new Map<string, { mac: string; ip: string }>();
  const add = (m: string, ip: string): void => {
    const k = `${m}|${ip}`;
    if (!pairs.has(k)) pairs.set(k, { mac: m, ip });
  };
  for (const f of port.fixedIps) add(mac, f.ipAddress);
  for (const p of port.allowedAddressPairs) add((p.macAddress || mac).toLowerCase(), p.ipAddress);
  const macs = [...new Set([mac, ...[...pairs.values()].map((p) => p.mac)])];

  for (const { mac: m, ip } of pairs.values()) {
    if (isIpv6(ip)) {
      const p = ipv6Prefix(ip);
      b.flow('port_sec_in', {
        priority: PRIO_PS_ADDR_BASE + Math.floor(p.len / 4),
        match: { reg14, eth_src: m, eth_type: ETH_TYPE_IPV6, ipv6_src: p.len === 128 ? p.value : { value: p.value, mask: p.mask } },
        goto: 'acl_egress',
      });
      continue;
    }
    const ipm = v4Match(ip, 'ipv4_src');
    b.flow('port_sec_in', {
      priority: PRIO_PS_ADDR_BASE + ipm.len,
      match: { reg14, eth_src: m, eth_type: ETH_TYPE_IPV4, ...ipm.match },
      goto: 'acl_egress',
    });
    const arpm = v4Match(ip, 'arp_spa');
    b.flow('port_sec_in', {
      priority: PRIO_PS_ADDR_BASE + arpm.len,
      match: { reg14, eth_src: m, eth_type: ETH_TYPE_ARP, arp_sha: m, ...arpm.match },
      goto: 'acl_egress',
    });
  }
  for (const m of macs) {
    // ARP probe (RFC 5227): sender IP 0.0.0.0.
    b.flow('port_sec_in', {
      priority: PRIO_PS_ADDR_BASE + 32,
      match: { reg14, eth_src: m, eth_type: ETH_TYPE_ARP, arp_sha: m, arp_spa: '0.0.0.0' },
      goto: 'acl_egress',
    });
    b.flow('port_sec_in', {
      priority: PRIO_PS_ADDR_BASE + 32,
      match: { reg14, eth_src: m, eth_type: ETH_TYPE_IPV6, ipv6_src: linkLocalOfMac(m) },
      goto: 'acl_egress',
    });
    b.flow('port_sec_in', {
      priority: PRIO_PS_ADDR_BASE + 32,
      match: { reg14, eth_src: m, eth_type: ETH_TYPE_IPV6, ipv6_src: '::', ip_proto: IP_PROTO_ICMPV6 },
      goto: 'acl_egress',
    });
  }
}
