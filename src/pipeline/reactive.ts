/**
 * What the controller needs for the router's packet-ins (pure): reactive L3 flows, their
 * invalidation, and the router interface facts to answer ICMP.
 *
 * Reactive mode: l3_nexthop has no per-destination flows; its per-router miss punts
 * (reactive_miss). The controller calls `reactiveFlow(topo, routerKey, ipv4_dst)`, sends
 * `reactiveFlowMod(flow)` (idle timeout) and releases the packet with a packet-out (e.g. to
 * table l3_nexthop with the packet-in's metadata/registers, or simply resubmit through the
 * pipeline from its in_port). The flow is exactly the one proactive mode would have installed,
 * except its cookie: owner kind `reactive`, key = destination port key, which `diff` never
 * deletes. When a destination port moves (chassis, ofport), changes (MAC, IPs, admin state) or
 * goes away, send `reactiveDeleteForPort(portKey)`; when a router goes away or loses an
 * interface, `reactiveDeleteForRouter(routerKey)` (stale ones are unreachable anyway: no route
 * leads to them, but they would linger until their idle timeout).
 */
import type { LocalTopology, PortInfo } from './topology.js';
import { OWNER_COOKIE_MASK, OWNER_KIND_COOKIE_MASK, ROUTER_REG, ownerCookie } from './conventions.js';
import { contextOf, isRouterPort, type CompileContext } from './compile/context.js';
import { hostFlow, interfaceOn, lookupRoute, routerView, type RouterInterface } from './compile/l3.js';
import { FlowBuilder } from './flow-builder.js';
import type { PipelineFlow } from './flow.js';
import { flowMod, type FlowModMessage } from './reconcile.js';
import { tableId } from './stages.js';

/** Idle timeout (seconds) of reactive flows. */
export const REACTIVE_IDLE_TIMEOUT = 60;

/** The cookie of reactive flows toward port `portKey` (use with OWNER_COOKIE_MASK). */
export function reactiveCookie(portKey: number): bigint {
  return ownerCookie({ kind: 'reactive', key: portKey });
}

const ipIndex = new WeakMap<CompileContext, Map<string, PortInfo>>();

function portByIp(ctx: CompileContext, subnetId: string, ip: string): PortInfo | undefined {
  let m = ipIndex.get(ctx);
  if (!m) {
    m = new Map();
    for (const p of ctx.topo.ports.values()) {
      if (isRouterPort(p)) continue;
      for (const f of p.fixedIps) {
        const k = `${f.subnetId}/${f.ipAddress}`;
        const cur = m.get(k);
        if (!cur || p.key < cur.key) m.set(k, p);
      }
    }
    ipIndex.set(ctx, m);
  }
  return m.get(`${subnetId}/${ip}`);
}

/**
 * The l3_nexthop flow for a packet routed by router `routerKey` to `dstIp` (the packet's
 * ipv4_dst; the route lookup is done here, as l3_route did), identical to the proactive flow but
 * owned by `reactive:<destination port key>`. Undefined when the router is not active here, there
 * is no route, or the next hop is not a reachable admin-up port (then drop the packet; for
 * no route the switch already punted no_route).
 */
export function reactiveFlow(topo: LocalTopology, routerKey: number, dstIp: string): PipelineFlow | undefined {
  const ctx = contextOf(topo);
  const view = routerView(ctx, routerKey);
  if (!view || !view.active) return undefined;
  const hit = lookupRoute(view, dstIp);
  if (!hit) return undefined;
  const egress = hit.route.egress;
  const port = portByIp(ctx, egress.subnet.id, hit.nexthop);
  if (!port || port.networkId !== egress.network.id) return undefined;
  const net = topo.networks.get(port.networkId);
  if (!net || !net.adminStateUp) return undefined;
  return hostFlow(new FlowBuilder({ kind: 'reactive', key: port.key }), ctx, view.router.key, egress, port, hit.nexthop);
}

/** flow_mod add of a reactive flow, with its idle timeout. */
export function reactiveFlowMod(flow: PipelineFlow, idleTimeout = REACTIVE_IDLE_TIMEOUT): FlowModMessage {
  return { ...flowMod('add', flow), idleTimeout };
}

function deleteReactive(cookie: bigint, cookieMask: bigint, match: FlowModMessage['match']): FlowModMessage {
  return {
    ...flowMod('delete', { tableId: tableId('l3_nexthop'), priority: 0, match, instructions: [], cookie }, { cookieMask }),
  };
}

/** Deletes every reactive flow toward port `portKey` (non-strict delete, by cookie). */
export function reactiveDeleteForPort(portKey: number): FlowModMessage {
  return deleteReactive(reactiveCookie(portKey), OWNER_COOKIE_MASK, {});
}

