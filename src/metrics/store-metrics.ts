/**
 * Store metrics, measured by wrapping a Store (every driver alike): transaction latency by
 * outcome, and watch lag — the time from a transaction's commit to the delivery of its revision
 * to each watcher opened through the wrapper. The commit time is when this process first learns
 * of the revision: the transaction's answer, or the first delivery when an in-process driver
 * hands the events to its watchers before it answers the writer (that first watcher then counts
 * a lag of 0, the others the fan-out delay after it). The
 * API server wraps its store once, so its own writes and those of remote controllers (the
 * store's HTTP service) are timed, and so are the watch streams it serves them.
 *
 * Cost: one clock read and one histogram observation per transaction and per delivered
 * revision; commit times live in a fixed ring (no allocation per transaction).
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Lease, RangeResult, Read, KeyValue, Store, TxnRequest, TxnResult, Watch, WatchHandlers } from '../store/types.js';
import { PREFIX } from './registry.js';

/** Revisions whose commit time is remembered (older ones are not measured). */
const RING = 4096;

/** Seconds buckets for store operations: 0.1 ms .. 2.5 s. */
export const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface StoreMetrics {
  readonly txnSeconds: Histogram<'driver' | 'outcome'>;
  readonly watchLagSeconds: Histogram<'driver'>;
  readonly watches: Gauge<'driver'>;
}

export function storeMetrics(registry: Registry): StoreMetrics {
  return {
    txnSeconds: new Histogram({
      name: `${PREFIX}store_txn_duration_seconds`,
      help: 'Store transactions: request to answer, by outcome (committed, compare_failed, error).',
      labelNames: ['driver', 'outcome'] as const,
      buckets: STORE_BUCKETS,
      registers: [registry],
    }),
    watchLagSeconds: new Histogram({
      name: `${PREFIX}store_watch_lag_seconds`,
      help: 'Time from a transaction commit to the delivery of its revision to a watcher (per watcher).',
      labelNames: ['driver'] as const,
      buckets: STORE_BUCKETS,
      registers: [registry],
    }),
    watches: new Gauge({
      name: `${PREFIX}store_watches`,
      help: 'Watches open through this process (API server: remote controllers\' streams included).',
      labelNames: ['driver'] as const,
      registers: [registry],
    }),
  };
}

const now = (): number => performance.now();

/** `store` with every transaction and watch delivery measured into `m`. Same semantics. */
export function instrumentStore(store: Store, m: StoreMetrics): Store {
  return new InstrumentedStore(store, m);
}

class InstrumentedStore implements Store {
  readonly kind: string;
  readonly readMany?: (reads: readonly Read[]) => Promise<KeyValue[][]>;
  readonly rangeKeys?: (prefix: string) => Promise<RangeResult>;
  readonly compact?: (revision: number) => Promise<void>;
  readonly leaseControl: Store['leaseControl'];
  private readonly ringRevision = new Float64Array(RING);
  private readonly ringTime = new Float64Array(RING);
  private readonly committed;
  private readonly compareFailed;
  private readonly failed;
  private readonly lag;
  private readonly watchCount;

  constructor(
    private readonly inner: Store,
    m: StoreMetrics,
  ) {
    this.kind = inner.kind;
    if (inner.readMany) this.readMany = (reads) => inner.readMany!(reads);
    if (inner.rangeKeys) this.rangeKeys = (prefix) => inner.rangeKeys!(prefix);
    if (inner.compact) this.compact = (revision) => inner.compact!(revision);
    this.leaseControl = inner.leaseControl;
    this.committed = m.txnSeconds.labels(inner.kind, 'committed');
    this.compareFailed = m.txnSeconds.labels(inner.kind, 'compare_failed');
    this.failed = m.txnSeconds.labels(inner.kind, 'error');
    this.lag = m.watchLagSeconds.labels(inner.kind);
    this.watchCount = m.watches.labels(inner.kind);
    this.watchCount.set(0);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.inner.get(key);
  }

  range(prefix: string): Promise<RangeResult> {
    return this.inner.range(prefix);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    const t0 = now();
    let r: TxnResult;
    try {
      r = await this.inner.txn(req);
    } catch (err) {
      this.failed.observe((now() - t0) / 1000);
      throw err;
    }
    const t1 = now();
    if (r.succeeded) {
      this.committed.observe((t1 - t0) / 1000);
      const slot = r.revision % RING;
      if (this.ringRevision[slot] !== r.revision) {
        this.ringRevision[slot] = r.revision;
        this.ringTime[slot] = t1;
      }
    } else {
      this.compareFailed.observe((t1 - t0) / 1000);
    }
    return r;
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const onEvents = (events: Parameters<WatchHandlers['onEvents']>[0], revision: number): void => {
      if (events.length > 0) {
        const slot = revision % RING;
        const t = now();
        if (this.ringRevision[slot] === revision) this.lag.observe((t - this.ringTime[slot]) / 1000);
        else if (revision > this.ringRevision[slot]) {
          // Delivered before the writer's answer: now is the commit time as far as we know.
          this.ringRevision[slot] = revision;
          this.ringTime[slot] = t;
          this.lag.observe(0);
        }
      }
      handlers.onEvents(events, revision);
    };
    let open = true;
    const closed = (): void => {
      if (!open) return;
      open = false;
      this.watchCount.dec();
    };
    this.watchCount.inc();
    const w = this.inner.watch(prefix, fromRevision, {
      onEvents,
      onCompacted: (rev) => {
        closed();
        handlers.onCompacted?.(rev);
      },
      onError: (err) => {
        closed();
        handlers.onError?.(err);
      },
    });
    const wrapped: Watch = {
      cancel: () => {
        closed();
        return w.cancel();
      },
    };
    if (w.setInterest) wrapped.setInterest = (route, subjects) => w.setInterest!(route, subjects);
    return wrapped;
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.inner.grantLease(ttlSeconds);
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
