/**
 * Everything the API server exposes at `GET /metrics`: API requests, the store under it
 * (transactions, watch lag, open watches, revision) and the process. `cli/server.ts` wires it;
 * benchmarks and tests use the same function.
 */
import { Gauge, type Registry } from 'prom-client';
import type { NeutronApi, ResponseInfo } from '../server/app.js';
import type { Store } from '../store/types.js';
import { apiMetrics } from './api-metrics.js';
import { metricsHandler } from './http.js';
import { createRegistry, PREFIX } from './registry.js';
import { instrumentStore, storeMetrics } from './store-metrics.js';

export interface ServerInstrumentation {
  readonly registry: Registry;
  /** The store to give the API and the store's HTTP service (measured). */
  readonly store: Store;
  /** `ApiOptions.onResponse`. */
  readonly onResponse: (info: ResponseInfo) => void;
  /** A pre-handler answering `GET /metrics`. */
  readonly handler: ReturnType<typeof metricsHandler>;
  /** Tell the instrumentation which API it measures (its collections label requests). */
  attach(api: NeutronApi): void;
}

export function instrumentServer(store: Store, registry: Registry = createRegistry()): ServerInstrumentation {
  const measured = instrumentStore(store, storeMetrics(registry));
  new Gauge({
    name: `${PREFIX}store_revision`,
    help: 'Current north-bound store revision (read at scrape).',
    labelNames: ['driver'] as const,
    registers: [registry],
    async collect() {
      this.set({ driver: store.kind }, await store.revision());
    },
  });
  let api: NeutronApi | undefined;
  const am = apiMetrics(
    registry,
    (c) => api?.registry.get(c) !== undefined,
    (c, a) => api?.registry.get(c)?.memberActions?.[a] !== undefined,
  );
  return {
    registry,
    store: measured,
    onResponse: am.onResponse,
    handler: metricsHandler(registry),
    attach(a) {
      api = a;
    },
  };
}
