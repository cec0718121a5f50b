/**
 * Allocation inside a transaction: IP addresses, MAC addresses, segmentation ids and the small
 * integer OpenFlow keys. Every claim writes an index key under `/ipam/` guarded with
 * createRevision = 0, so of two concurrent requests that pick the same value exactly one commits;
 * the other's transaction fails and is re-run, where it sees the value taken.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { ipKey, ipPrefix, macKey } from '../model/keys.js';
import { formatIp, parseCidr, parseIp } from '../model/ip-address.js';
import type { SubnetRecord } from '../model/records.js';
import { IpAddressInUse, MacAddressInUse } from './errors.js';
import type { Store } from '../store/types.js';
import type { Tx } from './tx.js';

/** Pick a value among the lowest free integers in [min, max] (randomised among the first few). */
function pickLowFree(used: ReadonlySet<number>, ranges: readonly (readonly [number, number])[], spread: number): number | undefined {
  const candidates: number[] = [];
  for (const [lo, hi] of ranges) {
    for (let n = lo; n <= hi && candidates.length < spread; n++) if (!used.has(n)) candidates.push(n);
    if (candidates.length >= spread) break;
  }
  if (candidates.length === 0) return undefined;
  return candidates[randomInt(candidates.length)];
}

/**
 * Allocate a small integer under `prefix` (keys `<prefix><n>`), owned by `owner`. Lowest free
 * values first so keys stay small; a little randomness keeps concurrent creators apart.
 */
export async function allocateInteger(
  tx: Tx,
  prefix: string,
  ranges: readonly (readonly [number, number])[],
  owner: string,
): Promise<number | undefined> {
  const used = new Set((await tx.range(prefix)).map((kv) => Number(kv.key.slice(prefix.length))));
  const n = pickLowFree(used, ranges, 16);
  if (n === undefined) return undefined;
  tx.absent(`${prefix}${n}`);
  tx.put(`${prefix}${n}`, owner);
  return n;
}

/**
 * In-process allocation cursors (per store and hint key): concurrent requests of this server take
 * distinct values instead of colliding on the same few candidates. Only a hint: every claim is
 * still guarded by createRevision = 0, so other servers (or a stale cursor) cannot cause
 * duplicates, only a retry.
 */
const cursors = new WeakMap<Store, Map<string, number>>();

function cursorsOf(store: Store): Map<string, number> {
  let m = cursors.get(store);
  if (m === undefined) cursors.set(store, (m = new Map()));
  return m;
}

/**
 * Allocate an integer in [1, max] under `prefix` without reading every allocation: a hint key
 * (`hintKey`, written blindly, never compared) remembers where the last allocation ended, and an
 * in-process cursor hands out the values after it one by one; the value is probed and claimed
 * guarded by createRevision = 0. Values grow until `max`, then allocation wraps to the lowest
 * free ones.
 */
export async function allocateHinted(tx: Tx, prefix: string, hintKey: string, max: number, owner: string, first?: number): Promise<number | undefined> {
  for (let i = 0; i < 8; i++) {
    const n = i === 0 && first !== undefined ? first : await nextHinted(tx, hintKey, max);
    if (n === undefined) break;
    const key = `${prefix}${n}`;
    if (tx.writesKey(key) || (await tx.peek(key))) continue;
    tx.absent(key);
    tx.put(key, owner);
    tx.put(hintKey, String(n + 1));
    return n;
  }
  const n = await allocateInteger(tx, prefix, [[1, max]], owner);
  if (n !== undefined) {
    tx.put(hintKey, String(n + 1));
    cursorsOf(tx.store).set(hintKey, n + 1);
  }
  return n;
}

/**
 * The next candidate of `allocateHinted` (reserved in this process; pass it as `first` to
 * probe it), or undefined past `max`.
 */
export async function nextHinted(tx: Tx, hintKey: string, max: number): Promise<number | undefined> {
  const hintKv = await tx.peek(hintKey);
  let start = hintKv ? Number(hintKv.value) : 1;
  if (!Number.isInteger(start) || start < 1 || start > max) start = 1;
  const local = cursorsOf(tx.store);
  // Taken synchronously: no other request of this process gets the same candidate.
  const n = Math.max(start, local.get(hintKey) ?? 1);
  if (n > max) return undefined;
  local.set(hintKey, n + 1);
  return n;
}

/** Claim a specific integer; false if taken. */
export async function claimInteger(tx: Tx, key: string, owner: string): Promise<boolean> {
  if (tx.writesKey(key) || (await tx.get(key))) return false;
  tx.put(key, owner);
  return true;
}

// ---- MAC ----------------------------------------------------------------------------------

export function randomMac(base: string): string {
  const b = base.toLowerCase().split(':');
  const tail = [randomInt(256), randomInt(256), randomInt(256)].map((x) => x.toString(16).padStart(2, '0'));
  return [...b.slice(0, 3), ...tail].join(':');
}

