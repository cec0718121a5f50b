/** subnets: cidr, gateway, allocation pools, DHCP options; IPv4 fully, IPv6 validated. */
import { cidrContains, cidrsOverlap, formatIp, parseCidr, parseIp, usableRange, type Cidr } from '../../model/ip-address.js';
import { ipPrefix, NETWORKS_PREFIX, networkGuardKey, resourceKey, SUBNETS_PREFIX, subnetPoolGuardKey } from '../../model/keys.js';
import type { AllocationPool, HostRoute, NetworkRecord, PortRecord, StandardRecord, SubnetPoolRecord, SubnetRecord } from '../../model/records.js';
import { bool, dict, int, ipAddress, listOf, nullable, oneOf, standardAttributes, uuid, type Converter } from '../attributes.js';
import type { RequestContext } from '../context.js';
import {
  GatewayConflictWithAllocationPools,
  InvalidAllocationPool,
  InvalidInput,
  invalidAttribute,
  NeutronFault,
  OutOfBoundsAllocationPool,
  OverlappingAllocationPools,
  PolicyNotAuthorized,
  SubnetInUse,
  SubnetNotFound,
} from '../errors.js';
import type { Input, PluginFactory, ResourcePlugin } from '../registry.js';
import type { Tx } from '../tx.js';
import { isRouterInterface } from '../../model/subjects.js';
import { ResourceBadRequest } from '../l3-errors.js';
import { allocateFromPool, defaultSubnetPool, loadSubnetPool } from './subnetpools.js';
import { timestamp } from '../time.js';
import { AUTO_DELETE_DEVICE_OWNERS, loadNetwork, networkVisible } from './networks.js';

const IPV6_MODES = ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'];

/** A CIDR as Neutron validates it: host bits must be clear. */
const strictCidr: Converter = (v, attr) => {
  const c = parseCidr(v);
  if (!c) throw invalidAttribute(attr, `'${String(v)}' is not a valid IP subnet`);
  const text = `${formatIp(c.version, c.network)}/${c.prefixLen}`;
  const given = String(v);
  const givenIp = parseIp(given.slice(0, given.indexOf('/')));
  if (givenIp && givenIp.value !== c.network) {
    throw invalidAttribute(attr, `'${given}' isn't a recommended CIDR, should be ${text}`);
  }
  return text;
};

const poolsConverter = listOf(dict({ start: { convert: ipAddress, required: true }, end: { convert: ipAddress, required: true } }));
const routesConverter = listOf(dict({ destination: { convert: strictCidr, required: true }, nexthop: { convert: ipAddress, required: true } }), { unique: true });

/** Read a subnet (guarded); SubnetNotFound if missing. */
export async function loadSubnet(tx: Tx, id: string): Promise<SubnetRecord> {
  const got = await tx.getJson<SubnetRecord>(resourceKey('subnets', id));
  if (!got) throw new SubnetNotFound(id);
  return got.value;
}

/** Subnets of a network (unguarded read; guard the ones you use with loadSubnet). */
export async function subnetsOfNetwork(tx: Tx, networkId: string): Promise<SubnetRecord[]> {
  return (await tx.rangeJson<SubnetRecord>(SUBNETS_PREFIX, { where: { network_id: networkId } })).sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
}

/** SLAAC and DHCPv6-stateless subnets: every port gets its EUI-64 address automatically. */
export function isAutoAddressSubnet(s: SubnetRecord): boolean {
  return s.ipv6_address_mode === 'slaac' || s.ipv6_address_mode === 'dhcpv6-stateless';
}

/** A subnet added or removed changes its network (Neutron bumps the parent's revision). */
function touchNetwork(tx: Tx, net: NetworkRecord): void {
  tx.putJson(resourceKey('networks', net.id), { ...net, revision_number: net.revision_number + 1, updated_at: timestamp() });
}

function poolText(p: AllocationPool): string {
  return `${p.start}-${p.end}`;
}

