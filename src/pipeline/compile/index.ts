/**
 * Per-owner compilation: each owner's flows are a pure function of the LocalTopology snapshot.
 *   pipeline:0     miss flows of every stage, tunnel port classification
 *   network:<key>  l2 flood / unknown unicast, flood flows and groups, tunnel_in flood
 *   port:<key>     classify, port security, services (ARP responder, DHCP punt), l2 unicast,
 *                  tunnel_in unicast, egress (local or tunnel); proactive L3: l3_nexthop for
 *                  the port's addresses on subnets of active routers (also when the port's
 *                  network has no local port: it is reached through the router)
 *   router:<key>   the router's l2_lookup entry, ARP for its addresses, l3_input, l3_route,
 *                  reactive miss (see l3.ts); nothing unless admin up with an interface on a
 *                  network present here
 *   sg_rule:<key>  a security group rule's match clause and conj_id flows (acl.ts); the port
 *                  owners carry the port clause and the rules compiled onto the port
 *   sg_member:<port key>  a remote group member's address clauses (acl.ts)
 * A network (and its ports) produce nothing unless it has a port bound here ("present"); a
 * network with admin_state_up=false produces nothing but drop flows for its local VIFs.
 */
import type { LocalTopology, NetworkInfo } from '../topology.js';
import { PIPELINE_OWNER, ownerId, type Owner } from '../conventions.js';
import { FlowBuilder } from '../flow-builder.js';
import type { OwnerOutput } from '../flow.js';
import { compileAclPipeline, compilePortAcl, compileMemberAcl, compileRuleAcl } from './acl.js';
import { compileClassify } from './classify.js';
import {
  contextOf,
  externalHere,
  type CompileContext,
  isProviderNetwork,
  isRouterPort,
  localnetOf,
  localOfport,
  networkActive,
  networkPresent,
  remoteChassisOf,
  tunnelTo,
} from './context.js';
import { compileEgressRemoteLocalnet, compileLocalnet } from './localnet.js';
import { compileExternalNeighbours, compileFloatingIp } from './nat.js';
import { compileEgressLocal, compileEgressRemote, compileFlood } from './egress.js';
import { compileL2Network, compileL2Port } from './l2.js';
import { compileL3Hosts, compileRouter, routerView, type RouterView } from './l3.js';
import { compileMissFlows, compileTunnelClassify } from './pipeline-flows.js';
import { compilePortSecurity } from './port-security.js';
import { compileArpResponder, compileDhcpPunt } from './services.js';
import { compileTunnelInFlood, compileTunnelInPort } from './tunnel-in.js';

export function compileOwner(topo: LocalTopology, owner: Owner): OwnerOutput {
  const ctx = contextOf(topo);
  const b = new FlowBuilder(owner);
  switch (owner.kind) {
    case 'pipeline':
      compileMissFlows(b);
      compileTunnelClassify(b, ctx);
      compileAclPipeline(b);
      break;
    case 'network': {
      const net = ctx.networkByKey.get(owner.key);
      if (!net) break;
      const active = networkActive(ctx, net);
      if (active) {
        compileL2Network(b, net);
        if (!isProviderNetwork(net)) compileTunnelInFlood(b, ctx, net);
        compileFlood(b, ctx, net);
      }
      const ln = localnetOf(ctx, net);
      const external = externalHere(ctx, net);
      if (ln && (active || external)) compileLocalnet(b, net, ln);
      if (ln && external) compileExternalNeighbours(b, ctx, net);
      break;
    }
    case 'port': {
      const port = ctx.portByKey.get(owner.key);
      if (!port) break;
      const net = ctx.topo.networks.get(port.networkId);
      if (!net) break;
      compileL3Hosts(b, ctx, port, net);
      if (!networkPresent(ctx, net)) break;
      const ofport = localOfport(ctx, port);
      const active = net.adminStateUp && port.adminStateUp;
      if (ofport !== undefined && !isRouterPort(port)) compileClassify(b, port, net, ofport, active);
      if (!net.adminStateUp) break;
      // Router ports: everything (l2_lookup entry, ARP for the address) comes from the router owner.
      if (isRouterPort(port)) break;
      const remote = ofport === undefined ? remoteChassisOf(ctx, port) : undefined;
      const provider = isProviderNetwork(net);
      const path = remote && !provider ? tunnelTo(ctx, remote) : undefined;
      // A remote port of a provider network is reached through the physical network.
      const ln = remote && provider ? localnetOf(ctx, net) : undefined;
      compileL2Port(b, port, net, ofport !== undefined || path !== undefined || ln !== undefined);
      if (!port.adminStateUp) break;
      compileArpResponder(b, port, net, ofport !== undefined);
      if (ofport !== undefined) {
        compilePortSecurity(b, port);
        compilePortAcl(b, ctx, port);
        compileDhcpPunt(b, ctx, port, net);
        if (!provider) compileTunnelInPort(b, ctx, port, net);
        compileEgressLocal(b, port, net, ofport);
      } else if (path) {
        compileEgressRemote(b, port, net, path);
      } else if (ln) {
        compileEgressRemoteLocalnet(b, port, net, ln);
      }
      break;
    }
    case 'router':
      compileRouter(b, ctx, owner.key);
      break;
    case 'sg_rule':
      compileRuleAcl(b, ctx, owner.key);
      break;
    case 'sg_member':
      compileMemberAcl(b, ctx, owner.key);
      break;
    case 'floatingip':
      compileFloatingIp(b, ctx, owner.key);
      break;
    case 'chassis':
    case 'reactive':
      break;
  }
  return b.build();
}

