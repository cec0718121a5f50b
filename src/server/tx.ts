/**
 * One API mutation = one store transaction. A `Tx` records what the request read (each key with
 * the modRevision it had, or "absent") and the writes it wants; `commit` sends one `txn` whose
 * compares cover every guarded read. If anything read changed meanwhile the txn fails and
 * `runTx` runs the whole request function again from scratch (bounded), so decisions are
 * always made on a consistent snapshot. No in-process locks are involved: correctness comes
 * from the store's compare-and-set, identical on sqlite, etcd and the remote store.
 *
 * Reads see the transaction's own pending writes (read-your-writes), so several creates in one
 * request (bulk create) allocate distinct addresses.
 */
import { encodeRecord, peekHeader, type RecordHeader } from '../model/record-codec.js';
import type { Compare, KeyValue, Op, Store } from '../store/types.js';
import { RetryLimitExceeded } from './errors.js';

type Pending = { readonly value: string } | { readonly deleted: true };

/** Equality on routing fields, for `Tx.rangeJson`. */
export type RecordFilter = Partial<Pick<RecordHeader, 'network_id' | 'device_id'>>;

export class Tx {
  private readonly compares = new Map<string, Compare>();
  private readonly writes = new Map<string, Pending>();
  private readonly order: string[] = [];

  /** Per-request memo for read-only lookups (policy checks reading a parent network). */
  readonly memo = new Map<string, unknown>();

  /** Keys and prefixes read ahead by `prefetch` (one revision); `get`/`peek`/`range` use them. */
  private readonly snapshot = new Map<string, KeyValue | undefined>();
  private readonly snapshotRanges = new Map<string, readonly KeyValue[]>();

  constructor(readonly store: Store) {}

  /**
   * Read ahead keys and prefixes this request will read, in one round trip where the store can
   * (`readMany`, etcd), else one call each, in parallel. Later `get`/`peek`/`range` of them use
   * these values (and `get` guards them at the revision read), exactly as if read then.
   */
  async prefetch(keys: readonly string[], prefixes: readonly string[] = []): Promise<void> {
    const ks = [...new Set(keys)].filter((k) => !this.snapshot.has(k) && !this.writes.has(k));
    const ps = prefixes.filter((p) => !this.snapshotRanges.has(p));
    if (ks.length + ps.length === 0) return;
    let results: KeyValue[][];
    if (this.store.readMany) {
      results = await this.store.readMany([...ks.map((key) => ({ key })), ...ps.map((prefix) => ({ prefix }))]);
    } else {
      results = await Promise.all([
        ...ks.map(async (k) => {
          const kv = await this.store.get(k);
          return kv ? [kv] : [];
        }),
        ...ps.map(async (p) => [...(await this.store.range(p)).kvs]),
      ]);
    }
    ks.forEach((k, i) => this.snapshot.set(k, results[i][0]));
    ps.forEach((p, i) => {
      const kvs = results[ks.length + i];
      this.snapshotRanges.set(p, kvs);
      for (const kv of kvs) if (!this.snapshot.has(kv.key)) this.snapshot.set(kv.key, kv);
    });
  }

  private read(key: string): Promise<KeyValue | undefined> | KeyValue | undefined {
    return this.snapshot.has(key) ? this.snapshot.get(key) : this.store.get(key);
  }

  /** `peek` + JSON parse, memoised for the life of this Tx (unguarded). */
  async peekJsonCached<T>(key: string): Promise<T | undefined> {
    if (this.memo.has(key)) return this.memo.get(key) as T | undefined;
    const kv = await this.peek(key);
    const v = kv ? (JSON.parse(kv.value) as T) : undefined;
    this.memo.set(key, v);
    return v;
  }

  /** Read a key and guard it: the commit fails if it changed (or appeared) since. */
  async get(key: string): Promise<KeyValue | undefined> {
    const pending = this.writes.get(key);
    if (pending) return 'deleted' in pending ? undefined : fakeKv(key, pending.value);
    const kv = await this.read(key);
    this.guard(key, kv);
    return kv;
  }

  /** Read a key without guarding it (for data the decision does not depend on). */
  async peek(key: string): Promise<KeyValue | undefined> {
    const pending = this.writes.get(key);
    if (pending) return 'deleted' in pending ? undefined : fakeKv(key, pending.value);
    return this.read(key);
  }

  /** Parse a JSON value read with a guard; undefined if absent. */
  async getJson<T>(key: string): Promise<{ kv: KeyValue; value: T } | undefined> {
    const kv = await this.get(key);
    return kv ? { kv, value: JSON.parse(kv.value) as T } : undefined;
  }

