/**
 * Indexes over one LocalTopology snapshot, shared by the compilers. A snapshot is immutable, so
 * the index is cached per snapshot object.
 */
import type {
  ChassisInfo,
  Encap,
  FloatingIpInfo,
  LocalTopology,
  NetworkInfo,
  PortInfo,
  RouterInfo,
  SecurityGroupInfo,
  SecurityRuleInfo,
  SubnetInfo,
} from '../topology.js';

export interface TunnelPath {
  readonly encap: Encap;
  readonly ofport: number;
  readonly remoteIp: string;
}

export interface CompileContext {
  readonly topo: LocalTopology;
  readonly networkByKey: ReadonlyMap<number, NetworkInfo>;
  readonly portByKey: ReadonlyMap<number, PortInfo>;
  /** Ports of each network id, sorted by key. */
  readonly portsByNetwork: ReadonlyMap<string, readonly PortInfo[]>;
  readonly subnetsByNetwork: ReadonlyMap<string, readonly SubnetInfo[]>;
  readonly routerByKey: ReadonlyMap<number, RouterInfo>;
  /** Routers with an interface port (listed and present in `ports`) on each network id, by key. */
  readonly routersByNetwork: ReadonlyMap<string, readonly RouterInfo[]>;
  /** Routers listing each port id as an interface. */
  readonly routersByInterface: ReadonlyMap<string, readonly RouterInfo[]>;
  /** Rules of the local ports' groups by rule key, with their group. */
  readonly ruleByKey: ReadonlyMap<number, { readonly rule: SecurityRuleInfo; readonly group: SecurityGroupInfo }>;
  /** Rules (of the local ports' groups) naming each remote group id, by key. */
  readonly rulesByRemoteGroup: ReadonlyMap<string, readonly SecurityRuleInfo[]>;
  /** Routers whose gateway is on each (external) network id, by key. */
  readonly routersByGatewayNetwork: ReadonlyMap<string, readonly RouterInfo[]>;
  /** The router of each gateway port id. */
  readonly routerByGatewayPort: ReadonlyMap<string, RouterInfo>;
  /** Floating IPs of local ports by their key, and per external network id. */
  readonly floatingIpByKey: ReadonlyMap<number, FloatingIpInfo>;
  readonly floatingIpsByNetwork: ReadonlyMap<string, readonly FloatingIpInfo[]>;
}

const cache = new WeakMap<LocalTopology, CompileContext>();

export function contextOf(topo: LocalTopology): CompileContext {
  const hit = cache.get(topo);
  if (hit) return hit;
  const networkByKey = new Map<number, NetworkInfo>();
  for (const n of topo.networks.values()) networkByKey.set(n.key, n);
  const portByKey = new Map<number, PortInfo>();
  const portsByNetwork = new Map<string, PortInfo[]>();
  for (const p of topo.ports.values()) {
    portByKey.set(p.key, p);
    let l = portsByNetwork.get(p.networkId);
    if (!l) portsByNetwork.set(p.networkId, (l = []));
    l.push(p);
  }
  for (const l of portsByNetwork.values()) l.sort((a, b) => a.key - b.key);
  const subnetsByNetwork = new Map<string, SubnetInfo[]>();
  for (const s of topo.subnets.values()) {
    let l = subnetsByNetwork.get(s.networkId);
    if (!l) subnetsByNetwork.set(s.networkId, (l = []));
    l.push(s);
  }
  const routerByKey = new Map<number, RouterInfo>();
  const routersByNetwork = new Map<string, RouterInfo[]>();
  const routersByInterface = new Map<string, RouterInfo[]>();
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => {
    const l = m.get(k);
    if (!l) m.set(k, [v]);
    else if (!l.includes(v)) l.push(v);
  };
  for (const r of topo.routers?.values() ?? []) {
    routerByKey.set(r.key, r);
    for (const id of r.interfaces) {
      push(routersByInterface, id, r);
      const p = topo.ports.get(id);
      if (p) push(routersByNetwork, p.networkId, r);
    }
  }
  for (const l of routersByNetwork.values()) l.sort((a, b) => a.key - b.key);
  const ruleByKey = new Map<number, { rule: SecurityRuleInfo; group: SecurityGroupInfo }>();
  const rulesByRemoteGroup = new Map<string, SecurityRuleInfo[]>();
  for (const g of topo.securityGroups?.values() ?? []) {
    for (const r of g.rules) {
      ruleByKey.set(r.key, { rule: r, group: g });
      if (r.remoteGroupId !== null) push(rulesByRemoteGroup, r.remoteGroupId, r);
    }
  }
  for (const l of rulesByRemoteGroup.values()) l.sort((a, b) => a.key - b.key);
  const routersByGatewayNetwork = new Map<string, RouterInfo[]>();
  const routerByGatewayPort = new Map<string, RouterInfo>();
  for (const r of topo.routers?.values() ?? []) {
    if (!r.gateway) continue;
    push(routersByGatewayNetwork, r.gateway.networkId, r);
    routerByGatewayPort.set(r.gateway.portId, r);
  }
  for (const l of routersByGatewayNetwork.values()) l.sort((a, b) => a.key - b.key);
  const floatingIpByKey = new Map<number, FloatingIpInfo>();
  const floatingIpsByNetwork = new Map<string, FloatingIpInfo[]>();
  for (const f of topo.floatingIps?.values() ?? []) {
    floatingIpByKey.set(f.key, f);
    push(floatingIpsByNetwork, f.networkId, f);
  }
  for (const l of floatingIpsByNetwork.values()) l.sort((a, b) => a.key - b.key);
  const ctx: CompileContext = {
    topo,
    networkByKey,
    portByKey,
    portsByNetwork,
    subnetsByNetwork,
    routerByKey,
    routersByNetwork,
    routersByInterface,
    ruleByKey,
    rulesByRemoteGroup,
    routersByGatewayNetwork,
    routerByGatewayPort,
    floatingIpByKey,
    floatingIpsByNetwork,
  };
  cache.set(topo, ctx);
  return ctx;
}

