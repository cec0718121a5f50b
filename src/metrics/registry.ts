/**
 * One Prometheus registry per process part (API server, controller), never prom-client's global
 * one: tests and benchmarks run several servers and controllers in one process, and each must
 * expose only its own series. Process and Node.js runtime metrics (`process_*`, `nodejs_*`) are
 * added to the registry a CLI process serves, once.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Registry };

/** A fresh registry; `process: true` adds the standard process and runtime collectors. */
export function createRegistry(opts: { readonly process?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.process) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Prefix of every Wyvern series (docs/metrics.md). */
export const PREFIX = 'wyvern_';
