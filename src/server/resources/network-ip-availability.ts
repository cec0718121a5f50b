/**
 * network-ip-availability: per network (and per subnet) the number of addresses in the
 * allocation pools (`total_ips`) and how many of them are allocated (`used_ips`), computed from
 * the subnets and the address index (`/ipam/ip/<subnet>/`) at request time. Admin only (other
 * projects list none and get 404), as in Neutron. IPv6 totals exceed 2^53: they are BigInts,
 * written as exact JSON numbers.
 */
import { parseIp } from '../../model/ip-address.js';
import { ipPrefix, NETWORKS_PREFIX, SUBNETS_PREFIX } from '../../model/keys.js';
import type { NetworkRecord, StandardRecord, SubnetRecord } from '../../model/records.js';
import { ResourceNotFound } from '../errors.js';
import type { PluginFactory, ResourcePlugin } from '../registry.js';
import type { Tx } from '../tx.js';

export class NetworkIpAvailabilityNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('NetworkNotFound', `Network ${id} could not be found.`);
  }
}

interface SubnetAvailability {
  readonly subnet_id: string;
  readonly subnet_name: string;
  readonly cidr: string;
  readonly ip_version: 4 | 6;
  readonly total_ips: bigint;
  readonly used_ips: bigint;
}

async function subnetAvailability(tx: Tx, s: SubnetRecord): Promise<SubnetAvailability> {
  const pools = s.allocation_pools.map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }));
  const total = pools.reduce((n, p) => n + (p.end - p.start + 1n), 0n);
  const prefix = ipPrefix(s.id);
  let used = 0n;
  for (const kv of await tx.range(prefix)) {
    const v = parseIp(kv.key.slice(prefix.length))?.value;
    if (v !== undefined && pools.some((p) => p.start <= v && v <= p.end)) used++;
  }
  return { subnet_id: s.id, subnet_name: s.name, cidr: s.cidr, ip_version: s.ip_version, total_ips: total, used_ips: used };
}

export const networkIpAvailabilityPlugin: PluginFactory = () => {
  const ro = { allowPost: false, allowPut: false };
  const plugin: ResourcePlugin = {
    collection: 'network-ip-availabilities',
    member: 'network_ip_availability',
    bodyCollection: 'network_ip_availabilities',
    prefix: `${NETWORKS_PREFIX}`,
    internalFields: ['id', 'name', 'description', 'tags', 'created_at', 'updated_at', 'revision_number'],
    readOnly: { create: true, update: true, delete: true },
    attributes: {
      network_id: ro,
      network_name: ro,
      project_id: ro,
      tenant_id: ro,
      total_ips: ro,
      used_ips: ro,
      subnet_ip_availability: ro,
    },
    extensions: [{ alias: 'network-ip-availability', name: 'Network IP Availability', description: 'Provides IP availability data for each network and subnet.' }],
    filters: {
      ip_version: (o, wanted) => ((o.subnet_ip_availability as SubnetAvailability[]) ?? []).some((s) => wanted.includes(String(s.ip_version))),
    },
    notFound: (id) => new NetworkIpAvailabilityNotFound(id),
    canSee: () => false, // admin only

    async computeRecords(tx) {
      const nets = await tx.rangeJson<NetworkRecord>(NETWORKS_PREFIX);
      const subnets = await tx.rangeJson<SubnetRecord>(SUBNETS_PREFIX);
      const out: StandardRecord[] = [];
      for (const n of nets) {
        const subs = await Promise.all(subnets.filter((s) => s.network_id === n.id).map((s) => subnetAvailability(tx, s)));
        out.push({
          id: n.id,
          name: n.name,
          description: '',
          project_id: n.project_id,
          tags: [],
          created_at: n.created_at,
          updated_at: n.updated_at,
          revision_number: 0,
          network_id: n.id,
          network_name: n.name,
          total_ips: subs.reduce((a, s) => a + s.total_ips, 0n),
          used_ips: subs.reduce((a, s) => a + s.used_ips, 0n),
          subnet_ip_availability: subs,
        } as StandardRecord);
      }
      return out;
    },
    async create() {
      throw new NetworkIpAvailabilityNotFound('');
    },
    async update(_tx, _ctx, current) {
      return current;
    },
    async delete() {},
  };
  return plugin;
};
