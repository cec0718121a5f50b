import { InvalidStoreRequestError, StoreClosedError } from './errors.js';
import { KeptLeases } from './kept-lease.js';
import { StoreHttpClient } from './remote-http.js';
import { RemoteWatch } from './remote-watch.js';
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
  WatchHandlers,
} from './types.js';

export interface RemoteStoreOptions {
  /** Timeout of one request. */
  readonly requestTimeoutMs?: number;
  /** A watch stream with no line (events or heartbeat) for this long is reconnected. */
  readonly heartbeatTimeoutMs?: number;
}

/**
 * The store of a Wyvern server in embedded mode, reached over HTTP (`http://HOST:PORT`), so a
 * controller behaves the same with `--nb http://...` as with `--nb etcd:...`. Requests that
 * cannot reach the server fail with StoreUnavailableError (recoverable); watches reconnect with
 * backoff and resume from the last delivered revision + 1; leases are kept alive from here and
 * reported lost when the server says they are gone or the TTL passes without a keepalive.
 */
export class RemoteStore implements Store, LeaseControl {
  readonly kind = 'remote';
  readonly leaseControl: LeaseControl = this;
  private readonly http: StoreHttpClient;
  private readonly heartbeatTimeoutMs: number;
  private readonly watches = new Set<RemoteWatch>();
  private readonly kept = new KeptLeases(this);
  private closed = false;

  constructor(baseUrl: string, options: RemoteStoreOptions = {}) {
    this.http = new StoreHttpClient(baseUrl, options.requestTimeoutMs ?? 10_000);
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5000;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    return (await this.http.call<{ kv: KeyValue | null }>('get', { key })).kv ?? undefined;
  }

  async range(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    return this.http.call<RangeResult>('range', { prefix });
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.assertOpen();
    return this.http.call<TxnResult>('txn', req);
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    const w = new RemoteWatch(this.http, prefix, fromRevision, handlers, this.heartbeatTimeoutMs, (x) => this.watches.delete(x));
    this.watches.add(w);
    return w;
  }

  async revision(): Promise<number> {
    this.assertOpen();
    return (await this.http.call<{ revision: number }>('revision')).revision;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    await this.http.call('compact', { revision });
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.kept.grant(ttlSeconds);
  }

  async grant(ttlSeconds: number): Promise<LeaseInfo> {
    this.assertOpen();
    if (!(ttlSeconds > 0)) throw new InvalidStoreRequestError('lease TTL must be positive');
    return this.http.call<LeaseInfo>('lease/grant', { ttlSeconds });
  }

  async keepAlive(id: string): Promise<LeaseInfo> {
    this.assertOpen();
    return this.http.call<LeaseInfo>('lease/keepalive', { id });
  }

  async revoke(id: string): Promise<void> {
    this.assertOpen();
    await this.http.call('lease/revoke', { id });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.kept.stopAll();
    await Promise.all([...this.watches].map((w) => w.cancel()));
    this.http.destroy();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('store is closed');
  }
}
