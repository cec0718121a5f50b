/** Test harness: an API server on a free port over a memory (or given) store. */
import type { Server } from 'node:http';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { NeutronApi, type ApiOptions } from '../../../src/server/app.js';
import { networksPlugin } from '../../../src/server/resources/networks.js';
import { portsPlugin } from '../../../src/server/resources/ports.js';
import { subnetsPlugin } from '../../../src/server/resources/subnets.js';

/** The resources these tests cover; other resources have their own tests. */
export const BASE_PLUGINS = [networksPlugin, subnetsPlugin, portsPlugin];

export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Harness {
  readonly url: string;
  readonly api: NeutronApi;
  readonly store: Store;
  /** Request as the given project (noauth headers); `admin: true` adds the admin role. */
  req(method: string, path: string, body?: unknown, as?: { project?: string; admin?: boolean; roles?: string; headers?: Record<string, string> }): Promise<Reply<Json>>;
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions & { store?: Store } = {}): Promise<Harness> {
  const store = opts.store ?? new MemoryStore();
  const api = new NeutronApi(store, { onError: () => undefined, plugins: BASE_PLUGINS, ...opts });
  const { server, url } = await api.listen('127.0.0.1', 0);
  return {
    url,
    api,
    store,
    async req(method, path, body, as = {}) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(as.headers ?? {}) };
      if (as.project) headers['X-Project-Id'] = as.project;
      if (as.admin) headers['X-Roles'] = 'admin';
      else if (as.roles) headers['X-Roles'] = as.roles;
      const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Json) };
    },
    async close() {
      await closeServer(server);
      await store.close();
    },
  };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Create network + subnet, return ids. */
export async function netWithSubnet(h: Harness, cidr = '10.0.0.0/24', as: { project?: string } = {}, extra: Record<string, unknown> = {}): Promise<{ net: string; subnet: string }> {
  const n = await h.req('POST', '/v2.0/networks', { network: { name: 'n' } }, as);
  if (n.status !== 201) throw new Error(JSON.stringify(n));
  const s = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, ip_version: cidr.includes(':') ? 6 : 4, cidr, ...extra } }, as);
  if (s.status !== 201) throw new Error(JSON.stringify(s));
  return { net: n.body.network.id as string, subnet: s.body.subnet.id as string };
}

export function expectFault(r: Reply<Json>, status: number, type: string): void {
  if (r.status !== status || r.body?.NeutronError?.type !== type) {
    throw new Error(`expected ${status} ${type}, got ${r.status} ${JSON.stringify(r.body)}`);
  }
  const e = r.body.NeutronError;
  if (typeof e.message !== 'string' || typeof e.detail !== 'string') throw new Error('bad NeutronError shape');
}
