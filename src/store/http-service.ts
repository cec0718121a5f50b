import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidStoreRequestError } from './errors.js';
import { STORE_HTTP_BASE, toWireError, type WatchLine } from './http-protocol.js';
import type { Store, SubjectFn, TxnRequest, Watch, WatchEvent } from './types.js';

/** Encoded watch lines by event batch (the watch hub hands one batch to every watcher of a prefix). */
const encodedBatches = new WeakMap<readonly WatchEvent[], string>();

export interface StoreHttpOptions {
  /** Interval of heartbeat lines on watch streams (the client declares the stream dead without them). */
  readonly heartbeatMs?: number;
  /** Largest accepted request body. */
  readonly maxBodyBytes?: number;
  /** Subject functions watchers may route by, by name (`POST watch/interest`). */
  readonly routes?: Readonly<Record<string, SubjectFn>>;
}

/**
 * Serve `store` to remote controllers under `/wyvern/store/v1/`:
 *   POST get {key} → {kv|null} · POST range {prefix} → RangeResult · POST txn TxnRequest → TxnResult
 *   GET revision → {revision} · POST compact {revision}
 *   POST lease/grant {ttlSeconds} · POST lease/keepalive {id} · POST lease/revoke {id} → LeaseInfo | {}
 *   GET watch?prefix=P&from=N → newline-delimited JSON (`WatchLine`): `created` (with the
 *   stream's `watchId`), then `events` per revision, `heartbeat` lines, and a final `compacted`
 *   or `error`.
 *   POST watch/interest {watchId, route, subjects|null} → {}: route that stream by
 *   `options.routes[route]` (see Watch.setInterest); the stream then carries the events of
 *   those subjects and progress lines (`events` with none) for the rest. Effective when answered.
 * Errors are `{error: WireError}` with a 4xx/5xx status. Returns false for any other path, so
 * the caller can mount it beside its own routes.
 */
export function createStoreHttpHandler(
  store: Store,
  options: StoreHttpOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const routes = options.routes ?? {};
  /** Live watch streams by id, for `watch/interest`. */
  const streams = new Map<string, Watch>();
  let nextStream = 1;

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://store');
    if (!url.pathname.startsWith(STORE_HTTP_BASE)) return false;
    const route = `${req.method ?? 'GET'} ${url.pathname.slice(STORE_HTTP_BASE.length)}`;
    void dispatch(route, url, req, res).catch((err: unknown) => sendError(res, err));
    return true;
  };

  async function dispatch(route: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const leases = store.leaseControl;
    switch (route) {
      case 'GET revision':
        return send(res, { revision: await store.revision() });
      case 'GET watch':
        return serveWatch(url, req, res);
      case 'POST get': {
        const { key } = await body<{ key: string }>(req);
        return send(res, { kv: (await store.get(str(key, 'key'))) ?? null });
      }
      case 'POST range': {
        const { prefix } = await body<{ prefix: string }>(req);
        return send(res, await store.range(str(prefix, 'prefix')));
      }
      case 'POST watch/interest': {
        const b = await body<{ watchId?: string; route?: string; subjects?: unknown }>(req);
        const w = streams.get(str(b.watchId, 'watchId'));
        if (!w) throw new InvalidStoreRequestError(`no watch stream ${b.watchId}`);
        const route = routes[str(b.route, 'route')];
        if (!route || !w.setInterest) throw new InvalidStoreRequestError(`this store cannot route by ${JSON.stringify(b.route)}`);
        if (b.subjects !== null && !(Array.isArray(b.subjects) && b.subjects.every((x) => typeof x === 'string'))) {
          throw new InvalidStoreRequestError('subjects must be an array of strings or null');
        }
        await w.setInterest(route, b.subjects === null ? undefined : new Set(b.subjects as string[]));
        return send(res, {});
      }
      case 'POST txn':
        return send(res, await store.txn(await body<TxnRequest>(req)));
      case 'POST compact': {
        const { revision } = await body<{ revision: number }>(req);
        if (store.compact === undefined) throw new InvalidStoreRequestError('this store cannot compact');
        await store.compact(num(revision, 'revision'));
        return send(res, {});
      }
      case 'POST lease/grant':
      case 'POST lease/keepalive':
      case 'POST lease/revoke': {
        if (leases === undefined) throw new InvalidStoreRequestError('this store does not serve raw leases');
        const b = await body<{ ttlSeconds?: number; id?: string }>(req);
        if (route === 'POST lease/grant') return send(res, await leases.grant(num(b.ttlSeconds, 'ttlSeconds')));
        if (route === 'POST lease/keepalive') return send(res, await leases.keepAlive(str(b.id, 'id')));
        await leases.revoke(str(b.id, 'id'));
        return send(res, {});
      }
      default:
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'InvalidRequest', message: `no store endpoint ${route}` } }));
    }
  }

  async function serveWatch(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const prefix = url.searchParams.get('prefix') ?? '';
    let from = Number(url.searchParams.get('from') ?? '0');
    if (!Number.isInteger(from)) throw new InvalidStoreRequestError('from must be an integer');
    if (from <= 0) from = (await store.revision()) + 1;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    const line = (l: WatchLine): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify(l)}\n`);
    };
    const watchId = String(nextStream++);
    line({ type: 'created', fromRevision: from, watchId });
    const live: { watch?: Watch; heartbeat?: NodeJS.Timeout; finished: boolean } = { finished: false };
    const finish = (): void => {
      if (live.finished) return;
      live.finished = true;
      streams.delete(watchId);
      clearInterval(live.heartbeat);
      void live.watch?.cancel();
      if (!res.writableEnded) res.end();
    };
    const watch = store.watch(prefix, from, {
      onEvents: (events, revision) => {
        // Watchers of one prefix get the same batch: encode it once for all of them.
        let text = encodedBatches.get(events);
        if (text === undefined) {
          text = `${JSON.stringify({ type: 'events', revision, events } satisfies WatchLine)}\n`;
          encodedBatches.set(events, text);
        }
        if (!res.writableEnded) res.write(text);
      },
      onCompacted: (compactRevision) => {
        line({ type: 'compacted', compactRevision });
        finish();
      },
      onError: (err) => {
        line({ type: 'error', error: toWireError(err).body });
        finish();
      },
    });
    live.watch = watch;
    if (!live.finished) streams.set(watchId, watch);
    if (live.finished) {
      void watch.cancel();
      return;
    }
    live.heartbeat = setInterval(() => line({ type: 'heartbeat' }), heartbeatMs);
    req.socket.setNoDelay(true);
    res.on('close', finish);
  }

  async function body<T>(req: IncomingMessage): Promise<T> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) throw new InvalidStoreRequestError('request body too large');
      chunks.push(chunk);
    }
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      if (typeof parsed !== 'object' || parsed === null) throw new InvalidStoreRequestError('body must be a JSON object');
      return parsed as T;
    } catch (err) {
      throw err instanceof InvalidStoreRequestError ? err : new InvalidStoreRequestError('malformed JSON body');
    }
  }
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new InvalidStoreRequestError(`${name} must be a string`);
  return v;
}

function num(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidStoreRequestError(`${name} must be a number`);
  return v;
}

function send(res: ServerResponse, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = toWireError(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify({ error: body });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
