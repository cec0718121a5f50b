/**
 * Turn the cached north-bound records (+ what OVSDB says is plugged in here) into the
 * `LocalTopology` snapshot the flow compilers read. Pure.
 */
import type { ChassisRecord } from '../model/chassis.js';
import type { NetworkRecord, PortRecord, RouterRecord, SubnetRecord } from '../model/records.js';
import { isRouterInterface } from '../model/subjects.js';
import type { NbSnapshot } from './nb-cache.js';
import type {
  ChassisInfo,
  Encap,
  L3Mode,
  LocalBinding,
  LocalTopology,
  NetworkInfo,
  PortInfo,
  RouterInfo,
  SubnetInfo,
} from '../pipeline/topology.js';

export interface LocalFacts {
  readonly chassis: ChassisInfo;
  /** Neutron port id → ofport, for interfaces on br-int with an iface-id and an ofport. */
  readonly plugged: ReadonlyMap<string, number>;
  readonly tunnelOfport: Partial<Record<Encap, number>>;
  readonly l3Mode: L3Mode;
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
      local.set(id, { portId: id, ofport });
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
  };
}

/** Router info memoized per (record object, interface list) so unchanged routers keep identity. */
const routerInfos = new WeakMap<RouterRecord, { ifaces: string; info: RouterInfo }>();
function routerInfoOf(r: RouterRecord, ifaces: readonly string[]): RouterInfo {
  const key = ifaces.join(',');
  const hit = routerInfos.get(r);
  if (hit && hit.ifaces === key) return hit.info;
  const info: RouterInfo = { id: r.id, name: r.name, key: r.key, adminStateUp: r.admin_state_up, routes: r.routes, interfaces: ifaces };
  routerInfos.set(r, { ifaces: key, info });
  return info;
}