/** Validate pools against the cidr and gateway (Neutron's checks and faults). */
function checkPools(c: Cidr, cidrText: string, pools: readonly AllocationPool[], gateway: string | null): void {
  const ranges = pools.map((p) => {
    const s = parseIp(p.start)!;
    const e = parseIp(p.end)!;
    if (s.version !== c.version || e.version !== c.version || s.value > e.value) throw new InvalidAllocationPool(poolText(p));
    const { first, last } = usableRange(c);
    if (!cidrContains(c, s) || !cidrContains(c, e)) throw new OutOfBoundsAllocationPool(poolText(p), cidrText);
    if (c.version === 4 && (s.value < first || e.value > last)) throw new OutOfBoundsAllocationPool(poolText(p), cidrText);
    return { p, s: s.value, e: e.value };
  });
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (ranges[i].s <= ranges[j].e && ranges[j].s <= ranges[i].e) {
        throw new OverlappingAllocationPools(poolText(ranges[i].p), poolText(ranges[j].p), cidrText);
      }
    }
  }
  if (gateway !== null) {
    const g = parseIp(gateway)!.value;
    const hit = ranges.find((r) => r.s <= g && g <= r.e);
    if (hit) throw new GatewayConflictWithAllocationPools(gateway, poolText(hit.p));
  }
}

function checkGateway(c: Cidr, cidrText: string, gateway: string): void {
  const g = parseIp(gateway)!;
  if (g.version !== c.version) throw new InvalidInput(`gateway_ip ${gateway} does not match the ip_version of ${cidrText}`);
  if (!cidrContains(c, g)) throw new InvalidInput(`Gateway IP ${gateway} is not in subnet ${cidrText}`);
  const { first, last } = usableRange(c);
  if (c.version === 4 && (g.value < first || g.value > last)) throw new InvalidInput(`Gateway is not valid on subnet`);
}

/** All usable addresses except the gateway, as at most two pools. */
function defaultPools(c: Cidr, gateway: string | null): AllocationPool[] {
  const { first, last } = usableRange(c);
  const g = gateway === null ? undefined : parseIp(gateway)!.value;
  const mk = (a: bigint, b: bigint): AllocationPool => ({ start: formatIp(c.version, a), end: formatIp(c.version, b) });
  if (g === undefined || g < first || g > last) return first <= last ? [mk(first, last)] : [];
  const out: AllocationPool[] = [];
  if (g > first) out.push(mk(first, g - 1n));
  if (g < last) out.push(mk(g + 1n, last));
  return out;
}

function checkVersions(c: Cidr, input: Input, cidrText: string): void {
  for (const ns of (input.dns_nameservers as string[] | undefined) ?? []) {
    if (parseIp(ns)!.version !== c.version) {
      // Neutron allows mixed-family name servers; nothing to check beyond syntax.
      void ns;
    }
  }
  for (const r of (input.host_routes as HostRoute[] | undefined) ?? []) {
    const d = parseCidr(r.destination)!;
    const nh = parseIp(r.nexthop)!;
    if (d.version !== c.version || nh.version !== c.version) throw new InvalidInput(`host route ${r.destination} via ${r.nexthop} does not match the ip_version of ${cidrText}`);
  }
}

