/**
 * The distributed router (issue 5): east-west IPv4 routing on the sending chassis, in one tunnel
 * hop; the receiving chassis does no routing (tunnel_in → port, as for switched traffic).
 *
 * Owners:
 * - `router:<key>` (compileRouter), only when the router is admin up and has an interface on a
 *   network present here (a local port):
 *     l2_lookup  per interface on a present network: metadata=net, eth_dst=interface MAC
 *                → reg13 := router key → l3_input                             (PRIO_L2_ROUTER_PORT)
 *     services   ARP responder for each interface address on a present network
 *     l3_input   echo request to any interface address → controller (icmp_echo)       (300)
 *                anything else to an interface address → drop                          (250)
 *                per present ingress network: nw_ttl 0 or 1 → controller (ttl_exceeded) (200)
 *                IPv4 → l3_route                                                        (100)
 *     l3_route   connected subnet: ipv4_dst in cidr → reg0 := ipv4_dst; extra route: ipv4_dst in
 *                destination → reg0 := nexthop; priority 100 + 2·prefix length (+1 connected),
 *                so the longest prefix wins and a connected subnet beats an equal extra route;
 *                per present ingress network: anything else → controller (no_route)      (1)
 *     l3_nexthop reactive mode only: miss → controller (reactive_miss)                  (1)
 *   Every punt carries the meter instruction (ICMP_PUNT_METER_ID / REACTIVE_PUNT_METER_ID).
 * - `port:<key>` (compileL3Hosts), proactive mode: for each active router attached to the port's
 *   subnet, the per-destination flow
 *     l3_nexthop reg13=router, reg0=port IPv4 → eth_src := router MAC on that network,
 *                eth_dst := port MAC, metadata := network, reg15 := port key, dec_ttl, then
 *                goto egress_dispatch (port bound here) or straight into the tunnel to the
 *                port's chassis (so networks that are only reachable through the router need
 *                no L2 flows here)                                                       (100)
 *   So a port change recompiles one port, not the router. In reactive mode the controller
 *   installs exactly this flow itself (reactive.ts: `reactiveFlow`), owner kind `reactive`.
 *
 * An interface counts when its port is admin up, its network admin up, and its first fixed IPv4
 * lies in an IPv4 subnet of that network. Extra routes whose nexthop is outside every counted
 * interface subnet are ignored; for several routes with the same destination the smallest
 * nexthop wins (no ECMP yet). IPv6 is not routed.
 */
import type { NetworkInfo, PortInfo, RouterInfo, RouterZones, SubnetInfo } from '../topology.js';
import type { Action } from '../../openflow/types.js';
import {
  ETH_TYPE_IPV4,
  ICMP_PUNT_METER_ID,
  IP_PROTO_ICMP,
  MAX_NETWORK_KEY,
  MAX_PORT_KEY,
  NEXTHOP_REG,
  REACTIVE_PUNT_METER_ID,
  ROUTER_REG,
  icmpEchoPuntUserdata,
  noRoutePuntUserdata,
  reactiveMissPuntUserdata,
  ttlExceededPuntUserdata,
} from '../conventions.js';
import { ipv4Prefix, ipv4ToBits, isIpv6 } from '../fields.js';
import type { FlowBuilder } from '../flow-builder.js';
import type { PipelineFlow } from '../flow.js';
import { puntActions, setNetwork, setReg, tunnelActions } from './actions.js';
import {
  isProviderNetwork,
  isRouterPort,
  localnetOf,
  localOfport,
  networkPresent,
  remoteChassisOf,
  tunnelTo,
  type CompileContext,
  type Localnet,
} from './context.js';
import { localnetOutput } from './localnet.js';
import { compileRouterGateway } from './nat.js';
import { PRIO_L2_ROUTER_PORT } from './l2.js';
import { compileArpResponder } from './services.js';

export const PRIO_L3_ECHO = 300;
export const PRIO_L3_TO_ROUTER = 250;
export const PRIO_L3_TTL = 200;
export const PRIO_L3_IPV4 = 100;
export const PRIO_L3_ROUTE_BASE = 100;
export const PRIO_L3_NO_ROUTE = 1;
export const PRIO_L3_HOST = 100;
export const PRIO_L3_REACTIVE_MISS = 1;

const ICMP_ECHO_REQUEST = 8;

export interface RouterInterface {
  readonly port: PortInfo;
  readonly network: NetworkInfo;
  readonly subnet: SubnetInfo;
  readonly ip: string;
  readonly mac: string;
}

