/**
 * The topology page at `/ui/` (docs/ui.md): static files from the repository (src/ui/static, and
 * cytoscape.js from node_modules: no CDN), and two endpoints the page needs besides the Neutron
 * API it reads with the user's own credentials:
 *
 *   GET /ui/api/chassis  registrations and status records of every chassis (authenticated)
 *   GET /ui/api/events   server-sent events: `change` with the revision and the collections a
 *                        store transaction touched (no record contents: the page reads those
 *                        through the API, under the API's policy). EventSource cannot send
 *                        headers, so the credentials come as `?token=` (keystone) / `?project=`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHASSIS_PREFIX } from '../model/chassis.js';
import { NB_PREFIX } from '../model/keys.js';
import { CHASSIS_STATUS_PREFIX } from '../model/status.js';
import type { Authenticator } from '../server/auth.js';
import type { Store, Watch } from '../store/types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** src/ui/static beside this file (sources) or in the source tree next to dist/. */
function staticDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['static', '../../../src/ui/static']) {
    const dir = path.resolve(here, rel);
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error('ui: static files not found (src/ui/static)');
}

function files(): Map<string, { type: string; body: Buffer }> {
  const dir = staticDir();
  const out = new Map<string, { type: string; body: Buffer }>();
  for (const name of ['index.html', 'app.js', 'style.css']) {
    out.set(`/ui/${name === 'index.html' ? '' : name}`, { type: TYPES[path.extname(name)], body: readFileSync(path.join(dir, name)) });
  }
  const cy = createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js');
  out.set('/ui/vendor/cytoscape.min.js', { type: TYPES['.js'], body: readFileSync(cy) });
  return out;
}

export interface UiOptions {
  readonly store: Store;
  readonly auth: Authenticator;
  /** SSE heartbeat interval (a comment line) so proxies keep the stream. */
  readonly heartbeatMs?: number;
}

/** The collection of a north-bound key (`/nb/ports/ID` → `ports`), or `chassis`. */
function collectionOf(key: string): string | undefined {
  if (key.startsWith(NB_PREFIX)) return key.slice(NB_PREFIX.length).split('/')[0];
  if (key.startsWith(CHASSIS_PREFIX)) return 'chassis';
  if (key.startsWith(CHASSIS_STATUS_PREFIX)) return 'chassis';
  return undefined;
}

/** A pre-handler for NeutronApi (or any node:http server): true when it answered. */
export function uiHandler(o: UiOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const assets = files();
  const heartbeatMs = o.heartbeatMs ?? 15_000;

  const authenticate = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<boolean> => {
    const headers: IncomingHttpHeaders = { ...req.headers };
    const token = url.searchParams.get('token');
    const project = url.searchParams.get('project');
    if (token) headers['x-auth-token'] = token;
    if (project) headers['x-project-id'] = project;
    try {
      await o.auth.authenticate(headers);
      return true;
    } catch {
      const body = Buffer.from(JSON.stringify({ error: 'authentication required' }));
      res.writeHead(401, { 'Content-Type': 'application/json', 'Content-Length': body.length }).end(body);
      return false;
    }
  };

  const chassis = async (res: ServerResponse): Promise<void> => {
    const [regs, records] = await Promise.all([o.store.range(CHASSIS_PREFIX), o.store.range(CHASSIS_STATUS_PREFIX)]);
    const byName = new Map<string, Record<string, unknown>>();
    for (const kv of records.kvs) {
      try {
        const r = JSON.parse(kv.value) as Record<string, unknown>;
        byName.set(kv.key.slice(CHASSIS_STATUS_PREFIX.length), { name: kv.key.slice(CHASSIS_STATUS_PREFIX.length), alive: false, status: r });
      } catch {
        // unreadable: left out
      }
    }
    for (const kv of regs.kvs) {
      const name = kv.key.slice(CHASSIS_PREFIX.length);
      try {
        const r = JSON.parse(kv.value) as Record<string, unknown>;
        byName.set(name, { ...(byName.get(name) ?? {}), name, alive: true, registration: r });
      } catch {
        // unreadable: left out
      }
    }
    const body = Buffer.from(JSON.stringify({ revision: Math.max(regs.revision, records.revision), chassis: [...byName.values()] }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-store' }).end(body);
  };

  const events = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    const revision = await o.store.revision();
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ revision })}\n\n`);
    const watches: Watch[] = [];
    const send = (events: readonly { key: string }[], rev: number): void => {
      const collections = [...new Set(events.map((e) => collectionOf(e.key)).filter((c): c is string => c !== undefined))];
      if (collections.length > 0) res.write(`event: change\ndata: ${JSON.stringify({ revision: rev, collections })}\n\n`);
    };
    const closeAll = (): void => {
      clearInterval(beat);
      for (const w of watches) void w.cancel();
      watches.length = 0;
    };
    for (const prefix of [NB_PREFIX, CHASSIS_PREFIX, CHASSIS_STATUS_PREFIX]) {
      watches.push(o.store.watch(prefix, revision + 1, { onEvents: send, onError: () => res.end(), onCompacted: () => res.end() }));
    }
    const beat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    req.on('close', closeAll);
    res.on('close', closeAll);
  };

  return async (req, res) => {
    const raw = req.url ?? '/';
    if (!raw.startsWith('/ui')) return false;
    const url = new URL(raw, 'http://ui');
    if (url.pathname === '/ui') {
      res.writeHead(301, { Location: '/ui/', 'Content-Length': '0' }).end();
      return true;
    }
    if (!url.pathname.startsWith('/ui/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': '0' }).end();
      return true;
    }
    const asset = assets.get(url.pathname);
    if (asset) {
      res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    }
    if (url.pathname === '/ui/api/chassis') {
      if (await authenticate(req, url, res)) await chassis(res);
      return true;
    }
    if (url.pathname === '/ui/api/events') {
      if (await authenticate(req, url, res)) await events(req, res);
      return true;
    }
    res.writeHead(404, { 'Content-Length': '0' }).end();
    return true;
  };
}
