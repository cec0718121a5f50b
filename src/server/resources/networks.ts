/** networks: Neutron core + provider, external-net, port-security, net-mtu(-writable). */
import { ipPrefix, MAX_NETWORK_KEY, macPrefix, networkGuardKey, networkKeyKey, NETWORK_KEY_PREFIX, NETWORKS_PREFIX, PORTS_PREFIX, portKeyKey, resourceKey, segmentKey, segmentPrefix, SUBNETS_PREFIX } from '../../model/keys.js';
import type { NetworkRecord, NetworkType, PortRecord, StandardRecord, SubnetRecord } from '../../model/records.js';
import { bool, int, nullable, oneOf, standardAttributes, str } from '../attributes.js';
import { ENCAP_OVERHEAD, type ServerConfig } from '../config.js';
import type { RequestContext } from '../context.js';
import { Conflict, InvalidInput, NetworkInUse, NetworkNotFound, NoNetworkAvailable, SegmentInUse } from '../errors.js';
import { allocateInteger, claimInteger } from '../ipam.js';
import type { Input, PluginFactory, ResourcePlugin } from '../registry.js';
import type { Tx } from '../tx.js';

export const NETWORK_TYPES: readonly NetworkType[] = ['geneve', 'vxlan', 'vlan', 'flat', 'local'];
/** Device owners whose ports are removed with their network instead of blocking its deletion. */
export const AUTO_DELETE_DEVICE_OWNERS: readonly string[] = ['network:dhcp'];


/** Can ctx see the network (owner, shared, external, admin)? */
export function networkVisible(ctx: RequestContext, n: NetworkRecord): boolean {
  return ctx.isAdmin || n.project_id === ctx.projectId || n.shared || n['router:external'];
}

/** Can ctx attach ports to the network (owner, shared, admin)? */
export function networkUsable(ctx: RequestContext, n: NetworkRecord): boolean {
  return ctx.isAdmin || n.project_id === ctx.projectId || n.shared;
}

/** Read a network for use by ctx in this transaction (guarded); NetworkNotFound if not visible. */
export async function loadNetwork(tx: Tx, ctx: RequestContext, id: string): Promise<NetworkRecord> {
  const got = await tx.getJson<NetworkRecord>(resourceKey('networks', id));
  if (!got || !networkVisible(ctx, got.value)) throw new NetworkNotFound(id);
  return got.value;
}

function maxMtu(cfg: ServerConfig, type: NetworkType): number {
  return cfg.physicalMtu - (ENCAP_OVERHEAD[type] ?? 0);
}

interface Segment {
  readonly type: NetworkType;
  readonly physnet: string | null;
  readonly segId: number | null;
}