/**
 * Security groups: a group that changed (its record or any of its rules) → its rules (old and
 * new), the members of the remote groups they name (their address flows carry the rules'
 * conjunctions) and the local ports in it (their port clause lists the rules); a member whose
 * groups or addresses changed → its own address flows only. Port changes are handled with the
 * other port changes.
 */
function addSecurityOwners(prev: LocalTopology, next: LocalTopology, add: (o: Owner) => void): void {
  const remoteIds = new Set<string>();
  for (const id of new Set([...(prev.securityGroups?.keys() ?? []), ...(next.securityGroups?.keys() ?? [])])) {
    const a = prev.securityGroups?.get(id);
    const b = next.securityGroups?.get(id);
    if (a === b) continue;
    for (const r of [...(a?.rules ?? []), ...(b?.rules ?? [])]) {
      add({ kind: 'sg_rule', key: r.key });
      if (r.remoteGroupId !== null) remoteIds.add(r.remoteGroupId);
    }
    for (const topo of [prev, next]) {
      for (const l of topo.local.values()) {
        const p = topo.ports.get(l.portId);
        if (p?.securityGroups.includes(id)) add({ kind: 'port', key: p.key });
      }
    }
  }
  for (const key of new Set([...(prev.groupMembers?.keys() ?? []), ...(next.groupMembers?.keys() ?? [])])) {
    if (prev.groupMembers?.get(key) !== next.groupMembers?.get(key)) add({ kind: 'sg_member', key });
  }
  if (remoteIds.size === 0) return;
  for (const topo of [prev, next]) {
    for (const m of topo.groupMembers?.values() ?? []) {
      if (m.groups.some((g) => remoteIds.has(g))) add({ kind: 'sg_member', key: m.key });
    }
  }
}

/** Do two views count the same interfaces (same records) on network `netId`? */
function sameInterfaces(a: RouterView | undefined, b: RouterView | undefined, netId: string): boolean {
  const x = a?.interfaces.filter((i) => i.network.id === netId) ?? [];
  const y = b?.interfaces.filter((i) => i.network.id === netId) ?? [];
  return x.length === y.length && x.every((i, k) => i.port === y[k].port && i.subnet === y[k].subnet && i.network === y[k].network);
}

/** Every owner that may have flows in this snapshot (for a full compile). */
export function allOwners(topo: LocalTopology): Owner[] {
  const out: Owner[] = [PIPELINE_OWNER];
  for (const n of topo.networks.values()) out.push({ kind: 'network', key: n.key });
  for (const p of topo.ports.values()) out.push({ kind: 'port', key: p.key });
  for (const r of topo.routers?.values() ?? []) out.push({ kind: 'router', key: r.key });
  for (const g of topo.securityGroups?.values() ?? []) for (const r of g.rules) out.push({ kind: 'sg_rule', key: r.key });
  for (const m of topo.groupMembers?.values() ?? []) out.push({ kind: 'sg_member', key: m.key });
  for (const f of topo.floatingIps?.values() ?? []) out.push({ kind: 'floatingip', key: f.key });
  return out;
}

function sameMap<K, V>(a: ReadonlyMap<K, V> | undefined, b: ReadonlyMap<K, V> | undefined): boolean {
  if (a === b) return true;
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  for (const [k, v] of a ?? []) if (b?.get(k) !== v) return false;
  return true;
}

/**
 * North-south (nat.ts, localnet.ts): floating IPs are few per chassis and read much of the
 * snapshot (their port, router view, external network and zones), so any change recompiles all
 * of them; an external network's own flows follow whether this chassis reaches the outside
 * through it and its learned neighbours; a router's gateway flows follow its zones, its gateway
 * port, its external network and the chassis of its gateway.
 */