/** Claim `mac` on the network for `portId`; MacAddressInUse if another port has it. */
export async function claimMac(tx: Tx, networkId: string, mac: string, portId: string): Promise<void> {
  const key = macKey(networkId, mac);
  const kv = tx.writesKey(key) ? true : await tx.get(key);
  if (kv && (kv === true || kv.value !== portId)) throw new MacAddressInUse(networkId, mac);
  tx.put(key, portId);
}

/** Generate and claim a free MAC; `first` is the first candidate tried (e.g. one prefetched). */
export async function generateMac(tx: Tx, networkId: string, base: string, portId: string, first?: string): Promise<string> {
  for (let i = 0; i < 32; i++) {
    const mac = i === 0 && first !== undefined ? first : randomMac(base);
    const key = macKey(networkId, mac);
    if (tx.writesKey(key) || (await tx.peek(key))) continue;
    tx.absent(key);
    tx.put(key, portId);
    return mac;
  }
  throw new MacAddressInUse(networkId, '(generated)');
}

export function releaseMac(tx: Tx, networkId: string, mac: string): void {
  tx.delete(macKey(networkId, mac));
}

// ---- IP -----------------------------------------------------------------------------------

/** Claim a specific address of a subnet; IpAddressInUse if another port has it. */
export async function claimIp(tx: Tx, subnet: SubnetRecord, ip: string, portId: string): Promise<void> {
  const key = ipKey(subnet.id, ip);
  const kv = tx.writesKey(key) ? true : await tx.get(key);
  if (kv && (kv === true || kv.value !== portId)) throw new IpAddressInUse(subnet.network_id, ip);
  tx.put(key, portId);
}

export function releaseIp(tx: Tx, subnetId: string, ip: string): void {
  tx.delete(ipKey(subnetId, ip));
}

/** EUI-64 interface identifier address for SLAAC subnets. */
export function eui64Address(subnet: SubnetRecord, mac: string): string {
  const c = parseCidr(subnet.cidr)!;
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const iid = [b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]].reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  return formatIp(6, c.network | iid);
}

function poolsOf(subnet: SubnetRecord): { pools: { start: bigint; end: bigint }[]; total: bigint } {
  const pools = subnet.allocation_pools.map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }));
  return { pools, total: pools.reduce((n, p) => n + (p.end - p.start + 1n), 0n) };
}

function randomInPools(pools: readonly { start: bigint; end: bigint }[], total: bigint): bigint {
  let offset = randomBigInt(total);
  for (const p of pools) {
    const size = p.end - p.start + 1n;
    if (offset < size) return p.start + offset;
    offset -= size;
  }
  return pools[0].start;
}

/** A random address of the subnet's pools (a first candidate for `allocateIp`), or undefined. */
export function ipCandidate(subnet: SubnetRecord): string | undefined {
  const { pools, total } = poolsOf(subnet);
  return total === 0n ? undefined : formatIp(subnet.ip_version, randomInPools(pools, total));
}

/**
 * Allocate a free address from the subnet's allocation pools for `portId`, or undefined when
 * the pools are exhausted. First a few random probes (cheap when the pool is mostly free, and
 * concurrent allocators rarely collide; `first`, if given, is the first probe); if they all hit
 * taken addresses, the allocations are read and a random free address is taken (small pools) or
 * probing continues (huge pools).
 */
export async function allocateIp(tx: Tx, subnet: SubnetRecord, portId: string, first?: string): Promise<string | undefined> {
  const { pools, total } = poolsOf(subnet);
  if (total === 0n) return undefined;
  const take = (v: bigint): string => {
    const ip = formatIp(subnet.ip_version, v);
    const key = ipKey(subnet.id, ip);
    tx.absent(key);
    tx.put(key, portId);
    return ip;
  };
  for (let i = 0; i < 4; i++) {
    const firstIp = i === 0 && first !== undefined ? parseIp(first) : undefined;
    const v = firstIp && pools.some((p) => p.start <= firstIp.value && firstIp.value <= p.end) ? firstIp.value : randomInPools(pools, total);
    const key = ipKey(subnet.id, formatIp(subnet.ip_version, v));
    if (!tx.writesKey(key) && !(await tx.peek(key))) return take(v);
  }
  const prefix = ipPrefix(subnet.id);
  const used = new Set<bigint>();
  for (const kv of await tx.range(prefix)) {
    const ip = parseIp(kv.key.slice(prefix.length));
    if (ip) used.add(ip.value);
  }
  if (total <= 1_048_576n) {
    const free: bigint[] = [];
    for (const p of pools) for (let v = p.start; v <= p.end; v++) if (!used.has(v)) free.push(v);
    return free.length > 0 ? take(free[randomInt(free.length)]) : undefined;
  }
  for (let i = 0; i < 256; i++) {
    const v = randomInPools(pools, total);
    if (!used.has(v)) return take(v);
  }
  return undefined;
}

function randomBigInt(below: bigint): bigint {
  if (below <= 0xffffffffffffn) return BigInt(randomInt(Number(below)));
  const bytes = Math.ceil(below.toString(16).length / 2) + 8;
  const buf = randomBytes(bytes);
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  return v % below;
}