/** The ofport of a port bound here, or undefined. */
export function localOfport(ctx: CompileContext, p: PortInfo): number | undefined {
  return ctx.topo.local.get(p.id)?.ofport;
}

/** Router ports are compiled by the L3 stages (issue 5), not as VIFs. */
export function isRouterPort(p: PortInfo): boolean {
  return p.deviceOwner.startsWith('network:router_interface') || p.deviceOwner === 'network:router_gateway';
}

/** A network is present on this chassis when at least one of its ports is bound here. */
export function networkPresent(ctx: CompileContext, n: NetworkInfo): boolean {
  return (ctx.portsByNetwork.get(n.id) ?? []).some((p) => ctx.topo.local.has(p.id));
}

/** Network present and admin up: its flows exist. */
export function networkActive(ctx: CompileContext, n: NetworkInfo | undefined): n is NetworkInfo {
  return n !== undefined && n.adminStateUp && networkPresent(ctx, n);
}

/** The encapsulation to reach a chassis: our first encapsulation it supports and we have a port for. */
export function tunnelTo(ctx: CompileContext, chassis: ChassisInfo | undefined): TunnelPath | undefined {
  if (!chassis) return undefined;
  for (const e of ctx.topo.chassis.encap) {
    const ofport = ctx.topo.tunnelOfport[e];
    if (ofport !== undefined && chassis.encap.includes(e)) return { encap: e, ofport, remoteIp: chassis.tunnelIp };
  }
  return undefined;
}

/** The remote chassis of a port bound elsewhere, if we know it. */
export function remoteChassisOf(ctx: CompileContext, p: PortInfo): ChassisInfo | undefined {
  if (ctx.topo.local.has(p.id) || p.chassis === undefined || p.chassis === ctx.topo.chassis.name) return undefined;
  return ctx.topo.remoteChassis.get(p.chassis);
}

/** Encapsulations we receive on (tunnel ports that exist), in a stable order. */
export function receiveEncaps(ctx: CompileContext): { encap: Encap; ofport: number }[] {
  const out: { encap: Encap; ofport: number }[] = [];
  for (const e of ['geneve', 'vxlan'] as const) {
    const ofport = ctx.topo.tunnelOfport[e];
    if (ofport !== undefined) out.push({ encap: e, ofport });
  }
  return out;
}

/** A provider (flat/VLAN) network's way out on this chassis: the patch port and its VLAN, if any. */
export interface Localnet {
  readonly ofport: number;
  /** VLAN id (vlan networks); undefined = untagged (flat). */
  readonly vlan?: number;
}

/** The localnet of a flat or VLAN network whose physical network this chassis maps, else undefined. */
export function localnetOf(ctx: CompileContext, n: NetworkInfo): Localnet | undefined {
  if (n.networkType !== 'flat' && n.networkType !== 'vlan') return undefined;
  if (n.physicalNetwork === undefined) return undefined;
  const ofport = ctx.topo.localnets?.get(n.physicalNetwork);
  if (ofport === undefined) return undefined;
  if (n.networkType === 'flat') return { ofport };
  if (n.segmentationId === undefined || n.segmentationId < 1 || n.segmentationId > 4094) return undefined;
  return { ofport, vlan: n.segmentationId };
}

/** Is the network switched through a physical network (never through tunnels)? */
export function isProviderNetwork(n: NetworkInfo): boolean {
  return n.networkType === 'flat' || n.networkType === 'vlan';
}

/** The gateway port of a router hosted on this chassis? */
export function gatewayHostedHere(ctx: CompileContext, r: RouterInfo): boolean {
  if (!r.gateway) return false;
  return ctx.topo.ports.get(r.gateway.portId)?.chassis === ctx.topo.chassis.name;
}

/**
 * Does this chassis reach the outside through external network `n` (a router gateway hosted
 * here, or a floating IP of a local port on it), with the physical network mapped?
 */
export function externalHere(ctx: CompileContext, n: NetworkInfo): boolean {
  if (!n.adminStateUp || localnetOf(ctx, n) === undefined) return false;
  if ((ctx.floatingIpsByNetwork.get(n.id) ?? []).length > 0) return true;
  return (ctx.routersByGatewayNetwork.get(n.id) ?? []).some((r) => gatewayHostedHere(ctx, r));
}
