import { Etcd3, GRPCOutOfRangeError, type ILeaseKeepAliveResponse } from 'etcd3';
import { EtcdKeys, mapEtcdError, toCompare, toKeyValue, toRequestOp } from './etcd-codec.js';
import { parseEtcdUrl, type EtcdStoreOptions } from './etcd-url.js';
import { EtcdWatch } from './etcd-watch.js';
import { InvalidStoreRequestError, LeaseNotFoundError, StoreClosedError, StoreUnavailableError } from './errors.js';
import { KeptLeases } from './kept-lease.js';
import type {
  KeyValue,
  Lease,
  LeaseControl,
  LeaseInfo,
  RangeResult,
  Read,
  Store,
  TxnRequest,
  TxnResult,
  Watch,
  WatchHandlers,
} from './types.js';

export { parseEtcdUrl, type EtcdStoreOptions };

const CALL_TIMEOUT_MS = 5000;

/**
 * The etcd v3 driver (the `etcd3` client). Store keys live under a prefix (default `/wyvern/`);
 * revisions are etcd's, so they are shared with anything else in the cluster and may skip
 * numbers. Watches resume from the last delivered revision + 1 after a reconnect; leases are
 * kept alive with keepalives and reported lost when etcd says they are gone or the TTL runs out
 * without a successful keepalive.
 *
 * Differences from the in-process drivers: etcd rejects a txn that touches the same key twice.
 */
export class EtcdStore implements Store, LeaseControl {
  readonly kind = 'etcd';
  readonly leaseControl: LeaseControl = this;
  private readonly keys: EtcdKeys;
  private readonly watches = new Set<EtcdWatch>();
  private readonly kept = new KeptLeases(this);
  private closed = false;

  private constructor(
    private readonly client: Etcd3,
    prefix: string,
  ) {
    this.keys = new EtcdKeys(prefix);
  }

  static async connect(options: EtcdStoreOptions | string): Promise<EtcdStore> {
    const opts = typeof options === 'string' ? parseEtcdUrl(options) : options;
    const client = new Etcd3({
      hosts: [...opts.hosts],
      dialTimeout: 3000,
      // grpc-js refuses responses over 4 MiB by default: a range of 10,000 ports is more.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    });
    const store = new EtcdStore(client, opts.prefix ?? '/wyvern/');
    await store.revision(); // fail fast when nothing answers
    return store;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    try {
      const res = await this.client.kv.range({ key: this.keys.full(key) });
      return res.kvs.length > 0 ? toKeyValue(this.keys, res.kvs[0]) : undefined;
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  async range(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    try {
      const res = await this.client.kv.range(this.keys.range(prefix));
      return { kvs: res.kvs.map((kv) => toKeyValue(this.keys, kv)), revision: Number(res.header.revision) };
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  async rangeKeys(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    try {
      const res = await this.client.kv.range({ ...this.keys.range(prefix), keys_only: true });
      return { kvs: res.kvs.map((kv) => toKeyValue(this.keys, kv)), revision: Number(res.header.revision) };
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  /** Several gets/ranges in one read-only etcd txn: one round trip, one revision (etcd allows 128 by default). */
  async readMany(reads: readonly Read[]): Promise<KeyValue[][]> {
    this.assertOpen();
    if (reads.length === 0) return [];
    const success = reads.map((r) => ({ request_range: 'key' in r ? { key: this.keys.full(r.key) } : this.keys.range(r.prefix) }));
    try {
      const res = await this.client.kv.txn({ compare: [], success, failure: [] });
      return res.responses.map((op) => op.response_range.kvs.map((kv) => toKeyValue(this.keys, kv)));
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.assertOpen();
    const leases = [...req.success, ...(req.failure ?? [])].flatMap((op) => (op.type === 'put' && op.lease !== undefined ? [op.lease] : []));
    const request = {
      compare: req.compare.map((c) => toCompare(this.keys, c)),
      success: req.success.map((op) => toRequestOp(this.keys, op)),
      failure: (req.failure ?? []).map((op) => toRequestOp(this.keys, op)),
    };
    try {
      const res = await this.client.kv.txn(request);
      return { succeeded: res.succeeded, revision: Number(res.header.revision) };
    } catch (err) {
      throw mapEtcdError(err, leases[0]);
    }
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    const w = new EtcdWatch(this.client, this.keys, prefix, fromRevision, handlers, (x) => this.watches.delete(x));
    this.watches.add(w);
    return w;
  }

  async revision(): Promise<number> {
    this.assertOpen();
    try {
      const res = await this.client.kv.range({ key: this.keys.prefix, count_only: true });
      return Number(res.header.revision);
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (err) {
      if (err instanceof GRPCOutOfRangeError) return; // already compacted (or a future revision)
      throw mapEtcdError(err);
    }
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.kept.grant(ttlSeconds);
  }

  async grant(ttlSeconds: number): Promise<LeaseInfo> {
    this.assertOpen();
    if (!(ttlSeconds > 0)) throw new InvalidStoreRequestError('lease TTL must be positive');
    try {
      const res = await this.client.leaseClient.leaseGrant({ TTL: Math.ceil(ttlSeconds), ID: 0 });
      return { id: String(res.ID), ttlSeconds: Number(res.TTL) };
    } catch (err) {
      throw mapEtcdError(err);
    }
  }

  async keepAlive(id: string): Promise<LeaseInfo> {
    this.assertOpen();
    let res: ILeaseKeepAliveResponse;
    try {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        res = await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
          const timer = setTimeout(() => reject(new StoreUnavailableError('etcd keepalive timed out')), CALL_TIMEOUT_MS);
          stream.on('data', (r) => {
            clearTimeout(timer);
            resolve(r);
          });
          stream.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
          });
          stream.write({ ID: id });
        });
      } finally {
        stream.cancel();
      }
    } catch (err) {
      throw mapEtcdError(err, id);
    }
    if (Number(res.TTL) <= 0) throw new LeaseNotFoundError(id);
    return { id, ttlSeconds: Number(res.TTL) };
  }

  async revoke(id: string): Promise<void> {
    this.assertOpen();
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id });
    } catch (err) {
      throw mapEtcdError(err, id);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.kept.stopAll();
    await Promise.all([...this.watches].map((w) => w.cancel()));
    this.client.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('store is closed');
  }
}
