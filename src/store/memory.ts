import { InvalidStoreRequestError, LeaseNotFoundError, StoreClosedError } from './errors.js';
import { BucketedMap } from './bucketed-map.js';
import { KeptLeases } from './kept-lease.js';
import { planTxn, type KvReader } from './txn-plan.js';
import type {
  KeyValue,
  Lease,
  LeaseControl,
  LeaseInfo,
  RangeResult,
  Store,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchHandlers,
} from './types.js';
import { WatchHub } from './watch-hub.js';

export interface MemoryStoreOptions {
  /** Revisions of history kept for watches; older ones are compacted automatically. */
  readonly historyLimit?: number;
}

interface MemoryLease {
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
  timer: NodeJS.Timeout;
}

/** An in-memory store with etcd semantics, for tests and the sandbox. Nothing is persisted. */
export class MemoryStore implements Store, LeaseControl {
  readonly kind = 'memory';
  readonly leaseControl: LeaseControl = this;
  private readonly kvs = new BucketedMap<KeyValue>();
  private readonly log: Array<{ revision: number; events: WatchEvent[] }> = [];
  private readonly leases = new Map<string, MemoryLease>();
  private readonly kept = new KeptLeases(this);
  private rev = 1;
  private compactRev = 1;
  private nextLeaseId = 1;
  private closed = false;
  private readonly historyLimit: number;
  private readonly hub: WatchHub;
  private readonly reader: KvReader = {
    get: (key) => this.kvs.get(key),
    keysWithPrefix: (prefix) => this.kvs.keysWithPrefix(prefix),
    leaseExists: (id) => this.leases.has(id),
  };

  constructor(options: MemoryStoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 10_000;
    this.hub = new WatchHub({
      currentRevision: () => this.rev,
      compactRevision: () => this.compactRev,
      history: (prefix, from) => {
        const out: Array<[number, WatchEvent[]]> = [];
        for (const entry of this.log) {
          if (entry.revision < from) continue;
          const events = entry.events.filter((e) => e.key.startsWith(prefix));
          if (events.length > 0) out.push([entry.revision, events]);
        }
        return out;
      },
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    return this.kvs.get(key);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    return { kvs: this.kvs.valuesWithPrefix(prefix), revision: this.rev };
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.assertOpen();
    return this.apply(req);
  }

  private apply(req: TxnRequest): TxnResult {
    const plan = planTxn(this.reader, req, this.rev + 1);
    if (plan.changes.length === 0) return { succeeded: plan.succeeded, revision: this.rev };
    this.rev += 1;
    for (const c of plan.changes) {
      if (c.previous?.lease !== undefined) this.leases.get(c.previous.lease)?.keys.delete(c.key);
      if (c.kv === undefined) this.kvs.delete(c.key);
      else {
        this.kvs.set(c.key, c.kv);
        if (c.kv.lease !== undefined) this.leases.get(c.kv.lease)?.keys.add(c.key);
      }
    }
    this.log.push({ revision: this.rev, events: [...plan.events] });
    while (this.log.length > this.historyLimit) this.compactRev = this.log.shift()!.revision + 1;
    this.hub.publish(this.rev, plan.events, new Map(plan.changes.map((c) => [c.key, c.previous?.value])));
    return { succeeded: plan.succeeded, revision: this.rev };
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.kept.grant(ttlSeconds);
  }

  async revision(): Promise<number> {
    this.assertOpen();
    return this.rev;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.rev) throw new InvalidStoreRequestError(`cannot compact future revision ${revision}`);
    if (revision <= this.compactRev) return;
    while (this.log.length > 0 && this.log[0].revision < revision) this.log.shift();
    this.compactRev = revision;
  }

  // LeaseControl: raw leases, expiring unless kept alive.
  async grant(ttlSeconds: number): Promise<LeaseInfo> {
    this.assertOpen();
    if (!(ttlSeconds > 0)) throw new InvalidStoreRequestError('lease TTL must be positive');
    const id = String(this.nextLeaseId++);
    this.leases.set(id, { ttlSeconds, keys: new Set(), timer: this.expiryTimer(id, ttlSeconds) });
    return { id, ttlSeconds };
  }

  async keepAlive(id: string): Promise<LeaseInfo> {
    this.assertOpen();
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LeaseNotFoundError(id);
    clearTimeout(lease.timer);
    lease.timer = this.expiryTimer(id, lease.ttlSeconds);
    return { id, ttlSeconds: lease.ttlSeconds };
  }

  async revoke(id: string): Promise<void> {
    this.assertOpen();
    if (!this.leases.has(id)) throw new LeaseNotFoundError(id);
    this.dropLease(id);
  }

  private expiryTimer(id: string, ttlSeconds: number): NodeJS.Timeout {
    const t = setTimeout(() => this.dropLease(id), ttlSeconds * 1000);
    t.unref();
    return t;
  }

  /** Delete the lease and, in one revision, every key attached to it. */
  private dropLease(id: string): void {
    const lease = this.leases.get(id);
    if (lease === undefined || this.closed) return;
    clearTimeout(lease.timer);
    this.leases.delete(id);
    const keys = [...lease.keys];
    if (keys.length > 0) this.apply({ compare: [], success: keys.map((key) => ({ type: 'delete', key })) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.kept.stopAll();
    for (const lease of this.leases.values()) clearTimeout(lease.timer);
    this.closed = true;
    this.hub.closeAll();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('store is closed');
  }
}