async function allocateSegment(tx: Tx, cfg: ServerConfig, input: Input, networkId: string): Promise<Segment> {
  const type = (input['provider:network_type'] as NetworkType | undefined) ?? cfg.tenantNetworkType;
  const physnet = (input['provider:physical_network'] as string | null | undefined) ?? null;
  const segId = (input['provider:segmentation_id'] as number | null | undefined) ?? null;
  const inUse = (): never => {
    if (type === 'vlan') throw new SegmentInUse('VlanIdInUse', `Unable to create the network. The VLAN ${segId} on physical network ${physnet} is in use.`);
    if (type === 'flat') throw new SegmentInUse('FlatNetworkInUse', `Unable to create the flat network. Physical network ${physnet} is in use.`);
    throw new SegmentInUse('TunnelIdInUse', `Unable to create the network. The tunnel ID ${segId} is in use.`);
  };
  switch (type) {
    case 'geneve':
    case 'vxlan': {
      if (physnet !== null) throw new InvalidInput(`provider:physical_network specified for ${type} network`);
      if (segId !== null) {
        if (segId < 1 || segId > 0xffffff) throw new InvalidInput(`${type} segmentation_id ${segId} out of range (1 through 16777215)`);
        if (!(await claimInteger(tx, segmentKey(type, null, segId), networkId))) inUse();
        return { type, physnet, segId };
      }
      const n = await allocateInteger(tx, segmentPrefix(type, null), cfg.segments[type], networkId);
      if (n === undefined) throw new NoNetworkAvailable();
      return { type, physnet, segId: n };
    }
    case 'vlan': {
      if (physnet === null) throw new InvalidInput('physical_network required for VLAN provider network');
      const ranges = cfg.segments.vlan[physnet];
      if (segId !== null) {
        if (segId < 1 || segId > 4094) throw new InvalidInput(`segmentation_id out of range (1 through 4094)`);
        if (!(await claimInteger(tx, segmentKey('vlan', physnet, segId), networkId))) inUse();
        return { type, physnet, segId };
      }
      if (!ranges) throw new InvalidInput(`physical_network '${physnet}' has no VLAN ranges configured`);
      const n = await allocateInteger(tx, segmentPrefix('vlan', physnet), ranges, networkId);
      if (n === undefined) throw new NoNetworkAvailable();
      return { type, physnet, segId: n };
    }
    case 'flat': {
      if (physnet === null) throw new InvalidInput('physical_network required for flat provider network');
      if (segId !== null) throw new InvalidInput('segmentation_id specified for flat provider network');
      if (!cfg.segments.flat.includes('*') && !cfg.segments.flat.includes(physnet)) throw new InvalidInput(`physical_network '${physnet}' unknown for flat provider network`);
      if (!(await claimInteger(tx, segmentKey('flat', physnet, 0), networkId))) inUse();
      return { type, physnet, segId: null };
    }
    case 'local':
      if (physnet !== null || segId !== null) throw new InvalidInput('provider attributes not allowed for local network');
      return { type, physnet: null, segId: null };
  }
  throw new InvalidInput(`network_type value '${String(type)}' not supported`);
}

function releaseSegment(tx: Tx, n: NetworkRecord): void {
  const type = n['provider:network_type'];
  if (type === 'local') return;
  tx.delete(segmentKey(type, n['provider:physical_network'], type === 'flat' ? 0 : (n['provider:segmentation_id'] ?? 0)));
}

