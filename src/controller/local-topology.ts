/**
 * Turn the cached north-bound records (+ what OVSDB says is plugged in here) into the
 * `LocalTopology` snapshot the flow compilers read. Pure.
 */
import type { ChassisRecord } from '../model/chassis.js';
import type {
  FloatingIpRecord,
  NetworkRecord,
  PortRecord,
  RouterRecord,
  SecurityGroupRecord,
  SecurityGroupRuleRecord,
  SubnetRecord,
} from '../model/records.js';
import { isRouterInterface } from '../model/collections.js';
import type { NbSnapshot } from './nb-cache.js';
import type {
  ChassisInfo,
  Encap,
  L3Mode,
  LocalBinding,
  LocalTopology,
  NetworkInfo,
  PortInfo,
  GroupMemberInfo,
  FloatingIpInfo,
  RouterInfo,
  RouterZones,
  SecurityGroupInfo,
  SecurityRuleInfo,
  SubnetInfo,
} from '../pipeline/topology.js';

export interface LocalFacts {
  readonly chassis: ChassisInfo;
  /** Neutron port id → ofport, for interfaces on br-int with an iface-id and an ofport. */
  readonly plugged: ReadonlyMap<string, number>;
  readonly tunnelOfport: Partial<Record<Encap, number>>;
  readonly l3Mode: L3Mode;
  /** Neutron port id → its conntrack zone (ports plugged here). */
  readonly ctZones?: ReadonlyMap<string, number>;
  /** physnet → ofport of its patch port on br-int. */
  readonly localnets?: ReadonlyMap<string, number>;
  /** Router id → its NAT zones here. */
  readonly routerZones?: ReadonlyMap<string, RouterZones>;
  /** External network id → learned neighbours (IPv4 → MAC). */
  readonly neighbours?: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export function networkInfo(n: NetworkRecord): NetworkInfo {
  const type = n['provider:network_type'];
  return {
    id: n.id,
    name: n.name,
    key: n.key,
    adminStateUp: n.admin_state_up,
    mtu: n.mtu,
    networkType: type === 'local' ? 'geneve' : type,
    segmentationId: n['provider:segmentation_id'] ?? undefined,
    physicalNetwork: n['provider:physical_network'] ?? undefined,
    external: n['router:external'],
  };
}

export function subnetInfo(s: SubnetRecord): SubnetInfo {
  return {
    id: s.id,
    name: s.name,
    networkId: s.network_id,
    ipVersion: s.ip_version,
    cidr: s.cidr,
    gatewayIp: s.gateway_ip,
    enableDhcp: s.enable_dhcp,
    dnsNameservers: s.dns_nameservers,
    hostRoutes: s.host_routes,
  };
}

export function portInfo(p: PortRecord): PortInfo {
  return {
    id: p.id,
    name: p.name,
    key: p.key,
    networkId: p.network_id,
    macAddress: p.mac_address,
    fixedIps: p.fixed_ips.map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
    adminStateUp: p.admin_state_up,
    portSecurityEnabled: p.port_security_enabled,
    allowedAddressPairs: p.allowed_address_pairs.map((a) => ({ ipAddress: a.ip_address, macAddress: a.mac_address })),
    deviceOwner: p.device_owner,
    deviceId: p.device_id,
    chassis: p['binding:host_id'] || undefined,
    extraDhcpOpts: p.extra_dhcp_opts.map((o) => ({ optName: o.opt_name, optValue: o.opt_value })),
    securityGroups: p.security_groups,
  };
}

export function ruleInfo(r: SecurityGroupRuleRecord): SecurityRuleInfo {
  const ethertype = r.ethertype === 'IPv6' ? 6 : 4;
  // Legacy `icmp` on an IPv6 rule means ICMPv6 (the server stores it normalised; older records may not be).
  const protocol = r.protocol_number === 1 && ethertype === 6 ? 58 : r.protocol_number;
  return {
    id: r.id,
    key: r.key,
    groupId: r.security_group_id,
    direction: r.direction,
    ethertype,
    protocol,
    portMin: r.port_range_min,
    portMax: r.port_range_max,
    remoteIpPrefix: r.remote_ip_prefix,
    remoteGroupId: r.remote_group_id,
  };
}

export function chassisInfo(c: ChassisRecord): ChassisInfo {
  return { name: c.name, tunnelIp: c.tunnel_ip, encap: c.encap, gateway: c.gateway };
}

/**
 * The compilers find what changed by object identity (see pipeline `affectedOwners`), so a
 * record that did not change must map to the very same info object: conversions are memoized
 * per record object (the cache replaces a record object whenever it changes).
 */
function memo<R extends object, I>(fn: (r: R) => I): (r: R) => I {
  const cache = new WeakMap<R, I>();
  return (r) => {
    let v = cache.get(r);
    if (v === undefined) cache.set(r, (v = fn(r)));
    return v;
  };
}
const networkInfoOf = memo(networkInfo);
const subnetInfoOf = memo(subnetInfo);
const portInfoOf = memo(portInfo);
const chassisInfoOf = memo(chassisInfo);
const ruleInfoOf = memo(ruleInfo);
/** A port plugged in here is ours even before the store says so (the bind is in flight). */
const localPortInfoOf = memo((_p: PortRecord) => new Map<string, PortInfo>());

function pluggedPortInfo(p: PortRecord, chassis: string): PortInfo {
  const base = portInfoOf(p);
  if (base.chassis === chassis) return base;
  const byChassis = localPortInfoOf(p);
  let v = byChassis.get(chassis);
  if (!v) byChassis.set(chassis, (v = { ...base, chassis }));
  return v;
}

export function buildLocalTopology(nb: NbSnapshot, facts: LocalFacts): LocalTopology {
  const networks = new Map<string, NetworkInfo>();
  for (const [id, n] of nb.networks) networks.set(id, networkInfoOf(n));
  const subnets = new Map<string, SubnetInfo>();
  for (const [id, s] of nb.subnets) if (networks.has(s.network_id)) subnets.set(id, subnetInfoOf(s));
  const ports = new Map<string, PortInfo>();
  const local = new Map<string, LocalBinding>();
  const remoteChassis = new Map<string, ChassisInfo>();
  for (const [id, p] of nb.ports) {
    if (!networks.has(p.network_id)) continue;
    const ofport = facts.plugged.get(id);
    const info = ofport !== undefined ? pluggedPortInfo(p, facts.chassis.name) : portInfoOf(p);
    ports.set(id, info);
    if (ofport !== undefined && ofport > 0) {
      const ctZone = facts.ctZones?.get(id);
      local.set(id, ctZone === undefined ? { portId: id, ofport } : { portId: id, ofport, ctZone });
    } else if (info.chassis && info.chassis !== facts.chassis.name) {
      const c = nb.chassis.get(info.chassis);
      if (c) remoteChassis.set(c.name, chassisInfoOf(c));
    }
  }
  const routers = new Map<string, RouterInfo>();
  const interfaces = new Map<string, string[]>();
  for (const p of nb.ports.values()) {
    if (!isRouterInterface(p) || !ports.has(p.id)) continue;
    let list = interfaces.get(p.device_id);
    if (!list) interfaces.set(p.device_id, (list = []));
    list.push(p.id);
  }
  for (const [id, r] of nb.routers) {
    routers.set(id, routerInfoOf(r, (interfaces.get(id) ?? []).sort()));
  }
  const { securityGroups, groupMembers } = securityOf(nb, ports, local);
  const floatingIps = new Map<string, FloatingIpInfo>();
  for (const [id, f] of nb.floatingIps) {
    const info = floatingIpInfoOf(f);
    if (info && local.has(info.portId)) floatingIps.set(id, info);
  }
  return {
    chassis: facts.chassis,
    remoteChassis,
    networks,
    subnets,
    ports,
    local,
    tunnelOfport: facts.tunnelOfport,
    routers,
    l3Mode: facts.l3Mode,
    securityGroups,
    groupMembers,
    localnets: facts.localnets,
    floatingIps,
    routerZones: facts.routerZones,
    neighbours: facts.neighbours,
  };
}

export function floatingIpInfo(f: FloatingIpRecord): FloatingIpInfo | undefined {
  if (f.key < 1 || f.port_id === null || f.fixed_ip_address === null || f.router_id === null) return undefined;
  return {
    id: f.id,
    key: f.key,
    address: f.floating_ip_address,
    networkId: f.floating_network_id,
    portId: f.port_id,
    fixedIp: f.fixed_ip_address,
    routerId: f.router_id,
  };
}
const floatingIpInfos = new WeakMap<FloatingIpRecord, FloatingIpInfo | null>();
function floatingIpInfoOf(f: FloatingIpRecord): FloatingIpInfo | undefined {
  let v = floatingIpInfos.get(f);
  if (v === undefined) floatingIpInfos.set(f, (v = floatingIpInfo(f) ?? null));
  return v ?? undefined;
}

/**
 * The groups of the local ports (with their rules) and the members of the remote groups their
 * rules name (with their addresses). Memoized, so unchanged groups and members keep identity.
 */
function securityOf(
  nb: NbSnapshot,
  ports: ReadonlyMap<string, PortInfo>,
  local: ReadonlyMap<string, LocalBinding>,
): { securityGroups: Map<string, SecurityGroupInfo>; groupMembers: Map<number, GroupMemberInfo> } {
  const rulesByGroup = new Map<string, SecurityRuleInfo[]>();
  for (const r of nb.securityGroupRules.values()) {
    let l = rulesByGroup.get(r.security_group_id);
    if (!l) rulesByGroup.set(r.security_group_id, (l = []));
    l.push(ruleInfoOf(r));
  }
  const securityGroups = new Map<string, SecurityGroupInfo>();
  const remoteIds = new Set<string>();
  for (const id of local.keys()) {
    for (const gid of ports.get(id)?.securityGroups ?? []) {
      if (securityGroups.has(gid)) continue;
      const g = nb.securityGroups.get(gid);
      if (!g) continue;
      const rules = (rulesByGroup.get(gid) ?? []).sort((a, b) => a.key - b.key);
      securityGroups.set(gid, groupInfoOf(g, rules));
      for (const r of rules) if (r.remoteGroupId !== null) remoteIds.add(r.remoteGroupId);
    }
  }
  const groupMembers = new Map<number, GroupMemberInfo>();
  if (remoteIds.size > 0) {
    for (const p of nb.ports.values()) {
      const groups = p.security_groups.filter((g) => remoteIds.has(g));
      if (groups.length > 0) groupMembers.set(p.key, memberInfoOf(p, groups.sort()));
    }
  }
  return { securityGroups, groupMembers };
}

const groupInfos = new WeakMap<SecurityGroupRecord, { rules: readonly SecurityRuleInfo[]; info: SecurityGroupInfo }>();
function groupInfoOf(g: SecurityGroupRecord, rules: readonly SecurityRuleInfo[]): SecurityGroupInfo {
  const hit = groupInfos.get(g);
  if (hit && hit.rules.length === rules.length && hit.rules.every((r, i) => r === rules[i])) return hit.info;
  const info: SecurityGroupInfo = { id: g.id, name: g.name, key: g.key, stateful: g.stateful, rules };
  groupInfos.set(g, { rules, info });
  return info;
}

/** A member's info per (port record, its remote groups here). */
const memberInfos = new WeakMap<PortRecord, { groups: string; info: GroupMemberInfo }>();
function memberInfoOf(p: PortRecord, groups: readonly string[]): GroupMemberInfo {
  const text = groups.join(',');
  const hit = memberInfos.get(p);
  if (hit && hit.groups === text) return hit.info;
  const addresses = [...new Set([...p.fixed_ips.map((f) => f.ip_address), ...p.allowed_address_pairs.map((a) => a.ip_address)])].sort();
  const info: GroupMemberInfo = { key: p.key, portId: p.id, groups, addresses };
  memberInfos.set(p, { groups: text, info });
  return info;
}

/** Router info memoized per (record object, interface list) so unchanged routers keep identity. */
const routerInfos = new WeakMap<RouterRecord, { ifaces: string; info: RouterInfo }>();
function routerInfoOf(r: RouterRecord, ifaces: readonly string[]): RouterInfo {
  const key = ifaces.join(',');
  const hit = routerInfos.get(r);
  if (hit && hit.ifaces === key) return hit.info;
  const g = r.external_gateway_info;
  const gateway =
    g && r.gw_port_id !== null ? { portId: r.gw_port_id, networkId: g.network_id, enableSnat: g.enable_snat } : undefined;
  const info: RouterInfo = {
    id: r.id,
    name: r.name,
    key: r.key,
    adminStateUp: r.admin_state_up,
    routes: r.routes,
    interfaces: ifaces,
    ...(gateway ? { gateway } : {}),
  };
  routerInfos.set(r, { ifaces: key, info });
  return info;
}