export interface RouteEntry {
  readonly destination: string;
  readonly value: bigint;
  readonly mask: bigint;
  readonly len: number;
  /** The interface whose subnet holds the next hop (the egress interface). */
  readonly egress: RouterInterface;
  /** Next hop IPv4; undefined = the destination itself (connected subnet). */
  readonly nexthop?: string;
  readonly priority: number;
}

/** The router's gateway interface on its external network (external_gateway_info). */
export interface GatewayInterface extends RouterInterface {
  /** Its port is bound to this chassis: the gateway (SNAT, ARP for its address) lives here. */
  readonly hosted: boolean;
  readonly enableSnat: boolean;
  /** The external network's way out here (patch port, VLAN), if this chassis maps its physnet. */
  readonly localnet?: Localnet;
  /** The router's NAT zones here, if allocated. */
  readonly zones?: RouterZones;
}

export interface RouterView {
  readonly router: RouterInfo;
  /** Counted interfaces, by network key then address. */
  readonly interfaces: readonly RouterInterface[];
  /** The gateway interface, when set and its port has an IPv4 on an IPv4 subnet of its network. */
  readonly gateway?: GatewayInterface;
  /** Admin up with at least one counted interface on a network present here, or its gateway hosted here. */
  readonly active: boolean;
  /** Connected and extra routes, highest priority first. */
  readonly routes: readonly RouteEntry[];
}

const views = new WeakMap<CompileContext, Map<number, RouterView | undefined>>();

function inPrefix(ip: string, r: { value: bigint; mask: bigint }): boolean {
  return (ipv4ToBits(ip) & r.mask) === r.value;
}

function prefixBits(cidr: string): { value: bigint; mask: bigint; len: number } {
  const p = ipv4Prefix(cidr);
  return { value: ipv4ToBits(p.value), mask: ipv4ToBits(p.mask), len: p.len };
}