function addNorthSouthOwners(
  prev: LocalTopology,
  next: LocalTopology,
  pc: CompileContext,
  nc: CompileContext,
  touched: boolean,
  add: (o: Owner) => void,
): void {
  const fipsChanged = !sameMap(prev.floatingIps, next.floatingIps);
  if (touched || fipsChanged || !sameMap(prev.routerZones, next.routerZones)) {
    for (const f of [...(prev.floatingIps?.values() ?? []), ...(next.floatingIps?.values() ?? [])]) add({ kind: 'floatingip', key: f.key });
  }
  const externals = new Set<string>([
    ...pc.routersByGatewayNetwork.keys(),
    ...nc.routersByGatewayNetwork.keys(),
    ...pc.floatingIpsByNetwork.keys(),
    ...nc.floatingIpsByNetwork.keys(),
  ]);
  for (const id of externals) {
    const a = prev.networks.get(id);
    const b = next.networks.get(id);
    const here = (ctx: CompileContext, n: NetworkInfo | undefined): boolean => n !== undefined && externalHere(ctx, n);
    if (here(pc, a) !== here(nc, b) || prev.neighbours?.get(id) !== next.neighbours?.get(id)) {
      if (a) add({ kind: 'network', key: a.key });
      if (b) add({ kind: 'network', key: b.key });
    }
  }
  for (const [topo, ctx] of [
    [prev, pc],
    [next, nc],
  ] as const) {
    for (const r of topo.routers?.values() ?? []) {
      const g = r.gateway;
      if (!g) continue;
      const other = topo === prev ? next : prev;
      const gp = topo.ports.get(g.portId);
      const changed =
        prev.routerZones?.get(r.id) !== next.routerZones?.get(r.id) ||
        gp !== other.ports.get(g.portId) ||
        topo.networks.get(g.networkId) !== other.networks.get(g.networkId) ||
        (ctx.subnetsByNetwork.get(g.networkId) ?? []).some((s) => other.subnets.get(s.id) !== s) ||
        (gp?.chassis !== undefined && topo.remoteChassis.get(gp.chassis) !== other.remoteChassis.get(gp.chassis));
      if (changed) add({ kind: 'router', key: r.key });
    }
  }
}

/**
 * Owners whose output may differ between two snapshots (the "change handlers" of OVN's engine).
 * Falls back to every owner of both snapshots when the chassis itself or its tunnel ports change.
 * Rules (each follows from what a compiler reads):
 * - a network changed → the network and all its ports (old and new);
 * - a port changed (record or local binding) → the port, its network(s); if a network's presence
 *   (has a local port) changed → all ports of that network;
 * - a subnet changed → all ports of its network(s) (DHCP punt);
 * - a remote chassis changed → every network and every port bound to it;
 * - a router is touched when its record changes, one of its interface ports changes, or one of
 *   its networks changes record, presence or subnets → the router; and the ports of each
 *   attached network (old and new) whose counted interface differs, or of every attached
 *   network when the router's key or active flag changed (their l3_nexthop flows read those).
 *   A plain VM port change touches no router. The L3 mode changing → every owner.
 */
