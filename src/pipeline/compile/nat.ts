/**
 * North-south: a router's gateway on an external network, SNAT on the gateway chassis, and
 * floating IPs translated on the chassis of their VM (OVN's NAT stages, one SNAT zone and one
 * DNAT zone per router, allocated per chassis by the controller).
 *
 * From the outside (l2_lookup → l3_input → l3_unsnat → l3_dnat → l3_route):
 *   l3_unsnat  to the gateway address / a floating IP: ct(zone=SNAT, nat) — a reply of a
 *              translated outbound connection gets its inside address back
 *   l3_dnat    to a floating IP: ct(commit, zone=DNAT, nat(dst=fixed IP)); to the gateway
 *              address, still untranslated: drop
 *   l3_route   from the external network back to it: drop (the router never hairpins the outside)
 * To the outside (l3_route → l3_undnat → l3_snat → l3_nexthop → l3_ext_neighbour):
 *   l3_undnat  from a floating IP's VM: ct(zone=DNAT, nat) — replies of inbound connections
 *              leave from the floating IP
 *   l3_snat    from a floating IP's VM: ct(commit, zone=SNAT, nat(src=floating IP))      (200)
 *              gateway chassis, enable_snat, from a connected subnet:
 *              ct(commit, zone=SNAT, nat(src=gateway address))                          (100)
 *   l3_nexthop next hop on the external subnet:
 *              from a local floating IP: eth_src := chassis MAC, metadata := external network,
 *              dec_ttl → l3_ext_neighbour                                               (150)
 *              gateway hosted here: eth_src := gateway MAC, … → l3_ext_neighbour        (120)
 *              gateway elsewhere: unchanged into the tunnel to the gateway chassis with the
 *              external network and the gateway port's key; its tunnel_in routes it again (120)
 *   l3_ext_neighbour (owned by the external network) next hop → eth_dst := learned MAC →
 *              the physical network; unknown → controller (ARP, neighbour_miss); a floating IP
 *              or gateway address of this chassis → back into l2_lookup as if from outside
 *              (in_port cleared, so the VM may talk to its own floating IP).
 * ARP on the external network: the gateway chassis answers for the gateway address with the
 * gateway port's MAC, the VM's chassis for a floating IP with the chassis MAC (so the outside's
 * neighbour entry names the chassis); ARP replies to those addresses are learned (neighbour_learn).
 *
 * Owners: the router (its gateway: everything above that is not per floating IP), the floating
 * IP (`floatingip:<key of the port holding its address>`), the external network (neighbours).
 */
import type { Action, Match } from '../../openflow/types.js';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  GENEVE_PORT_FIELD,
  ICMP_PUNT_METER_ID,
  IP_PROTO_ICMP,
  icmpEchoPuntUserdata,
  LOCALNET_PORT_KEY,
  MAX_NETWORK_KEY,
  MAX_PORT_KEY,
  NEIGHBOUR_PUNT_METER_ID,
  NEXTHOP_REG,
  ROUTER_REG,
  neighbourLearnPuntUserdata,
  neighbourMissPuntUserdata,
  ttlExceededPuntUserdata,
  vxlanUnicastVni,
} from '../conventions.js';
import { ipv4Prefix, ipv4ToBits } from '../fields.js';
import { ctTo, resubmitTo, type FlowBuilder } from '../flow-builder.js';
import type { FloatingIpInfo, NetworkInfo } from '../topology.js';
import { puntActions, setNetwork, setReg, tunnelActions } from './actions.js';
import { localOfport, receiveEncaps, tunnelTo, type CompileContext } from './context.js';
import { PRIO_L3_ECHO, PRIO_L3_TTL, routerView, type GatewayInterface, type RouterView } from './l3.js';
import { arpReplyActions } from './services.js';

export const PRIO_NAT_ARP_LEARN = 85;
export const PRIO_NAT_ARP = 80;
export const PRIO_L2_FLOATING_IP = 120;
export const PRIO_L2_GATEWAY = 110;
export const PRIO_UNSNAT = 100;
export const PRIO_DNAT = 100;
export const PRIO_DNAT_GATEWAY_DROP = 50;
export const PRIO_ROUTE_EXTERNAL_DROP = 500;
export const PRIO_UNDNAT = 100;
export const PRIO_SNAT_FLOATING_IP = 200;
export const PRIO_SNAT_GATEWAY = 100;
export const PRIO_NEXTHOP_FLOATING_IP = 150;
export const PRIO_NEXTHOP_GATEWAY = 120;
export const PRIO_NEIGHBOUR_LOOPBACK = 200;
export const PRIO_NEIGHBOUR = 100;
export const PRIO_NEIGHBOUR_MISS = 1;
export const PRIO_TUNNEL_IN_GATEWAY = 100;

