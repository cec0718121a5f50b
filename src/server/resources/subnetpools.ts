/**
 * subnetpools (subnet_allocation, default-subnetpools, subnetpool-prefix-ops): address space
 * that subnets are allocated from, by prefix length (`prefixlen`, default `default_prefixlen`)
 * or by a cidr inside the pool. Neutron's semantics and faults:
 * - prefixes: one IP version (PrefixVersionMismatch), merged; an update may only grow them
 *   (IllegalSubnetPoolPrefixUpdate); `add_prefixes` / `remove_prefixes` change them in place
 *   (a prefix holding allocated subnets cannot be removed).
 * - min_prefixlen (default 8 / 64) <= default_prefixlen (default min) <= max_prefixlen
 *   (default 32 / 128), else IllegalSubnetPoolPrefixBounds.
 * - default_quota: addresses (IPv4) or /64s (IPv6) per project; allocations beyond it →
 *   409 SubnetPoolQuotaExceeded.
 * - shared and is_default: only admins set them true; shared cannot change; one default pool per
 *   IP version.
 * - Visible to its project, to all when shared, to admins. Delete while subnets were allocated
 *   from it → 409 SubnetPoolInUse.
 * Allocation from a pool reads and writes the pool's guard key, so concurrent allocations never
 * take overlapping prefixes (one of them re-runs and sees the other's subnet).
 */
import { bits, formatCidr, parseCidr, type Cidr } from '../../model/ip-address.js';
import { IpSet } from '../../model/ip-set.js';
import { defaultSubnetPoolKey, resourceKey, SUBNETPOOLS_PREFIX, SUBNETS_PREFIX, subnetPoolGuardKey } from '../../model/keys.js';
import type { StandardRecord, SubnetPoolRecord, SubnetRecord } from '../../model/records.js';
import { bool, int, nullable, standardAttributes, str, type Converter } from '../attributes.js';
import type { RequestContext } from '../context.js';
import { Conflict, InvalidInput, invalidAttribute, NeutronFault, PolicyNotAuthorized, ResourceNotFound } from '../errors.js';
import { ResourceBadRequest } from '../l3-errors.js';
import type { PluginFactory, ResourcePlugin } from '../registry.js';
import type { Tx } from '../tx.js';

export class SubnetPoolNotFound extends ResourceNotFound {
  constructor(id: string) {
    super('SubnetPoolNotFound', `Subnet pool ${id} could not be found.`);
  }
}
class BadRequestFault extends NeutronFault {
  constructor(type: string, message: string) {
    super(400, type, message);
  }
}
export class SubnetPoolInUse extends Conflict {
  constructor(id: string, reason: string) {
    super('SubnetPoolInUse', `Unable to complete operation on subnet pool ${id}. ${reason}.`);
  }
}
export class SubnetPoolQuotaExceeded extends Conflict {
  constructor() {
    super('SubnetPoolQuotaExceeded', 'Per-tenant subnet pool prefix quota exceeded.');
  }
}
/** No room, or the requested cidr is taken (Neutron's SubnetAllocationError, here a 409). */
export class SubnetAllocationError extends Conflict {
  constructor(reason: string) {
    super('SubnetAllocationError', `Failed to allocate subnet: ${reason}.`);
  }
}

const prefixBounds = (type: string, len: number, baseType: string, baseLen: number): NeutronFault =>
  new BadRequestFault('IllegalSubnetPoolPrefixBounds', `Illegal prefix bounds: ${type}=${len}, ${baseType}=${baseLen}.`);
const prefixUpdate = (msg: string): NeutronFault => new BadRequestFault('IllegalSubnetPoolPrefixUpdate', `Illegal update to prefixes: ${msg}.`);

/** A list of CIDRs (host bits are cleared, as netaddr does), at least one. */
const prefixList: Converter = (v, attr) => {
  if (!Array.isArray(v)) throw invalidAttribute(attr, `'${JSON.stringify(v)}' is not a list`);
  return v.map((x) => {
    const c = parseCidr(x);
    if (!c) throw invalidAttribute(attr, `'${String(x)}' is not a valid IP subnet`);
    return formatCidr(c);
  });
};