export const subnetsPlugin: PluginFactory = (env) => {
  const hooks = env.hooks;
  void hooks;
  const plugin: ResourcePlugin<SubnetRecord> = {
    collection: 'subnets',
    member: 'subnet',
    prefix: SUBNETS_PREFIX,
    taggable: true,
    attributes: {
      ...standardAttributes(),
      network_id: { allowPost: true, allowPut: false, required: true, convert: uuid },
      ip_version: { allowPost: true, allowPut: false, required: true, convert: (v, a) => { const n = int(4, 6)(v, a); if (n !== 4 && n !== 6) throw invalidAttribute(a, `${String(v)} is not in [4, 6]`); return n; } },
      // Required unless the subnet is allocated from a subnet pool.
      cidr: { allowPost: true, allowPut: false, convert: strictCidr },
      prefixlen: { allowPost: true, allowPut: false, convert: int(0, 128) },
      use_default_subnetpool: { allowPost: true, allowPut: false, default: false, convert: bool },
      shared: { allowPost: false, allowPut: false },
      gateway_ip: { allowPost: true, allowPut: true, convert: nullable(ipAddress) },
      allocation_pools: { allowPost: true, allowPut: true, convert: poolsConverter },
      enable_dhcp: { allowPost: true, allowPut: true, default: true, convert: bool },
      dns_nameservers: { allowPost: true, allowPut: true, default: [], convert: listOf(ipAddress, { unique: true }) },
      host_routes: { allowPost: true, allowPut: true, default: [], convert: routesConverter },
      ipv6_ra_mode: { allowPost: true, allowPut: false, default: null, convert: nullable(oneOf(IPV6_MODES)) },
      ipv6_address_mode: { allowPost: true, allowPut: false, default: null, convert: nullable(oneOf(IPV6_MODES)) },
      subnetpool_id: { allowPost: true, allowPut: false, default: null, convert: nullable(uuid) },
    },
    // `shared` is not shown on subnets (Neutron keeps it invisible) but filters by the network's.
    storeFilters: {
      async shared(tx, wanted) {
        const want = wanted.map((w) => w.toLowerCase() === 'true' || w === '1');
        const nets = new Map((await tx.rangeJson<NetworkRecord>(NETWORKS_PREFIX)).map((n) => [n.id, n.shared]));
        return (o) => want.includes(nets.get(o.network_id as string) === true);
      },
    },
    notFound: (id) => new SubnetNotFound(id),
    async canSee(ctx: RequestContext, s: SubnetRecord, tx: Tx) {
      if (s.project_id === ctx.projectId) return true;
      const n = await tx.peekJsonCached<NetworkRecord>(resourceKey('networks', s.network_id));
      // Not the subnets of a network that is only external (Neutron hides them from other
      // projects unless the network is also shared).
      return n !== undefined && (n.shared || n.project_id === ctx.projectId) && networkVisible(ctx, n);
    },

    async create(tx, ctx, input, base): Promise<SubnetRecord> {
      const net = await loadNetwork(tx, ctx, input.network_id as string);
      if (!ctx.isAdmin && net.project_id !== ctx.projectId) throw new PolicyNotAuthorized('create_subnet');
      const version = input.ip_version as 4 | 6;
      let pool: SubnetPoolRecord | undefined;
      if (input.subnetpool_id !== null) pool = await loadSubnetPool(tx, ctx, input.subnetpool_id as string);
      else if (input.use_default_subnetpool === true) {
        pool = await defaultSubnetPool(tx, ctx, version);
        if (!pool) throw new ResourceBadRequest('subnets', `No default subnetpool found for IPv${version}`);
      }
      if (!pool && input.cidr === undefined) throw new ResourceBadRequest('subnets', 'A cidr must be specified in the absence of a subnet pool');
      if (pool && pool.ip_version !== version) throw new ResourceBadRequest('subnets', `Cannot allocate IPv${version} subnet from IPv${pool.ip_version} subnet pool`);
      if (input.cidr !== undefined && parseCidr(input.cidr)!.version !== version) throw new InvalidInput(`Cidr ${input.cidr as string} does not match the ip_version ${version}`);
      // Neutron's network/subnet-pool affinity: the subnets of one IP version on a network all
      // come from the same pool (or none).
      const siblings = (await subnetsOfNetwork(tx, net.id)).filter((o) => o.ip_version === version);
      if (siblings.some((o) => o.subnetpool_id !== (pool?.id ?? null))) {
        throw new NeutronFault(400, 'NetworkSubnetPoolAffinityError', 'Subnets hosted on the same network must be allocated from the same subnet pool.');
      }
      const cidrText = pool ? await allocateFromPool(tx, pool, base.project_id, input.cidr as string | undefined, input.prefixlen as number | undefined) : (input.cidr as string);
      const c = parseCidr(cidrText)!;
      if (version === 4 && c.prefixLen > 30) throw new InvalidInput(`${cidrText} is too small: IPv4 subnets need a prefix length of at most 30`);
      if (version === 6 && c.prefixLen > 126) throw new InvalidInput(`${cidrText} is too small: IPv6 subnets need a prefix length of at most 126`);
      const ra = input.ipv6_ra_mode as string | null;
      const am = input.ipv6_address_mode as string | null;
      if (version === 4 && (ra !== null || am !== null)) throw new InvalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4');
      if (ra !== null && am !== null && ra !== am) throw new InvalidInput(`ipv6_ra_mode set to '${ra}' with ipv6_address_mode set to '${am}' is not valid`);
      if ((am === 'slaac' || am === 'dhcpv6-stateless' || ra === 'slaac' || ra === 'dhcpv6-stateless') && c.prefixLen !== 64) {
        throw new InvalidInput(`Invalid CIDR ${cidrText} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64`);
      }
      checkVersions(c, input, cidrText);
      // Overlap check: the guard makes concurrent subnet creates on this network conflict.
      const guardKey = networkGuardKey(net.id);
      await tx.get(guardKey);
      tx.put(guardKey, base.id);
      for (const other of await subnetsOfNetwork(tx, net.id)) {
        if (cidrsOverlap(parseCidr(other.cidr)!, c)) {
          throw new InvalidInput(`Requested subnet with cidr: ${cidrText} for network: ${net.id} overlaps with another subnet`);
        }
      }
      let gateway: string | null;
      if (input.gateway_ip === undefined) gateway = formatIp(version, usableRange(c).first);
      else gateway = input.gateway_ip as string | null;
      if (gateway !== null) checkGateway(c, cidrText, gateway);
      const pools = (input.allocation_pools as AllocationPool[] | undefined) ?? defaultPools(c, gateway);
      checkPools(c, cidrText, pools, gateway);
      touchNetwork(tx, net);
      return {
        ...base,
        network_id: net.id,
        ip_version: version,
        cidr: cidrText,
        gateway_ip: gateway,
        allocation_pools: pools,
        enable_dhcp: input.enable_dhcp as boolean,
        dns_nameservers: input.dns_nameservers as string[],
        host_routes: input.host_routes as HostRoute[],
        ipv6_ra_mode: ra,
        ipv6_address_mode: am,
        subnetpool_id: pool?.id ?? null,
      };
    },

    async update(_tx, _ctx, current, changes): Promise<SubnetRecord> {
      const c = parseCidr(current.cidr)!;
      checkVersions(c, changes, current.cidr);
      const gateway = changes.gateway_ip === undefined ? current.gateway_ip : (changes.gateway_ip as string | null);
      if (gateway !== null && changes.gateway_ip !== undefined) checkGateway(c, current.cidr, gateway);
      const pools = (changes.allocation_pools as AllocationPool[] | undefined) ?? current.allocation_pools;
      if (changes.allocation_pools !== undefined || changes.gateway_ip !== undefined) checkPools(c, current.cidr, pools, gateway);
      const next: Record<string, unknown> = { ...current, gateway_ip: gateway, allocation_pools: pools };
      for (const k of ['name', 'description', 'enable_dhcp', 'dns_nameservers', 'host_routes']) {
        if (changes[k] !== undefined) next[k] = changes[k];
      }
      return next as unknown as SubnetRecord;
    },

    async delete(tx, _ctx, s): Promise<void> {
      const guardKey = networkGuardKey(s.network_id);
      await tx.get(guardKey);
      tx.put(guardKey, `-${s.id}`);
      if (s.subnetpool_id !== null) tx.put(subnetPoolGuardKey(s.subnetpool_id), `-${s.id}`);
      const net = await tx.getJson<NetworkRecord>(resourceKey('networks', s.network_id));
      if (net) touchNetwork(tx, net.value);
      const allocations = await tx.range(ipPrefix(s.id));
      const ports = new Map<string, PortRecord>();
      for (const kv of allocations) {
        if (ports.has(kv.value)) continue;
        const p = await tx.getJson<PortRecord>(resourceKey('ports', kv.value));
        if (!p) continue;
        // Addresses Neutron hands out by itself go with the subnet: a DHCP port's, and every
        // non-router port's address on a SLAAC / DHCPv6-stateless subnet.
        const automatic = isAutoAddressSubnet(s) && !isRouterInterface(p.value);
        if (!automatic && !AUTO_DELETE_DEVICE_OWNERS.includes(p.value.device_owner)) throw new SubnetInUse(s.id);
        ports.set(kv.value, p.value);
      }
      for (const p of ports.values()) {
        tx.putJson(resourceKey('ports', p.id), { ...p, fixed_ips: p.fixed_ips.filter((f) => f.subnet_id !== s.id), revision_number: p.revision_number + 1, updated_at: timestamp() });
      }
      for (const kv of allocations) tx.delete(kv.key);
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