/** Deletes every reactive flow of router `routerKey`. */
export function reactiveDeleteForRouter(routerKey: number): FlowModMessage {
  return deleteReactive(reactiveCookie(0), OWNER_KIND_COOKIE_MASK, { [ROUTER_REG]: routerKey });
}

/** Deletes every reactive flow (e.g. switching to proactive mode, once its flows are in). */
export function reactiveDeleteAll(): FlowModMessage {
  return deleteReactive(reactiveCookie(0), OWNER_KIND_COOKIE_MASK, {});
}

/**
 * The reactive flows a topology change makes stale, as flow_mod deletes (send them with, or
 * right after, the diff of the same change): every destination port whose record, binding
 * (ofport) or network / subnets / remote chassis changed; every router whose record changed or
 * went away; everything when the chassis, its tunnel ports, or the mode (reactive → proactive:
 * proactive flows replace them) change. Empty when prev was not in reactive mode.
 */
export function reactiveInvalidations(prev: LocalTopology, next: LocalTopology): FlowModMessage[] {
  if ((prev.l3Mode ?? 'proactive') !== 'reactive') return [];
  if (
    (next.l3Mode ?? 'proactive') !== 'reactive' ||
    JSON.stringify(prev.chassis) !== JSON.stringify(next.chassis) ||
    JSON.stringify(prev.tunnelOfport) !== JSON.stringify(next.tunnelOfport)
  ) {
    return [reactiveDeleteAll()];
  }
  const ports = new Set<number>();
  const nets = new Set<string>();
  for (const [id, n] of prev.networks) if (next.networks.get(id) !== n) nets.add(id);
  for (const [, s] of prev.subnets) if (next.subnets.get(s.id) !== s) nets.add(s.networkId);
  const chassis = new Set<string>();
  for (const [name, c] of prev.remoteChassis) {
    const d = next.remoteChassis.get(name);
    if (d !== c && JSON.stringify(d) !== JSON.stringify(c)) chassis.add(name);
  }
  for (const [id, p] of prev.ports) {
    if (
      next.ports.get(id) !== p ||
      prev.local.get(id)?.ofport !== next.local.get(id)?.ofport ||
      nets.has(p.networkId) ||
      (p.chassis !== undefined && chassis.has(p.chassis))
    ) {
      ports.add(p.key);
    }
  }
  const routers = new Set<number>();
  for (const [id, r] of prev.routers ?? []) if (next.routers?.get(id) !== r) routers.add(r.key);
  return [
    ...[...routers].sort((a, b) => a - b).map(reactiveDeleteForRouter),
    ...[...ports].sort((a, b) => a - b).map(reactiveDeleteForPort),
  ];
}

/** A router interface as the controller needs it to answer ICMP. */
export interface RouterInterfaceInfo {
  readonly routerKey: number;
  readonly portId: string;
  readonly portKey: number;
  readonly networkKey: number;
  /** The router's address on the subnet, and the subnet. */
  readonly ip: string;
  readonly cidr: string;
  /** The router's MAC on the network. */
  readonly mac: string;
}

function info(routerKey: number, i: RouterInterface): RouterInterfaceInfo {
  return {
    routerKey,
    portId: i.port.id,
    portKey: i.port.key,
    networkKey: i.network.key,
    ip: i.ip,
    cidr: i.subnet.cidr,
    mac: i.mac,
  };
}

/**
 * The router's interface on network `networkKey` (the packet-in's metadata for ttl_exceeded /
 * no_route / icmp_echo): source IP and MAC of the ICMP the controller sends back.
 */
export function routerInterfaceOn(topo: LocalTopology, routerKey: number, networkKey: number): RouterInterfaceInfo | undefined {
  const view = routerView(contextOf(topo), routerKey);
  const i = view && interfaceOn(view, networkKey);
  return i && info(routerKey, i);
}

/** Every counted interface of a router (e.g. to check that an echo's ipv4_dst is the router's). */
export function routerInterfaces(topo: LocalTopology, routerKey: number): RouterInterfaceInfo[] {
  const view = routerView(contextOf(topo), routerKey);
  if (!view) return [];
  const all = view.gateway ? [...view.interfaces, view.gateway] : view.interfaces;
  return all.map((i) => info(routerKey, i));
}

/** The route l3_route takes for `dstIp`: the next hop and the egress interface. */
export function routeLookup(
  topo: LocalTopology,
  routerKey: number,
  dstIp: string,
): { readonly nexthop: string; readonly egress: RouterInterfaceInfo } | undefined {
  const view = routerView(contextOf(topo), routerKey);
  const hit = view && lookupRoute(view, dstIp);
  return hit && { nexthop: hit.nexthop, egress: info(routerKey, hit.route.egress) };
}
