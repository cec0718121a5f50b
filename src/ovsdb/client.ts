/**
 * OVSDB client (RFC 7047) over JSON-RPC 1.0: `unix:PATH` or `tcp:IP:PORT`, echo keepalive with
 * dead-peer detection, reconnect with exponential backoff, and monitors that are re-established
 * after every reconnect (monitor_cond_since when the server has it, else monitor_cond, else
 * monitor).
 *
 * Events:
 *  - 'connect'    (): connected, and every registered monitor re-established
 *  - 'disconnect' (err: OvsdbError | undefined): the session ended (a reconnect follows unless closed)
 *  - 'reconnecting' (attempt: number, delayMs: number)
 *  - 'error'      (err: OvsdbError): malformed input, failed reconnect attempts, monitor
 *                 re-establishment failures. Only emitted when someone listens: never crashes.
 *  - 'notification' (method: string, params: unknown): any server notification
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { parseSchema, type DatabaseSchema } from './datum.js';
import {
  OvsdbConnectionError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbTransactError,
} from './errors.js';
import { JsonSplitter } from './framing.js';
import { encodeOperation, type Condition, type OpResult, type Operation, type TransactResult } from './operations.js';
import { encodeDatum } from './datum.js';

export type OvsdbTarget = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Parse `unix:PATH` or `tcp:IP:PORT` (IPv6 as `tcp:[::1]:6640`). */
export function parseTarget(s: string): OvsdbTarget {
  if (s.startsWith('unix:')) {
    const p = s.slice(5);
    if (!p) throw new OvsdbError(`bad OVSDB target ${s}`);
    return { kind: 'unix', path: p };
  }
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  if (m) {
    const port = Number(m[3]);
    if (port > 0 && port < 65536) return { kind: 'tcp', host: m[1] ?? m[2], port };
  }
  throw new OvsdbError(`bad OVSDB target ${s} (want unix:PATH or tcp:IP:PORT)`);
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface OvsdbClientOptions {
  /** Reconnect after a lost connection (default true). */
  readonly reconnect?: boolean;
  readonly backoffInitialMs?: number; // default 100
  readonly backoffMaxMs?: number; // default 5000
  /** Send an echo after this long without input; drop the connection after twice this (default 5000; 0 = off). */
  readonly echoIntervalMs?: number;
  /** Reject a request that has no reply after this long (default 60000; 0 = never). */
  readonly requestTimeoutMs?: number;
  readonly maxFrameBytes?: number;
}

/** The per-table monitor request (monitor_cond form; `where` is dropped for plain monitor). */
export interface MonitorTableRequest {
  readonly columns?: readonly string[];
  readonly where?: readonly Condition[];
}
export type MonitorRequests = Record<string, MonitorTableRequest>;
export type MonitorMethod = 'monitor' | 'monitor_cond' | 'monitor_cond_since';

/** What a monitor delivers to its handler. */
export type MonitorEvent =
  | {
      readonly kind: 'initial';
      /** 1 = RFC 7047 `update` format ({old,new}); 2 = update2 format ({initial|insert|modify|delete}). */
      readonly format: 1 | 2;
      readonly updates: unknown;
      /** True: `updates` is the complete current state (replace the replica). False: changes since the last txn id. */
      readonly full: boolean;
      readonly method: MonitorMethod;
    }
  | { readonly kind: 'update'; readonly format: 1 | 2; readonly updates: unknown };

export type MonitorHandler = (ev: MonitorEvent) => void;

export interface MonitorHandle {
  readonly id: string;
  readonly db: string;
  /** The method in use on the current connection. */
  readonly method: MonitorMethod | undefined;
  /** The last transaction id seen (monitor_cond_since only). */
  readonly lastTxnId: string;
  cancel(): Promise<void>;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface MonitorReg {
  id: string;
  db: string;
  requests: MonitorRequests;
  handler: MonitorHandler;
  method: MonitorMethod | undefined;
  lastTxnId: string;
  cancelled: boolean;
  forced: MonitorMethod | undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeOpResult(r: unknown): OpResult {
  if (!isObj(r)) return {};
  const out: { uuid?: string; count?: number; rows?: Record<string, unknown>[] } = {};
  if (Array.isArray(r.uuid) && typeof r.uuid[1] === 'string') out.uuid = r.uuid[1];
  if (typeof r.count === 'number') out.count = r.count;
  if (Array.isArray(r.rows)) out.rows = r.rows as Record<string, unknown>[];
  return out;
}

export class OvsdbClient extends EventEmitter {
  readonly target: OvsdbTarget;
  private readonly opts: Required<OvsdbClientOptions>;
  private _state: ConnectionState = 'idle';
  private socket: net.Socket | undefined;
  private splitter: JsonSplitter;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private monitors = new Map<string, MonitorReg>();
  private nextMonitor = 1;
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  private attempt = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private echoTimer: NodeJS.Timeout | undefined;
  private lastRx = 0;
  private echoOutstanding = false;
  /** Incremented per socket so stale callbacks are ignored. */
  private generation = 0;
  /** Methods the server answered "unknown method" to (per connection). */
  private unsupported = new Set<string>();

  constructor(target: string | OvsdbTarget, opts: OvsdbClientOptions = {}) {
    super();
    this.target = typeof target === 'string' ? parseTarget(target) : target;
    this.opts = {
      reconnect: opts.reconnect ?? true,
      backoffInitialMs: opts.backoffInitialMs ?? 100,
      backoffMaxMs: opts.backoffMaxMs ?? 5000,
      echoIntervalMs: opts.echoIntervalMs ?? 5000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
      maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024 * 1024,
    };
    this.splitter = new JsonSplitter({ maxFrameBytes: this.opts.maxFrameBytes });
  }

  /** Create a client and wait for its first connection. */
  static async connect(target: string | OvsdbTarget, opts: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const c = new OvsdbClient(target, opts);
    await c.start();
    return c;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Connect; resolves on the first successful connection (retrying with backoff if reconnect is on). */
  start(): Promise<void> {
    if (this._state === 'idle') this.dial();
    return this.whenConnected();
  }

  /** Resolves once connected (monitors re-established); rejects if the client is closed. */
  whenConnected(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(new OvsdbConnectionError('client closed', false));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Close for good: no reconnect; outstanding requests are rejected. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closed';
    clearTimeout(this.backoffTimer);
    this.stopEcho();
    const err = new OvsdbConnectionError('client closed', false);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.failPending(err);
    const s = this.socket;
    this.socket = undefined;
    this.generation++;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
  }

  // ---- RFC 7047 methods --------------------------------------------------------------------

  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  /** The schema, parsed into typed column types. */
  async getSchema(db: string): Promise<DatabaseSchema> {
    return parseSchema(await this.request('get_schema', [db]));
  }

  async echo(): Promise<void> {
    await this.request('echo', []);
  }

  /**
   * Run one transaction. Resolves with every operation's result (uuids as strings) and the real
   * uuid of each named insert; rejects with OvsdbTransactError naming the failing operation.
   */
  async transact(db: string, ops: readonly Operation[]): Promise<TransactResult> {
    const reply = await this.request('transact', [db, ...ops.map(encodeOperation)]);
    if (!Array.isArray(reply)) throw new OvsdbProtocolError('transact reply is not an array');
    for (let i = 0; i < reply.length; i++) {
      const r = reply[i] as unknown;
      if (isObj(r) && typeof r.error === 'string') {
        throw new OvsdbTransactError(i, ops[i], r.error, typeof r.details === 'string' ? r.details : undefined);
      }
    }
    const results = reply.slice(0, ops.length).map(decodeOpResult);
    const namedUuids: Record<string, string> = {};
    ops.forEach((op, i) => {
      if (op.op === 'insert' && op.uuidName !== undefined && results[i]?.uuid) namedUuids[op.uuidName] = results[i].uuid!;
    });
    return { results, namedUuids };
  }

  /**
   * Register a monitor and wait for its initial state. It is re-established after every
   * reconnect; its handler then gets another 'initial' event (full, or the changes since the
   * last txn id with monitor_cond_since).
   */
  async monitor(
    db: string,
    requests: MonitorRequests,
    handler: MonitorHandler,
    opts: { method?: MonitorMethod } = {},
  ): Promise<MonitorHandle> {
    const reg: MonitorReg = {
      id: `wyvern-${this.nextMonitor++}`,
      db,
      requests,
      handler,
      method: undefined,
      lastTxnId: ZERO_UUID,
      cancelled: false,
      forced: opts.method,
    };
    this.monitors.set(reg.id, reg);
    await this.whenConnected();
    try {
      await this.establish(reg);
    } catch (err) {
      this.monitors.delete(reg.id);
      throw err;
    }
    return {
      id: reg.id,
      db,
      get method() {
        return reg.method;
      },
      get lastTxnId() {
        return reg.lastTxnId;
      },
      cancel: async () => {
        reg.cancelled = true;
        this.monitors.delete(reg.id);
        if (this._state === 'connected') {
          try {
            await this.request('monitor_cancel', [reg.id]);
          } catch {
            // The monitor may be gone with the session; nothing to undo.
          }
        }
      },
    };
  }

  /** Send a request and wait for its reply's result (rejects with OvsdbRpcError on `error`). */
  async request(method: string, params: unknown[]): Promise<unknown> {
    await this.whenConnected();
    return this.send(method, params);
  }

  // ---- internals ---------------------------------------------------------------------------

  private send(method: string, params: unknown[]): Promise<unknown> {
    const s = this.socket;
    if (!s || s.destroyed) return Promise.reject(new OvsdbConnectionError(`${method}: not connected`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { method, resolve, reject, timer: undefined };
      if (this.opts.requestTimeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new OvsdbConnectionError(`${method}: no reply after ${this.opts.requestTimeoutMs} ms`));
        }, this.opts.requestTimeoutMs);
        p.timer.unref?.();
      }
      this.pending.set(id, p);
      s.write(JSON.stringify({ method, params, id }));
    });
  }

  private async establish(reg: MonitorReg): Promise<void> {
    const forced = reg.forced;
    const order: MonitorMethod[] = forced ? [forced] : ['monitor_cond_since', 'monitor_cond', 'monitor'];
    for (const method of order) {
      if (!forced && this.unsupported.has(method)) continue;
      const reqs: Record<string, unknown> = {};
      for (const [t, r] of Object.entries(reg.requests)) {
        const o: Record<string, unknown> = {};
        if (r.columns) o.columns = [...r.columns];
        if (r.where && method !== 'monitor') o.where = r.where.map(([c, f, v]) => [c, f, encodeDatum(v)]);
        reqs[t] = o;
      }
      const params: unknown[] = [reg.db, reg.id, reqs];
      if (method === 'monitor_cond_since') params.push(reg.lastTxnId);
      let reply: unknown;
      try {
        reply = await this.send(method, params);
      } catch (err) {
        if (!forced && err instanceof OvsdbRpcError && err.error === 'unknown method') {
          this.unsupported.add(method);
          continue;
        }
        throw err;
      }
      reg.method = method;
      if (method === 'monitor_cond_since') {
        if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'boolean' || typeof reply[1] !== 'string') {
          throw new OvsdbProtocolError('bad monitor_cond_since reply');
        }
        reg.lastTxnId = reply[1];
        reg.handler({ kind: 'initial', format: 2, updates: reply[2], full: !reply[0], method });
      } else {
        reg.handler({ kind: 'initial', format: method === 'monitor' ? 1 : 2, updates: reply, full: true, method });
      }
      return;
    }
    throw new OvsdbProtocolError('server supports no monitor method');
  }

  private dial(): void {
    this._state = 'connecting';
    const gen = ++this.generation;
    const s =
      this.target.kind === 'unix'
        ? net.createConnection({ path: this.target.path })
        : net.createConnection({ host: this.target.host, port: this.target.port });
    this.socket = s;
    s.setNoDelay?.(true);
    s.on('data', (chunk: Buffer) => {
      if (gen === this.generation) this.onData(chunk);
    });
    s.on('error', (err) => {
      if (gen !== this.generation) return;
      this.emitError(new OvsdbConnectionError(`${this.describe()}: ${err.message}`));
    });
    s.on('close', () => {
      if (gen === this.generation) this.onClose();
    });
    s.once('connect', () => {
      if (gen !== this.generation) return;
      void this.onConnected(gen);
    });
  }

  private async onConnected(gen: number): Promise<void> {
    this.unsupported.clear();
    this.splitter.reset();
    this.lastRx = Date.now();
    this.startEcho();
    try {
      for (const reg of [...this.monitors.values()]) {
        if (reg.method !== undefined && !reg.cancelled) await this.establish(reg);
      }
    } catch (err) {
      if (gen !== this.generation) return;
      this.emitError(err instanceof OvsdbError ? err : new OvsdbProtocolError(String(err)));
      this.resetConnection();
      return;
    }
    if (gen !== this.generation) return;
    this.attempt = 0;
    this._state = 'connected';
    for (const w of this.waiters.splice(0)) w.resolve();
    this.emit('connect');
  }

  private describe(): string {
    return this.target.kind === 'unix' ? `unix:${this.target.path}` : `tcp:${this.target.host}:${this.target.port}`;
  }

  private onClose(): void {
    this.stopEcho();
    this.socket = undefined;
    const wasConnected = this._state === 'connected';
    const err = new OvsdbConnectionError(`${this.describe()}: connection closed`);
    this.failPending(err);
    if (this._state === 'closed') return;
    if (wasConnected) this.emit('disconnect', err);
    if (!this.opts.reconnect) {
      this._state = 'closed';
      for (const w of this.waiters.splice(0)) w.reject(err);
      return;
    }
    this._state = 'backoff';
    const base = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** Math.min(this.attempt, 16));
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt++;
    this.emit('reconnecting', this.attempt, delay);
    this.backoffTimer = setTimeout(() => {
      if (this._state === 'backoff') this.dial();
    }, delay);
  }

  /** Drop the current connection (a reconnect follows if enabled). */
  resetConnection(): void {
    this.socket?.destroy();
  }

  private failPending(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private emitError(err: OvsdbError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private startEcho(): void {
    this.stopEcho();
    const iv = this.opts.echoIntervalMs;
    if (iv <= 0) return;
    this.echoOutstanding = false;
    this.echoTimer = setInterval(() => {
      const idle = Date.now() - this.lastRx;
      if (idle >= 2 * iv) {
        this.emitError(new OvsdbConnectionError(`${this.describe()}: no input for ${idle} ms, dropping connection`));
        this.resetConnection();
      } else if (idle >= iv && !this.echoOutstanding) {
        this.echoOutstanding = true;
        this.send('echo', []).then(
          () => (this.echoOutstanding = false),
          () => (this.echoOutstanding = false),
        );
      }
    }, Math.max(10, Math.floor(iv / 2)));
    this.echoTimer.unref?.();
  }

  private stopEcho(): void {
    if (this.echoTimer) clearInterval(this.echoTimer);
    this.echoTimer = undefined;
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    for (const r of this.splitter.push(chunk)) {
      if (r.type === 'error') {
        this.protocolFailure(r.error);
        return;
      }
      try {
        this.onMessage(r.value);
      } catch (err) {
        this.protocolFailure(err instanceof OvsdbError ? err : new OvsdbProtocolError(`bad message: ${String(err)}`));
        return;
      }
    }
  }

  /** Malformed input: report it, and reset the connection (never throw). */
  private protocolFailure(err: OvsdbError): void {
    this.emitError(err);
    this.splitter.reset();
    this.resetConnection();
  }

  private onMessage(msg: unknown): void {
    if (!isObj(msg)) throw new OvsdbProtocolError('JSON-RPC message is not an object');
    if (typeof msg.method === 'string') {
      const params = Array.isArray(msg.params) ? msg.params : [];
      if (msg.id !== null && msg.id !== undefined) {
        // A request from the server.
        if (msg.method === 'echo') this.write({ result: params, error: null, id: msg.id });
        else this.write({ result: null, error: 'unknown method', id: msg.id });
        return;
      }
      this.onNotification(msg.method, params);
      return;
    }
    if (!('result' in msg) && !('error' in msg)) throw new OvsdbProtocolError('JSON-RPC message is neither request nor reply');
    if (typeof msg.id !== 'number') throw new OvsdbProtocolError(`reply with unexpected id ${JSON.stringify(msg.id)}`);
    const p = this.pending.get(msg.id);
    if (!p) return; // Timed out earlier: ignore the late reply.
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error !== null && msg.error !== undefined) {
      const e = isObj(msg.error) && typeof msg.error.error === 'string' ? msg.error.error : msg.error;
      p.reject(new OvsdbRpcError(p.method, e));
    } else {
      p.resolve(msg.result);
    }
  }

  private onNotification(method: string, params: unknown[]): void {
    this.emit('notification', method, params);
    if (method === 'update' || method === 'update2') {
      const reg = this.monitors.get(String(params[0]));
      if (!reg || reg.cancelled) return;
      reg.handler({ kind: 'update', format: method === 'update' ? 1 : 2, updates: params[1] });
    } else if (method === 'update3') {
      const reg = this.monitors.get(String(params[0]));
      if (!reg || reg.cancelled) return;
      if (typeof params[1] === 'string') reg.lastTxnId = params[1];
      reg.handler({ kind: 'update', format: 2, updates: params[2] });
    }
  }

  private write(msg: unknown): void {
    const s = this.socket;
    if (s && !s.destroyed) s.write(JSON.stringify(msg));
  }
}

