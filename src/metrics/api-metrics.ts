/**
 * API server metrics: requests by resource, method and status, and their latency. Fed by
 * `ApiOptions.onResponse` (one call per answered request); the resource label comes from the
 * path and is bounded: a registered collection, `collection/tags`, `collection/ACTION` (member
 * actions), `versions`, `resources`, `extensions`, else `other`.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ResponseInfo } from '../server/app.js';
import { PREFIX } from './registry.js';

/** Seconds buckets for API requests: 1 ms .. 10 s. */
export const API_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS']);

/**
 * The resource label of a request path. `isCollection` says which collections exist (the API's
 * registry), `actions` which member actions a collection has.
 */
export function resourceLabel(url: string, isCollection: (name: string) => boolean, isAction: (collection: string, action: string) => boolean): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '').replace(/\.json$/, '');
  if (path === '') return 'versions';
  const parts = path.split('/');
  // parts[0] is '' (leading slash)
  if (parts[1] !== 'v2.0') return 'other';
  if (parts.length === 2) return 'resources';
  const collection = parts[2];
  if (collection === 'extensions') return 'extensions';
  if (!isCollection(collection)) return 'other';
  const sub = parts[4];
  if (sub === undefined) return collection;
  if (sub === 'tags') return `${collection}/tags`;
  return isAction(collection, sub) ? `${collection}/${sub}` : 'other';
}

export interface ApiMetrics {
  /** Give this to `new NeutronApi(store, { onResponse })`. */
  readonly onResponse: (info: ResponseInfo) => void;
}

export function apiMetrics(
  registry: Registry,
  isCollection: (name: string) => boolean,
  isAction: (collection: string, action: string) => boolean = () => false,
): ApiMetrics {
  const requests = new Counter({
    name: `${PREFIX}api_requests_total`,
    help: 'Neutron API requests answered, by resource, method and HTTP status.',
    labelNames: ['resource', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${PREFIX}api_request_duration_seconds`,
    help: 'Neutron API request latency (arrival to answer written), by resource and method.',
    labelNames: ['resource', 'method'] as const,
    buckets: API_BUCKETS,
    registers: [registry],
  });
  // Children by label values: after the first request of a kind, a request costs one map
  // lookup per metric, an increment and an observation.
  const counters = new Map<string, ReturnType<typeof requests.labels>>();
  const timers = new Map<string, ReturnType<typeof duration.labels>>();
  return {
    onResponse(info) {
      const seconds = (performance.now() - info.startedAt) / 1000;
      const method = METHODS.has(info.req.method ?? '') ? (info.req.method as string) : 'other';
      const resource = resourceLabel(info.req.url ?? '/', isCollection, isAction);
      const rm = `${resource} ${method}`;
      let t = timers.get(rm);
      if (t === undefined) timers.set(rm, (t = duration.labels(resource, method)));
      t.observe(seconds);
      const rms = `${rm} ${info.status}`;
      let c = counters.get(rms);
      if (c === undefined) counters.set(rms, (c = requests.labels(resource, method, String(info.status))));
      c.inc();
    },
  };
}