function buildView(ctx: CompileContext, router: RouterInfo): RouterView {
  const interfaces: RouterInterface[] = [];
  for (const id of router.interfaces) {
    const port = ctx.topo.ports.get(id);
    if (!port || !isRouterPort(port) || !port.adminStateUp) continue;
    const network = ctx.topo.networks.get(port.networkId);
    if (!network || !network.adminStateUp) continue;
    const fixed = port.fixedIps.find((f) => !isIpv6(f.ipAddress));
    if (!fixed) continue;
    const subnet = ctx.topo.subnets.get(fixed.subnetId);
    if (!subnet || subnet.ipVersion !== 4 || subnet.networkId !== network.id) continue;
    interfaces.push({ port, network, subnet, ip: fixed.ipAddress, mac: port.macAddress.toLowerCase() });
  }
  interfaces.sort((a, b) => a.network.key - b.network.key || Number(ipv4ToBits(a.ip) - ipv4ToBits(b.ip)));
  const gateway = gatewayOf(ctx, router);
  const active = router.adminStateUp && (interfaces.some((i) => networkPresent(ctx, i.network)) || gateway?.hosted === true);
  const routes: RouteEntry[] = [];
  const seen = new Set<string>();
  const egresses: RouterInterface[] = gateway ? [...interfaces, gateway] : interfaces;
  for (const egress of egresses) {
    const p = prefixBits(egress.subnet.cidr);
    const key = `c/${p.value}/${p.len}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ destination: egress.subnet.cidr, ...p, egress, priority: PRIO_L3_ROUTE_BASE + 2 * p.len + 1 });
  }
  const extra = router.routes
    .filter((r) => !isIpv6(r.destination) && !isIpv6(r.nexthop))
    .map((r) => ({ r, p: prefixBits(r.destination), nh: ipv4ToBits(r.nexthop) }))
    .sort((a, b) => a.p.len - b.p.len || Number(a.p.value - b.p.value) || Number(a.nh - b.nh));
  for (const { r, p } of extra) {
    const key = `x/${p.value}/${p.len}`;
    if (seen.has(key)) continue;
    const egress = egresses.find((i) => inPrefix(r.nexthop, prefixBits(i.subnet.cidr)));
    if (!egress) continue;
    seen.add(key);
    routes.push({ destination: r.destination, ...p, egress, nexthop: r.nexthop, priority: PRIO_L3_ROUTE_BASE + 2 * p.len });
  }
  // The default route through the external subnet's gateway, unless an extra route says otherwise.
  const upstream = gateway?.subnet.gatewayIp;
  if (gateway && upstream && !isIpv6(upstream) && !seen.has('x/0/0') && inPrefix(upstream, prefixBits(gateway.subnet.cidr))) {
    routes.push({ destination: '0.0.0.0/0', value: 0n, mask: 0n, len: 0, egress: gateway, nexthop: upstream, priority: PRIO_L3_ROUTE_BASE });
  }
  routes.sort((a, b) => b.priority - a.priority || Number(a.value - b.value));
  return { router, interfaces, gateway, active, routes };
}

function gatewayOf(ctx: CompileContext, router: RouterInfo): GatewayInterface | undefined {
  const g = router.gateway;
  if (!g) return undefined;
  const port = ctx.topo.ports.get(g.portId);
  const network = ctx.topo.networks.get(g.networkId);
  if (!port || !network || port.networkId !== network.id || !network.adminStateUp) return undefined;
  const fixed = port.fixedIps.find((f) => !isIpv6(f.ipAddress) && ctx.topo.subnets.get(f.subnetId)?.ipVersion === 4);
  const subnet = fixed && ctx.topo.subnets.get(fixed.subnetId);
  if (!fixed || !subnet || subnet.networkId !== network.id) return undefined;
  return {
    port,
    network,
    subnet,
    ip: fixed.ipAddress,
    mac: port.macAddress.toLowerCase(),
    hosted: port.chassis === ctx.topo.chassis.name,
    enableSnat: g.enableSnat,
    localnet: localnetOf(ctx, network),
    zones: ctx.topo.routerZones?.get(router.id),
  };
}

/** The router's compiled view in this snapshot (cached per snapshot), or undefined if unknown. */
export function routerView(ctx: CompileContext, routerKey: number): RouterView | undefined {
  let m = views.get(ctx);
  if (!m) views.set(ctx, (m = new Map()));
  if (m.has(routerKey)) return m.get(routerKey);
  const r = ctx.routerByKey.get(routerKey);
  const v = r ? buildView(ctx, r) : undefined;
  m.set(routerKey, v);
  return v;
}

/** Longest-prefix match, as l3_route does: the route and the next hop for `dstIp`. */
export function lookupRoute(view: RouterView, dstIp: string): { route: RouteEntry; nexthop: string } | undefined {
  for (const route of view.routes) if (inPrefix(dstIp, route)) return { route, nexthop: route.nexthop ?? dstIp };
  return undefined;
}


function setRouterReg(key: number): Action {
  return { type: 'set_field', field: ROUTER_REG, value: key };
}

export function compileRouter(b: FlowBuilder, ctx: CompileContext, routerKey: number): void {
  const view = routerView(ctx, routerKey);
  if (!view || !view.active) return;
  const rk = view.router.key;
  const ip4 = { [ROUTER_REG]: rk, eth_type: ETH_TYPE_IPV4 };
  for (const i of view.interfaces) {
    if (networkPresent(ctx, i.network)) {
      const metadata = BigInt(i.network.key);
      b.flow('l2_lookup', {
        priority: PRIO_L2_ROUTER_PORT,
        match: { metadata, eth_dst: i.mac },
        actions: [setRouterReg(rk)],
        goto: 'l3_input',
      });
      compileArpResponder(b, { ...i.port, fixedIps: [{ subnetId: i.subnet.id, ipAddress: i.ip }] }, i.network, false);
      for (const ttl of [0, 1]) {
        b.flow('l3_input', {
          priority: PRIO_L3_TTL,
          match: { ...ip4, metadata, nw_ttl: ttl },
          actions: puntActions(ttlExceededPuntUserdata(rk, i.network.key)),
          meter: ICMP_PUNT_METER_ID,
        });
      }
      b.flow('l3_route', {
        priority: PRIO_L3_NO_ROUTE,
        match: { [ROUTER_REG]: rk, metadata },
        actions: puntActions(noRoutePuntUserdata(rk, i.network.key)),
        meter: ICMP_PUNT_METER_ID,
      });
    }
    b.flow('l3_input', {
      priority: PRIO_L3_ECHO,
      match: { ...ip4, ip_proto: IP_PROTO_ICMP, icmpv4_type: ICMP_ECHO_REQUEST, ipv4_dst: i.ip },
      actions: puntActions(icmpEchoPuntUserdata(rk, i.network.key)),
      meter: ICMP_PUNT_METER_ID,
    });
    b.flow('l3_input', { priority: PRIO_L3_TO_ROUTER, match: { ...ip4, ipv4_dst: i.ip } });
  }
  b.flow('l3_input', { priority: PRIO_L3_IPV4, match: ip4, goto: 'l3_unsnat' });
  for (const r of view.routes) {
    const setNexthop: Action =
      r.nexthop === undefined
        ? { type: 'move', src: { field: 'ipv4_dst', ofs: 0, nbits: 32 }, dst: { field: NEXTHOP_REG, ofs: 0, nbits: 32 } }
        : { type: 'set_field', field: NEXTHOP_REG, value: Number(ipv4ToBits(r.nexthop)) };
    const p = ipv4Prefix(r.destination);
    const dst = r.len === 32 ? { ipv4_dst: p.value } : r.len === 0 ? {} : { ipv4_dst: { value: p.value, mask: p.mask } };
    b.flow('l3_route', {
      priority: r.priority,
      match: { ...ip4, ...dst },
      actions: [setNexthop],
      goto: 'l3_undnat',
    });
  }
  compileRouterGateway(b, ctx, view);
  if ((ctx.topo.l3Mode ?? 'proactive') === 'reactive') {
    b.flow('l3_nexthop', {
      priority: PRIO_L3_REACTIVE_MISS,
      match: { [ROUTER_REG]: rk },
      actions: puntActions(reactiveMissPuntUserdata(rk)),
      meter: REACTIVE_PUNT_METER_ID,
    });
  }
}

/**
 * The l3_nexthop flow that delivers next hop `ip` (a fixed IPv4 of `port` on `egress`'s subnet)
 * for router `routerKey`, or undefined if the port cannot be reached from here.
 */
export function hostFlow(
  b: FlowBuilder,
  ctx: CompileContext,
  routerKey: number,
  egress: RouterInterface,
  port: PortInfo,
  ip: string,
): PipelineFlow | undefined {
  const net = egress.network;
  if (!port.adminStateUp || isRouterPort(port) || port.networkId !== net.id) return undefined;
  const rewrite: Action[] = [
    { type: 'set_field', field: 'eth_src', value: egress.mac },
    { type: 'set_field', field: 'eth_dst', value: port.macAddress.toLowerCase() },
    setNetwork(net.key),
    setReg('reg15', port.key),
    { type: 'dec_ttl' },
  ];
  const match = { [ROUTER_REG]: routerKey, eth_type: ETH_TYPE_IPV4, [NEXTHOP_REG]: Number(ipv4ToBits(ip)) };
  if (localOfport(ctx, port) !== undefined) {
    return b.flow('l3_nexthop', { priority: PRIO_L3_HOST, match, actions: rewrite, goto: 'egress_dispatch' });
  }
  if (isProviderNetwork(net)) {
    // A provider network is one physical segment: its ports on other chassis are reached there.
    const ln = remoteChassisOf(ctx, port) ? localnetOf(ctx, net) : undefined;
    if (!ln) return undefined;
    return b.flow('l3_nexthop', { priority: PRIO_L3_HOST, match, actions: [...rewrite, ...localnetOutput(ln)] });
  }
  const path = tunnelTo(ctx, remoteChassisOf(ctx, port));
  if (!path || port.key > MAX_PORT_KEY || net.key > MAX_NETWORK_KEY) return undefined;
  return b.flow('l3_nexthop', { priority: PRIO_L3_HOST, match, actions: [...rewrite, ...tunnelActions(path, net.key, port.key)] });
}

/** Proactive per-destination flows of one (non-router) port, owned by the port. */
export function compileL3Hosts(b: FlowBuilder, ctx: CompileContext, port: PortInfo, net: NetworkInfo): void {
  if ((ctx.topo.l3Mode ?? 'proactive') !== 'proactive') return;
  if (isRouterPort(port) || !port.adminStateUp || !net.adminStateUp) return;
  for (const r of ctx.routersByNetwork.get(net.id) ?? []) {
    const view = routerView(ctx, r.key);
    if (!view || !view.active) continue;
    const done = new Set<string>();
    for (const f of port.fixedIps) {
      if (isIpv6(f.ipAddress) || done.has(f.ipAddress)) continue;
      const egress = view.interfaces.find((i) => i.subnet.id === f.subnetId && i.network.id === net.id);
      if (!egress || egress.ip === f.ipAddress) continue;
      done.add(f.ipAddress);
      hostFlow(b, ctx, r.key, egress, port, f.ipAddress);
    }
  }
}

/** A router's counted interface on a network (e.g. the ICMP source for packets from it). */
export function interfaceOn(view: RouterView, networkKey: number): RouterInterface | undefined {
  const i = view.interfaces.find((x) => x.network.key === networkKey);
  if (i) return i;
  return view.gateway?.network.key === networkKey ? view.gateway : undefined;
}