  /**
   * All keys under `prefix`, merged with pending writes. Not guarded: keys appearing later under
   * the prefix are not detected (use `absent` on the exact keys you will create, or a guard key).
   * Pass `guard: true` to guard every key returned (detects changes and deletions, not inserts).
   */
  async range(prefix: string, opts: { guard?: boolean } = {}): Promise<KeyValue[]> {
    const res = { kvs: this.snapshotRanges.get(prefix) ?? (await this.store.range(prefix)).kvs };
    if (opts.guard) for (const kv of res.kvs) this.guard(kv.key, kv);
    let mine = false;
    for (const key of this.writes.keys()) {
      if (key.startsWith(prefix)) {
        mine = true;
        break;
      }
    }
    if (!mine) return [...res.kvs]; // the store returns keys sorted
    const byKey = new Map<string, KeyValue>();
    for (const kv of res.kvs) byKey.set(kv.key, kv);
    for (const [key, p] of this.writes) {
      if (!key.startsWith(prefix)) continue;
      if ('deleted' in p) byKey.delete(key);
      else byKey.set(key, fakeKv(key, p.value));
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * The records under `prefix`, parsed. With `where`, only the records whose fields equal it;
   * records whose routing header (model/record-codec.ts) already says otherwise are not parsed.
   */
  async rangeJson<T>(prefix: string, opts: { guard?: boolean; where?: RecordFilter } = {}): Promise<T[]> {
    const kvs = await this.range(prefix, opts);
    const where = opts.where;
    if (where === undefined) return kvs.map((kv) => JSON.parse(kv.value) as T);
    const fields = Object.keys(where) as (keyof RecordFilter)[];
    const out: T[] = [];
    for (const kv of kvs) {
      const h = peekHeader(kv.value, fields);
      if (h !== undefined && fields.some((f) => h[f] !== where[f])) continue;
      const rec = JSON.parse(kv.value) as Record<string, unknown>;
      if (fields.every((f) => rec[f] === where[f])) out.push(rec as T);
    }
    return out;
  }

  /** Require that `key` does not exist at commit time (createRevision = 0). */
  absent(key: string): void {
    if (!this.compares.has(key)) this.compares.set(key, { key, target: 'createRevision', op: '=', value: 0 });
  }

  /** Whether this transaction already writes `key` (e.g. an address taken earlier in a bulk). */
  writesKey(key: string): boolean {
    const p = this.writes.get(key);
    return p !== undefined && !('deleted' in p);
  }

  put(key: string, value: string): void {
    if (!this.writes.has(key)) this.order.push(key);
    this.writes.set(key, { value });
  }

  /** A record, routing fields first (see model/record-codec.ts). */
  putJson(key: string, value: unknown): void {
    this.put(key, encodeRecord(value));
  }

  delete(key: string): void {
    if (!this.writes.has(key)) this.order.push(key);
    this.writes.set(key, { deleted: true });
  }

  /** Guard a key at the revision observed (compare modRevision; createRevision 0 if absent). */
  guard(key: string, kv: KeyValue | undefined): void {
    if (this.compares.has(key)) return;
    this.compares.set(
      key,
      kv
        ? { key, target: 'modRevision', op: '=', value: kv.modRevision }
        : { key, target: 'createRevision', op: '=', value: 0 },
    );
  }

  get hasWrites(): boolean {
    return this.writes.size > 0;
  }

  /** Send the transaction; true if it applied. */
  async commit(): Promise<boolean> {
    if (this.writes.size === 0) return true;
    const success: Op[] = this.order.map((key) => {
      const p = this.writes.get(key)!;
      return 'deleted' in p ? { type: 'delete', key } : { type: 'put', key, value: p.value };
    });
    const res = await this.store.txn({ compare: [...this.compares.values()], success });
    return res.succeeded;
  }
}

function fakeKv(key: string, value: string): KeyValue {
  return { key, value, createRevision: 0, modRevision: 0, version: 0 };
}

/** Process-wide counters (benchmarks and diagnostics): transactions committed, and re-runs after a failed compare. */
export const txStats = { commits: 0, conflicts: 0 };

export interface RetryOptions {
  /** Attempts before giving up with RetryLimitExceeded (default 60). */
  readonly maxAttempts?: number;
}

/**
 * Run `fn` in a fresh Tx and commit; on a failed compare start over. Errors thrown by `fn`
 * (typed faults) propagate without writing anything.
 */
export async function runTx<T>(store: Store, fn: (tx: Tx) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const max = opts.maxAttempts ?? 60;
  for (let attempt = 0; attempt < max; attempt++) {
    const tx = new Tx(store);
    const result = await fn(tx);
    if (await tx.commit()) {
      txStats.commits++;
      return result;
    }
    txStats.conflicts++;
    // Back off a little, growing with the attempt number, jittered so contenders spread out.
    const ceiling = Math.min(50, 1 + attempt * 2);
    await new Promise((r) => setTimeout(r, Math.random() * ceiling));
  }
  throw new RetryLimitExceeded();
}