const u32 = (ip: string): number => Number(ipv4ToBits(ip));

/** reg0 (next hop) inside `cidr`, as a match. */
function nexthopIn(cidr: string): Match {
  const p = ipv4Prefix(cidr);
  if (p.len === 32) return { [NEXTHOP_REG]: u32(p.value) };
  return { [NEXTHOP_REG]: { value: u32(p.value), mask: u32(p.mask) } };
}

function ipv4In(field: 'ipv4_src' | 'ipv4_dst', cidr: string): Match {
  const p = ipv4Prefix(cidr);
  return p.len === 32 ? { [field]: p.value } : { [field]: { value: p.value, mask: p.mask } };
}

/** ARP for `ip` on network `net` answered with `mac`; replies to `ip` learned. */
function arpFor(b: FlowBuilder, net: NetworkInfo, ip: string, mac: string): void {
  const metadata = BigInt(net.key);
  b.flow('services', {
    priority: PRIO_NAT_ARP,
    match: { metadata, eth_type: ETH_TYPE_ARP, arp_op: ARP_OP_REQUEST, arp_tpa: ip },
    actions: arpReplyActions(mac, ip),
  });
  b.flow('services', {
    priority: PRIO_NAT_ARP_LEARN,
    match: { metadata, reg14: LOCALNET_PORT_KEY, eth_type: ETH_TYPE_ARP, arp_op: ARP_OP_REPLY, arp_tpa: ip },
    actions: puntActions(neighbourLearnPuntUserdata(net.key)),
    meter: NEIGHBOUR_PUNT_METER_ID,
  });
}

/** Back in from the external network side: an address of this chassis there (loop back). */
function loopback(b: FlowBuilder, net: NetworkInfo, ip: string, mac: string): void {
  b.flow('l3_ext_neighbour', {
    priority: PRIO_NEIGHBOUR_LOOPBACK,
    match: { metadata: BigInt(net.key), [NEXTHOP_REG]: u32(ip) },
    actions: [
      { type: 'set_field', field: 'eth_dst', value: mac },
      setReg('reg14', LOCALNET_PORT_KEY),
      // OpenFlow never outputs to in_port: a VM talking to its own floating IP must get its answer.
      // (OVS refuses set_field of in_port 0, but takes the same as a register load, as OVN does.)
      { type: 'load', dst: { field: 'in_port', ofs: 0, nbits: 32 }, value: 0n },
      resubmitTo('l2_lookup'),
    ],
  });
}

/** The router's gateway flows (owned by the router; see the file comment). */
export function compileRouterGateway(b: FlowBuilder, ctx: CompileContext, view: RouterView): void {
  const gw = view.gateway;
  if (!gw || !view.active) return;
  const rk = view.router.key;
  const ext = gw.network;
  const ip4 = { [ROUTER_REG]: rk, eth_type: ETH_TYPE_IPV4 };
  // The outside never routes back out through us.
  b.flow('l3_route', {
    priority: PRIO_ROUTE_EXTERNAL_DROP,
    match: { ...ip4, metadata: BigInt(ext.key), ...ipv4In('ipv4_dst', gw.subnet.cidr) },
  });
  // Echo to the gateway address: the router answers (from inside on any chassis, from outside on its own).
  b.flow('l3_input', {
    priority: PRIO_L3_ECHO,
    match: { ...ip4, ip_proto: IP_PROTO_ICMP, icmpv4_type: 8, ipv4_dst: gw.ip },
    actions: puntActions(icmpEchoPuntUserdata(rk, ext.key)),
    meter: ICMP_PUNT_METER_ID,
  });
  const toExternal = { ...ip4, ...nexthopIn(gw.subnet.cidr) };
  if (gw.hosted) compileHostedGateway(b, ctx, view, gw);
  else compileGatewayRedirect(b, ctx, gw, toExternal);
}