/** Parse and merge prefixes of one IP version. */
function prefixSet(texts: readonly string[]): IpSet {
  if (texts.length === 0) throw new BadRequestFault('EmptySubnetPoolPrefixList', 'Empty subnet pool prefix list.');
  const cidrs = texts.map((t) => parseCidr(t)!);
  const version = cidrs[0].version;
  if (cidrs.some((c) => c.version !== version)) throw new BadRequestFault('PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
  return IpSet.of(version, cidrs);
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly def: number;
}

function checkBounds(version: 4 | 6, b: Bounds): void {
  const width = bits(version);
  if (b.max > width) throw prefixBounds('max_prefixlen', b.max, 'ip_version_max', width);
  if (b.min > b.max) throw prefixBounds('min_prefixlen', b.min, 'max_prefixlen', b.max);
  if (b.def < b.min) throw prefixBounds('default_prefixlen', b.def, 'min_prefixlen', b.min);
  if (b.def > b.max) throw prefixBounds('default_prefixlen', b.def, 'max_prefixlen', b.max);
}

export function subnetPoolVisible(ctx: RequestContext, p: SubnetPoolRecord): boolean {
  return ctx.isAdmin || p.project_id === ctx.projectId || p.shared;
}

/** Guarded read of a pool usable by ctx; SubnetPoolNotFound otherwise. */
export async function loadSubnetPool(tx: Tx, ctx: RequestContext, id: string): Promise<SubnetPoolRecord> {
  const got = await tx.getJson<SubnetPoolRecord>(resourceKey('subnetpools', id));
  if (!got || !subnetPoolVisible(ctx, got.value)) throw new SubnetPoolNotFound(id);
  return got.value;
}

/** The default pool of an IP version, if there is one. */
export async function defaultSubnetPool(tx: Tx, ctx: RequestContext, version: 4 | 6): Promise<SubnetPoolRecord | undefined> {
  const kv = await tx.get(defaultSubnetPoolKey(version));
  return kv ? loadSubnetPool(tx, ctx, kv.value) : undefined;
}

/** Subnets allocated from the pool (read after the pool's guard). */
async function poolSubnets(tx: Tx, poolId: string): Promise<SubnetRecord[]> {
  await tx.get(subnetPoolGuardKey(poolId));
  return (await tx.rangeJson<SubnetRecord>(SUBNETS_PREFIX)).filter((s) => s.subnetpool_id === poolId);
}

/** Quota units of a prefix: addresses for IPv4, /64s for IPv6. */
function quotaUnits(c: Cidr): bigint {
  return c.version === 4 ? 1n << BigInt(32 - c.prefixLen) : c.prefixLen >= 64 ? 1n : 1n << BigInt(64 - c.prefixLen);
}

/**
 * Allocate a cidr for a new subnet of `projectId` from `pool`: `cidr` if given (inside the pool,
 * free), else the first free block of `prefixlen` (default: the pool's default_prefixlen).
 * Claims the pool's guard; returns the canonical cidr text.
 */
export async function allocateFromPool(tx: Tx, pool: SubnetPoolRecord, projectId: string, cidr: string | undefined, prefixlen: number | undefined): Promise<string> {
  const wanted = cidr !== undefined ? parseCidr(cidr)! : undefined;
  const len = wanted?.prefixLen ?? prefixlen ?? pool.default_prefixlen;
  if (len < pool.min_prefixlen) {
    throw new BadRequestFault('MinPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${len}, minimum allowed prefix is ${pool.min_prefixlen}.`);
  }
  if (len > pool.max_prefixlen) {
    throw new BadRequestFault('MaxPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${len}, maximum allowed prefix is ${pool.max_prefixlen}.`);
  }
  const subnets = await poolSubnets(tx, pool.id);
  tx.put(subnetPoolGuardKey(pool.id), `+${projectId}`);
  const space = IpSet.parse(pool.ip_version, pool.prefixes)!;
  const used = IpSet.of(pool.ip_version, subnets.map((s) => parseCidr(s.cidr)!));
  let block: Cidr | undefined;
  if (wanted) {
    const w = IpSet.of(pool.ip_version, [wanted]);
    if (!space.containsAll(w)) throw new ResourceBadRequest('subnets', `Cidr ${formatCidr(wanted)} is not within the prefixes of subnet pool ${pool.id}`);
    if (used.intersects(w)) throw new SubnetAllocationError(`Cannot allocate requested subnet ${formatCidr(wanted)} from the available set of prefixes`);
    block = wanted;
  } else {
    block = space.difference(used).firstBlock(len);
    if (!block) throw new SubnetAllocationError(`Insufficient prefix space to allocate subnet size /${len}`);
  }
  if (pool.default_quota !== null) {
    const mine = subnets.filter((s) => s.project_id === projectId).reduce((n, s) => n + quotaUnits(parseCidr(s.cidr)!), 0n);
    if (mine + quotaUnits(block) > BigInt(pool.default_quota)) throw new SubnetPoolQuotaExceeded();
  }
  return formatCidr(block);
}

const nonNegative = int(0, 2 ** 31 - 1);
const notEmpty: Converter = (v, attr) => {
  const t = str(255)(v, attr) as string;
  if (t === '') throw invalidAttribute(attr, `'' Blank strings are not permitted`);
  return t;
};

export const subnetpoolsPlugin: PluginFactory = () => {
  const plugin: ResourcePlugin<SubnetPoolRecord> = {
    collection: 'subnetpools',
    member: 'subnetpool',
    prefix: SUBNETPOOLS_PREFIX,
    taggable: true,
    attributes: {
      ...standardAttributes(),
      name: { allowPost: true, allowPut: true, required: true, convert: notEmpty },
      prefixes: { allowPost: true, allowPut: true, required: true, convert: prefixList },
      default_quota: { allowPost: true, allowPut: true, default: null, convert: nullable(nonNegative) },
      ip_version: { allowPost: false, allowPut: false },
      default_prefixlen: { allowPost: true, allowPut: true, convert: nonNegative },
      min_prefixlen: { allowPost: true, allowPut: true, convert: nonNegative },
      max_prefixlen: { allowPost: true, allowPut: true, convert: nonNegative },
      is_default: { allowPost: true, allowPut: true, default: false, convert: bool },
      shared: { allowPost: true, allowPut: false, default: false, convert: bool },
      address_scope_id: { allowPost: true, allowPut: true, default: null, convert: nullable(addressScopeIdUnsupported) },
    },
    extensions: [
      { alias: 'subnet_allocation', name: 'Subnet Allocation', description: 'Enables allocation of subnets from a subnet pool' },
      { alias: 'default-subnetpools', name: 'Default Subnetpools', description: 'Provides ability to mark and use a subnetpool as the default.' },
      { alias: 'subnetpool-prefix-ops', name: 'Subnet Pool Prefix Operations', description: 'Provides support for adjusting the prefix list of subnet pools' },
    ],
    notFound: (id) => new SubnetPoolNotFound(id),
    canSee: (ctx, p) => subnetPoolVisible(ctx, p),
    // Neutron's _make_subnetpool_dict shows the prefix lengths as strings (tempest compares them
    // with the strings it sent); the record keeps numbers.
    async derive() {
      return (p) => ({ default_prefixlen: String(p.default_prefixlen), min_prefixlen: String(p.min_prefixlen), max_prefixlen: String(p.max_prefixlen) });
    },

    async create(tx, ctx, input, base): Promise<SubnetPoolRecord> {
      if (input.shared === true && !ctx.isAdmin) throw new PolicyNotAuthorized('create_subnetpool:shared');
      if (input.is_default === true && !ctx.isAdmin) throw new PolicyNotAuthorized('create_subnetpool:is_default');
      const set = prefixSet(input.prefixes as string[]);
      const v = set.version;
      const min = (input.min_prefixlen as number | undefined) ?? (v === 4 ? 8 : 64);
      const max = (input.max_prefixlen as number | undefined) ?? bits(v);
      const def = (input.default_prefixlen as number | undefined) ?? min;
      checkBounds(v, { min, max, def });
      if (input.is_default === true) claimDefault(tx, v, base.id, await tx.get(defaultSubnetPoolKey(v)));
      return {
        ...base,
        ip_version: v,
        prefixes: set.cidrTexts(),
        default_prefixlen: def,
        min_prefixlen: min,
        max_prefixlen: max,
        default_quota: input.default_quota as number | null,
        shared: input.shared as boolean,
        is_default: input.is_default as boolean,
        address_scope_id: null,
      };
    },

    async update(tx, ctx, current, changes): Promise<SubnetPoolRecord> {
      const v = current.ip_version;
      let prefixes = current.prefixes;
      if (changes.prefixes !== undefined) {
        const next = prefixSet(changes.prefixes as string[]);
        if (next.version !== v) throw new BadRequestFault('PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
        if (!next.containsAll(IpSet.parse(v, current.prefixes)!)) throw prefixUpdate('Existing prefixes must be a subset of the new prefixes');
        prefixes = next.cidrTexts();
      }
      const b = {
        min: (changes.min_prefixlen as number | undefined) ?? current.min_prefixlen,
        max: (changes.max_prefixlen as number | undefined) ?? current.max_prefixlen,
        def: (changes.default_prefixlen as number | undefined) ?? current.default_prefixlen,
      };
      checkBounds(v, b);
      let isDefault = current.is_default;
      if (changes.is_default !== undefined && changes.is_default !== current.is_default) {
        if (!ctx.isAdmin) throw new PolicyNotAuthorized('update_subnetpool:is_default');
        isDefault = changes.is_default as boolean;
        if (isDefault) claimDefault(tx, v, current.id, await tx.get(defaultSubnetPoolKey(v)));
        else tx.delete(defaultSubnetPoolKey(v));
      }
      const next: Record<string, unknown> = { ...current, prefixes, min_prefixlen: b.min, max_prefixlen: b.max, default_prefixlen: b.def, is_default: isDefault };
      for (const k of ['name', 'description', 'default_quota']) if (changes[k] !== undefined) next[k] = changes[k];
      return next as unknown as SubnetPoolRecord;
    },

    async delete(tx, _ctx, p): Promise<void> {
      if ((await poolSubnets(tx, p.id)).length > 0) throw new SubnetPoolInUse(p.id, 'Subnets are allocated from this pool');
      if (p.is_default) tx.delete(defaultSubnetPoolKey(p.ip_version));
      tx.delete(subnetPoolGuardKey(p.id));
    },

    memberActions: {
      async add_prefixes(tx, _ctx, pool, body) {
        const add = prefixSet(prefixesBody(body));
        if (add.version !== pool.ip_version) throw new BadRequestFault('PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
        const prefixes = IpSet.parse(pool.ip_version, pool.prefixes)!.union(add).cidrTexts();
        return { body: { prefixes }, record: { ...pool, prefixes } };
      },
      async remove_prefixes(tx, _ctx, pool, body) {
        const remove = prefixSet(prefixesBody(body));
        if (remove.version !== pool.ip_version) throw new BadRequestFault('PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
        const used = IpSet.of(pool.ip_version, (await poolSubnets(tx, pool.id)).map((s) => parseCidr(s.cidr)!));
        if (used.intersects(remove)) throw prefixUpdate('Prefixes in use by subnets allocated from the pool cannot be removed');
        const left = IpSet.parse(pool.ip_version, pool.prefixes)!.difference(remove);
        if (left.isEmpty) throw new BadRequestFault('EmptySubnetPoolPrefixList', 'Empty subnet pool prefix list.');
        const prefixes = left.cidrTexts();
        return { body: { prefixes }, record: { ...pool, prefixes } };
      },
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};

function claimDefault(tx: Tx, version: 4 | 6, poolId: string, held: { value: string } | undefined): void {
  if (held && held.value !== poolId) {
    throw new InvalidInput(`A default subnetpool for this IP family has already been set. Only one default may exist per IP family`);
  }
  tx.put(defaultSubnetPoolKey(version), poolId);
}

function prefixesBody(body: unknown): string[] {
  const b = body as { prefixes?: unknown } | null;
  if (typeof b !== 'object' || b === null || Array.isArray(b) || !Array.isArray(b.prefixes)) {
    throw new ResourceBadRequest('subnetpool', "Body must be {'prefixes': [...]}");
  }
  return prefixList(b.prefixes, 'prefixes') as string[];
}

/** Address scopes are not offered (the address-scope extension is not advertised). */
const addressScopeIdUnsupported: Converter = (_v, attr) => {
  throw invalidAttribute(attr, 'address scopes are not supported');
};