export function affectedOwners(prev: LocalTopology, next: LocalTopology): Owner[] {
  const out = new Map<string, Owner>();
  const add = (o: Owner): void => void out.set(ownerId(o), o);
  if (
    prev.chassis !== next.chassis ||
    JSON.stringify(prev.chassis) !== JSON.stringify(next.chassis) ||
    !sameMap(prev.localnets, next.localnets) ||
    JSON.stringify(prev.tunnelOfport) !== JSON.stringify(next.tunnelOfport) ||
    (prev.l3Mode ?? 'proactive') !== (next.l3Mode ?? 'proactive')
  ) {
    for (const o of [...allOwners(prev), ...allOwners(next)]) add(o);
    return [...out.values()];
  }
  const pc = contextOf(prev);
  const nc = contextOf(next);
  const networkIds = new Set<string>();
  const allPortsOf = new Set<string>();
  /** Networks whose record, presence or subnets changed (they touch their routers). */
  const routerNets = new Set<string>();
  const touchedRouters = new Set<string>();
  const addNetworkId = (id: string | undefined): void => {
    if (id !== undefined) networkIds.add(id);
  };

  for (const id of new Set([...prev.networks.keys(), ...next.networks.keys()])) {
    if (prev.networks.get(id) !== next.networks.get(id)) {
      addNetworkId(id);
      allPortsOf.add(id);
      routerNets.add(id);
    }
  }
  for (const id of new Set([...prev.ports.keys(), ...next.ports.keys()])) {
    const a = prev.ports.get(id);
    const b = next.ports.get(id);
    const la = prev.local.get(id);
    const lb = next.local.get(id);
    if (a === b && la?.ofport === lb?.ofport && la?.ctZone === lb?.ctZone) continue;
    for (const r of [...(pc.routersByInterface.get(id) ?? []), ...(nc.routersByInterface.get(id) ?? [])]) {
      touchedRouters.add(r.id);
    }
    for (const r of [pc.routerByGatewayPort.get(id), nc.routerByGatewayPort.get(id)]) if (r) touchedRouters.add(r.id);
    if (a) {
      add({ kind: 'port', key: a.key });
      addNetworkId(a.networkId);
    }
    if (b) {
      add({ kind: 'port', key: b.key });
      addNetworkId(b.networkId);
    }
  }
  for (const id of new Set([...prev.subnets.keys(), ...next.subnets.keys()])) {
    const a = prev.subnets.get(id);
    const b = next.subnets.get(id);
    if (a === b) continue;
    if (a) allPortsOf.add(a.networkId);
    if (b) allPortsOf.add(b.networkId);
    if (a) routerNets.add(a.networkId);
    if (b) routerNets.add(b.networkId);
  }
  const changedChassis = new Set<string>();
  for (const name of new Set([...prev.remoteChassis.keys(), ...next.remoteChassis.keys()])) {
    const a = prev.remoteChassis.get(name);
    const b = next.remoteChassis.get(name);
    if (a !== b && JSON.stringify(a) !== JSON.stringify(b)) changedChassis.add(name);
  }
  if (changedChassis.size) {
    for (const n of [...prev.networks.values(), ...next.networks.values()]) addNetworkId(n.id);
    for (const p of [...prev.ports.values(), ...next.ports.values()]) {
      if (p.chassis !== undefined && changedChassis.has(p.chassis)) add({ kind: 'port', key: p.key });
    }
  }
  for (const id of networkIds) {
    const a = prev.networks.get(id);
    const b = next.networks.get(id);
    if (a) add({ kind: 'network', key: a.key });
    if (b) add({ kind: 'network', key: b.key });
    const presentA = a !== undefined && networkPresent(pc, a);
    const presentB = b !== undefined && networkPresent(nc, b);
    if (presentA !== presentB) {
      allPortsOf.add(id);
      routerNets.add(id);
    }
  }
  for (const id of new Set([...(prev.routers?.keys() ?? []), ...(next.routers?.keys() ?? [])])) {
    if (prev.routers?.get(id) !== next.routers?.get(id)) touchedRouters.add(id);
  }
  for (const id of routerNets) {
    for (const r of [...(pc.routersByNetwork.get(id) ?? []), ...(nc.routersByNetwork.get(id) ?? [])]) touchedRouters.add(r.id);
    for (const r of [...(pc.routersByGatewayNetwork.get(id) ?? []), ...(nc.routersByGatewayNetwork.get(id) ?? [])]) touchedRouters.add(r.id);
  }
  for (const id of new Set([...(prev.routerZones?.keys() ?? []), ...(next.routerZones?.keys() ?? [])])) {
    if (prev.routerZones?.get(id) !== next.routerZones?.get(id)) touchedRouters.add(id);
  }
  for (const id of touchedRouters) {
    const a = prev.routers?.get(id);
    const b = next.routers?.get(id);
    if (a) add({ kind: 'router', key: a.key });
    if (b) add({ kind: 'router', key: b.key });
    // Per-destination flows (port owners) read only the router's key and active flag and the
    // counted interface on their own network: recompile a network's ports when those differ.
    const va = a && routerView(pc, a.key);
    const vb = b && routerView(nc, b.key);
    const all = !va || !vb || va.router.key !== vb.router.key || va.active !== vb.active;
    const nets = new Set<string>();
    for (const [topo, r] of [
      [prev, a],
      [next, b],
    ] as const) {
      for (const pid of r?.interfaces ?? []) {
        const ip = topo.ports.get(pid);
        if (ip) nets.add(ip.networkId);
      }
    }
    for (const netId of nets) {
      if (!all && sameInterfaces(va, vb, netId)) continue;
      for (const p of pc.portsByNetwork.get(netId) ?? []) add({ kind: 'port', key: p.key });
      for (const p of nc.portsByNetwork.get(netId) ?? []) add({ kind: 'port', key: p.key });
    }
  }
  addSecurityOwners(prev, next, add);
  for (const id of allPortsOf) {
    for (const p of pc.portsByNetwork.get(id) ?? []) add({ kind: 'port', key: p.key });
    for (const p of nc.portsByNetwork.get(id) ?? []) add({ kind: 'port', key: p.key });
    const a = prev.networks.get(id);
    const b = next.networks.get(id);
    if (a) add({ kind: 'network', key: a.key });
    if (b) add({ kind: 'network', key: b.key });
  }
  // Anything but security groups touched: floating IPs may read it.
  const touched = [...out.values()].some((o) => o.kind !== 'sg_rule' && o.kind !== 'sg_member');
  addNorthSouthOwners(prev, next, pc, nc, touched, add);
  return [...out.values()];
}