/** Gateway elsewhere: external traffic goes, unrouted, to the gateway chassis. */
function compileGatewayRedirect(b: FlowBuilder, ctx: CompileContext, gw: GatewayInterface, toExternal: Match): void {
  const chassis = gw.port.chassis === undefined ? undefined : ctx.topo.remoteChassis.get(gw.port.chassis);
  const path = tunnelTo(ctx, chassis);
  if (!path || gw.port.key > MAX_PORT_KEY || gw.network.key > MAX_NETWORK_KEY) {
    // No live gateway chassis: an explicit, traceable drop.
    b.flow('l3_nexthop', { priority: PRIO_NEXTHOP_GATEWAY, match: toExternal });
    return;
  }
  b.flow('l3_nexthop', {
    priority: PRIO_NEXTHOP_GATEWAY,
    match: toExternal,
    actions: tunnelActions(path, gw.network.key, gw.port.key),
  });
}

/** The gateway lives here: ARP, un-SNAT, SNAT, out through the physical network. */
function compileHostedGateway(b: FlowBuilder, ctx: CompileContext, view: RouterView, gw: GatewayInterface): void {
  const rk = view.router.key;
  const ext = gw.network;
  const metadata = BigInt(ext.key);
  const ip4 = { [ROUTER_REG]: rk, eth_type: ETH_TYPE_IPV4 };
  if (!gw.localnet) return;
  // Redirected from other chassis: route again here.
  if (gw.port.key <= MAX_PORT_KEY && ext.key <= MAX_NETWORK_KEY) {
    for (const { encap, ofport } of receiveEncaps(ctx)) {
      const match =
        encap === 'geneve'
          ? { in_port: ofport, tunnel_id: BigInt(ext.key), [GENEVE_PORT_FIELD]: BigInt(gw.port.key) }
          : { in_port: ofport, tunnel_id: vxlanUnicastVni(gw.port.key) };
      b.flow('tunnel_in', {
        priority: PRIO_TUNNEL_IN_GATEWAY,
        match,
        // metadata 0: it came from inside the router (l3_route drops what came from the
        // external network back to it, by metadata); l3_nexthop sets the egress network.
        actions: [setNetwork(0), { type: 'set_field', field: ROUTER_REG, value: rk }],
        goto: 'l3_route',
      });
    }
  }
  arpFor(b, ext, gw.ip, gw.mac);
  b.flow('l2_lookup', {
    priority: PRIO_L2_GATEWAY,
    match: { metadata, eth_dst: gw.mac },
    actions: [{ type: 'set_field', field: ROUTER_REG, value: rk }],
    goto: 'l3_input',
  });
  for (const ttl of [0, 1]) {
    b.flow('l3_input', {
      priority: PRIO_L3_TTL,
      match: { ...ip4, metadata, nw_ttl: ttl },
      actions: puntActions(ttlExceededPuntUserdata(rk, ext.key)),
      meter: ICMP_PUNT_METER_ID,
    });
  }
  loopback(b, ext, gw.ip, gw.mac);
  const out: Action[] = [
    { type: 'set_field', field: 'eth_src', value: gw.mac },
    setNetwork(ext.key),
    { type: 'dec_ttl' },
  ];
  b.flow('l3_nexthop', {
    priority: PRIO_NEXTHOP_GATEWAY,
    match: { ...ip4, ...nexthopIn(gw.subnet.cidr) },
    actions: out,
    goto: 'l3_ext_neighbour',
  });
  const zones = gw.zones;
  if (!zones) return;
  b.flow('l3_unsnat', {
    priority: PRIO_UNSNAT,
    match: { ...ip4, metadata, ipv4_dst: gw.ip },
    actions: [ctTo('l3_dnat', { zone: zones.snat, nat: {} })],
  });
  b.flow('l3_dnat', { priority: PRIO_DNAT_GATEWAY_DROP, match: { ...ip4, metadata, ipv4_dst: gw.ip } });
  if (!gw.enableSnat) return;
  const cidrs = [...new Set(view.interfaces.map((i) => i.subnet.cidr))].sort();
  for (const cidr of cidrs) {
    b.flow('l3_snat', {
      priority: PRIO_SNAT_GATEWAY,
      match: { ...ip4, ...nexthopIn(gw.subnet.cidr), ...ipv4In('ipv4_src', cidr) },
      actions: [ctTo('l3_nexthop', { commit: true, zone: zones.snat, nat: { kind: 'src', ipv4Min: gw.ip } })],
    });
  }
}

/**
 * The view of a local floating IP that can be translated here: its router active here with a
 * gateway on the floating IP's network, this chassis mapping that network, and its VM here.
 */