export const networksPlugin: PluginFactory = (env) => {
  const cfg = env.config;
  const plugin: ResourcePlugin<NetworkRecord> = {
    collection: 'networks',
    member: 'network',
    prefix: NETWORKS_PREFIX,
    taggable: true,
    internalFields: ['key'],
    attributes: {
      ...standardAttributes(),
      admin_state_up: { allowPost: true, allowPut: true, default: true, convert: bool },
      status: { allowPost: false, allowPut: false },
      subnets: { allowPost: false, allowPut: false },
      shared: { allowPost: true, allowPut: true, default: false, convert: bool, adminOnlyWrite: true },
      'router:external': { allowPost: true, allowPut: true, default: false, convert: bool, adminOnlyWrite: true },
      mtu: { allowPost: true, allowPut: true, convert: int(68, 65535) },
      port_security_enabled: { allowPost: true, allowPut: true, default: true, convert: bool },
      'provider:network_type': { allowPost: true, allowPut: true, convert: oneOf(NETWORK_TYPES), adminOnlyWrite: true, adminOnlyRead: true },
      'provider:physical_network': { allowPost: true, allowPut: true, convert: nullable(str(64)), adminOnlyWrite: true, adminOnlyRead: true },
      'provider:segmentation_id': { allowPost: true, allowPut: true, convert: nullable(int(0, 0xffffff)), adminOnlyWrite: true, adminOnlyRead: true },
    },
    extensions: [
      { alias: 'provider', name: 'Provider Network', description: 'Expose mapping of virtual networks to physical networks' },
      { alias: 'external-net', name: 'Neutron external network', description: 'Adds external network attribute to network resource.' },
      { alias: 'net-mtu', name: 'Network MTU', description: 'Provides MTU attribute for a network resource.' },
      { alias: 'net-mtu-writable', name: 'Network MTU (writable)', description: 'Provides a writable MTU attribute for a network resource.' },
      { alias: 'port-security', name: 'Port Security', description: 'Provides port security' },
    ],
    notFound: (id) => new NetworkNotFound(id),
    canSee: (ctx, n) => networkVisible(ctx, n),

    async derive(tx, records) {
      const subnets = records.length === 0 ? [] : await tx.rangeJson<SubnetRecord>(SUBNETS_PREFIX);
      const byNet = new Map<string, string[]>();
      for (const s of subnets) byNet.set(s.network_id, [...(byNet.get(s.network_id) ?? []), s.id]);
      return (n) => ({ subnets: byNet.get(n.id) ?? [] });
    },

    async create(tx, _ctx, input, base): Promise<NetworkRecord> {
      const seg = await allocateSegment(tx, cfg, input, base.id);
      const max = maxMtu(cfg, seg.type);
      const mtu = (input.mtu as number | undefined) ?? max;
      if (mtu > max) throw new InvalidInput(`Requested MTU is too big, maximum is ${max}`);
      const key = await allocateInteger(tx, NETWORK_KEY_PREFIX, [[1, MAX_NETWORK_KEY]], base.id);
      if (key === undefined) throw new NoNetworkAvailable();
      tx.absent(networkGuardKey(base.id));
      tx.put(networkGuardKey(base.id), 'created');
      return {
        ...base,
        admin_state_up: input.admin_state_up as boolean,
        status: 'ACTIVE',
        shared: input.shared as boolean,
        'router:external': input['router:external'] as boolean,
        mtu,
        port_security_enabled: input.port_security_enabled as boolean,
        'provider:network_type': seg.type,
        'provider:physical_network': seg.physnet,
        'provider:segmentation_id': seg.segId,
        key,
      };
    },

    async update(tx, ctx, current, changes): Promise<NetworkRecord> {
      for (const a of ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'] as const) {
        if (a in changes && changes[a] !== current[a]) throw new InvalidInput('Plugin does not support updating provider attributes');
      }
      if (changes.mtu !== undefined && (changes.mtu as number) > maxMtu(cfg, current['provider:network_type'])) {
        throw new InvalidInput(`Requested MTU is too big, maximum is ${maxMtu(cfg, current['provider:network_type'])}`);
      }
      if (current.shared && changes.shared === false) {
        // Unsharing is refused while other projects have ports on the network.
        const guard = await tx.get(networkGuardKey(current.id));
        tx.guard(networkGuardKey(current.id), guard);
        const ports = await tx.rangeJson<PortRecord>(PORTS_PREFIX);
        if (ports.some((p) => p.network_id === current.id && p.project_id !== current.project_id)) {
          throw new Conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${current.id}. Multiple tenants are using it.`);
        }
      }
      void ctx;
      const next: Record<string, unknown> = { ...current };
      for (const k of ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'mtu', 'port_security_enabled']) {
        if (changes[k] !== undefined) next[k] = changes[k];
      }
      return next as unknown as NetworkRecord;
    },

    async delete(tx, _ctx, n): Promise<void> {
      // Guard: any port or subnet change on this network after these reads fails our commit.
      await tx.get(networkGuardKey(n.id));
      const ports = await tx.rangeJson<PortRecord>(PORTS_PREFIX, { where: { network_id: n.id } });
      if (ports.some((p) => !AUTO_DELETE_DEVICE_OWNERS.includes(p.device_owner))) throw new NetworkInUse(n.id);
      for (const p of ports) {
        tx.delete(resourceKey('ports', p.id));
        tx.delete(portKeyKey(p.key));
      }
      const subnets = await tx.rangeJson<SubnetRecord>(SUBNETS_PREFIX, { where: { network_id: n.id } });
      for (const s of subnets) {
        for (const kv of await tx.range(ipPrefix(s.id))) tx.delete(kv.key);
        tx.delete(resourceKey('subnets', s.id));
      }
      for (const kv of await tx.range(macPrefix(n.id))) tx.delete(kv.key);
      releaseSegment(tx, n);
      tx.delete(networkKeyKey(n.key));
      tx.delete(networkGuardKey(n.id));
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