export function floatingIpView(ctx: CompileContext, fip: FloatingIpInfo): { view: RouterView; gw: GatewayInterface; mac: string } | undefined {
  const port = ctx.topo.ports.get(fip.portId);
  if (!port || localOfport(ctx, port) === undefined || !port.adminStateUp) return undefined;
  if (!port.fixedIps.some((f) => f.ipAddress === fip.fixedIp)) return undefined;
  const router = ctx.topo.routers?.get(fip.routerId);
  const view = router && routerView(ctx, router.key);
  const gw = view?.gateway;
  const mac = ctx.topo.chassis.mac;
  if (!view || !view.active || !gw || gw.network.id !== fip.networkId || !gw.localnet || !gw.zones || !mac) return undefined;
  if (!view.interfaces.some((i) => i.subnet.id === port.fixedIps.find((f) => f.ipAddress === fip.fixedIp)?.subnetId)) return undefined;
  return { view, gw, mac };
}

/** A floating IP's flows on its VM's chassis (owner `floatingip:<key>`). */
export function compileFloatingIp(b: FlowBuilder, ctx: CompileContext, key: number): void {
  const fip = ctx.floatingIpByKey.get(key);
  if (!fip) return;
  const v = floatingIpView(ctx, fip);
  if (!v) return;
  const { view, gw, mac } = v;
  const zones = gw.zones!;
  const rk = view.router.key;
  const ext = gw.network;
  const metadata = BigInt(ext.key);
  const ip4 = { [ROUTER_REG]: rk, eth_type: ETH_TYPE_IPV4 };
  arpFor(b, ext, fip.address, mac);
  b.flow('l2_lookup', {
    priority: PRIO_L2_FLOATING_IP,
    match: { metadata, eth_dst: mac, eth_type: ETH_TYPE_IPV4, ipv4_dst: fip.address },
    actions: [{ type: 'set_field', field: ROUTER_REG, value: rk }],
    goto: 'l3_input',
  });
  // Only from the outside: from inside, traffic to a floating IP goes out (translated to the
  // sender's floating IP or the gateway's address) and comes back in, as on a real network.
  b.flow('l3_unsnat', {
    priority: PRIO_UNSNAT,
    match: { ...ip4, metadata, ipv4_dst: fip.address },
    actions: [ctTo('l3_dnat', { zone: zones.snat, nat: {} })],
  });
  b.flow('l3_dnat', {
    priority: PRIO_DNAT,
    match: { ...ip4, metadata, ipv4_dst: fip.address },
    actions: [ctTo('l3_route', { commit: true, zone: zones.dnat, nat: { kind: 'dst', ipv4Min: fip.fixedIp } })],
  });
  const toExternal = { ...ip4, ...nexthopIn(gw.subnet.cidr) };
  b.flow('l3_undnat', {
    priority: PRIO_UNDNAT,
    match: { ...toExternal, ipv4_src: fip.fixedIp },
    actions: [ctTo('l3_snat', { zone: zones.dnat, nat: {} })],
  });
  b.flow('l3_snat', {
    priority: PRIO_SNAT_FLOATING_IP,
    match: { ...toExternal, ipv4_src: fip.fixedIp },
    actions: [ctTo('l3_nexthop', { commit: true, zone: zones.snat, nat: { kind: 'src', ipv4Min: fip.address } })],
  });
  b.flow('l3_nexthop', {
    priority: PRIO_NEXTHOP_FLOATING_IP,
    match: { ...toExternal, ipv4_src: fip.address },
    actions: [{ type: 'set_field', field: 'eth_src', value: mac }, setNetwork(ext.key), { type: 'dec_ttl' }],
    goto: 'l3_ext_neighbour',
  });
  loopback(b, ext, fip.address, mac);
}

/** Next hops on an external network this chassis reaches the outside through (owner: the network). */
export function compileExternalNeighbours(b: FlowBuilder, ctx: CompileContext, net: NetworkInfo): void {
  const metadata = BigInt(net.key);
  const known = ctx.topo.neighbours?.get(net.id);
  for (const [ip, mac] of [...(known ?? [])].sort(([a], [c]) => u32(a) - u32(c))) {
    b.flow('l3_ext_neighbour', {
      priority: PRIO_NEIGHBOUR,
      match: { metadata, [NEXTHOP_REG]: u32(ip) },
      actions: [{ type: 'set_field', field: 'eth_dst', value: mac }, setReg('reg15', LOCALNET_PORT_KEY)],
      goto: 'egress_dispatch',
    });
  }
  b.flow('l3_ext_neighbour', {
    priority: PRIO_NEIGHBOUR_MISS,
    match: { metadata },
    actions: puntActions(neighbourMissPuntUserdata(net.key)),
    meter: NEIGHBOUR_PUNT_METER_ID,
  });
}
