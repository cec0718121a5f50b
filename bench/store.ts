/**
 * Store benchmark: txn/s for single-key puts and for put-with-compare (create if absent), and
 * watch delivery latency (txn issued → watcher called), for sqlite, etcd and remote (HTTP over
 * sqlite), side by side. Starts its own etcd in a temp dir. Last line: `RESULT {json}`.
 *
 *   npm run bench:store            (BENCH_OPS=N to change the number of writes)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdStore } from '../src/store/etcd.js';
import { RemoteStore } from '../src/store/remote.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { EtcdProcess } from '../test/support/etcd.js';
import { StoreServer } from '../test/unit/store/store-server.js';

const OPS = Number(process.env.BENCH_OPS ?? 3000);
const CONCURRENCY = 32;
const LATENCY_SAMPLES = 500;

interface Row {
  driver: string;
  putsPerSec: number;
  casPerSec: number;
  watchP50Ms: number;
  watchP99Ms: number;
}

async function throughput(store: Store, prefix: string, withCompare: boolean, ops = OPS): Promise<number> {
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < ops) {
      const key = `${prefix}${next++}`;
      const r = await store.txn({
        compare: withCompare ? [{ key, target: 'createRevision', op: '=', value: 0 }] : [],
        success: [{ type: 'put', key, value: `{"id":"${key}","n":${next}}` }],
      });
      if (!r.succeeded) throw new Error(`unexpected failed txn on ${key}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return ops / ((performance.now() - start) / 1000);
}

async function watchLatency(store: Store, prefix: string): Promise<{ p50: number; p99: number }> {
  const sent = new Map<number, number>();
  const seen: number[] = [];
  let waiting: (() => void) | undefined;
  const watch = store.watch(prefix, (await store.revision()) + 1, {
    onEvents: (events) => {
      const i = Number(events[0].value);
      seen.push(performance.now() - sent.get(i)!);
      waiting?.();
    },
  });
  await new Promise((r) => setTimeout(r, 300)); // let remote/etcd watches connect
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const delivered = new Promise<void>((r) => (waiting = r));
    sent.set(i, performance.now());
    await store.txn({ compare: [], success: [{ type: 'put', key: `${prefix}k`, value: String(i) }] });
    await delivered;
  }
  await watch.cancel();
  seen.sort((a, b) => a - b);
  const pct = (p: number): number => seen[Math.min(seen.length - 1, Math.floor((p / 100) * seen.length))];
  return { p50: pct(50), p99: pct(99) };
}

async function measure(driver: string, store: Store): Promise<Row> {
  const run = `/bench/${Date.now().toString(36)}/`;
  await throughput(store, `${run}warmup/`, true, 300); // connections, JIT, caches
  const putsPerSec = await throughput(store, `${run}put/`, false);
  const casPerSec = await throughput(store, `${run}cas/`, true);
  const lat = await watchLatency(store, `${run}watch/`);
  return { driver, putsPerSec, casPerSec, watchP50Ms: lat.p50, watchP99Ms: lat.p99 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wyvern-bench-store-'));
  const rows: Row[] = [];
  let etcd: EtcdProcess | undefined;
  try {
    const sqlite = SqliteStore.open(join(dir, 'bench.db'));
    rows.push(await measure('sqlite', sqlite));
    await sqlite.close();

    const backing = SqliteStore.open(join(dir, 'remote.db'));
    const server = new StoreServer(backing);
    await server.start();
    const remote = new RemoteStore(server.url);
    rows.push(await measure('remote(sqlite)', remote));
    await remote.close();
    await server.stop();
    await backing.close();

    etcd = await EtcdProcess.start();
    const etcdStore = await EtcdStore.connect({ hosts: [etcd.url], prefix: '/bench/' });
    rows.push(await measure('etcd', etcdStore));
    await etcdStore.close();
  } finally {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (n: number, d = 0): string => n.toFixed(d);
  console.log(`store benchmark: ${OPS} writes per run, ${CONCURRENCY} in flight, ${LATENCY_SAMPLES} watch samples`);
  console.log(`${'driver'.padEnd(16)}${'puts/s'.padStart(10)}${'cas/s'.padStart(10)}${'watch p50 ms'.padStart(14)}${'watch p99 ms'.padStart(14)}`);
  for (const r of rows) {
    console.log(`${r.driver.padEnd(16)}${f(r.putsPerSec).padStart(10)}${f(r.casPerSec).padStart(10)}${f(r.watchP50Ms, 2).padStart(14)}${f(r.watchP99Ms, 2).padStart(14)}`);
  }
  const result: Record<string, Omit<Row, 'driver'>> = {};
  for (const { driver, ...rest } of rows) result[driver] = rest;
  console.log(`RESULT ${JSON.stringify({ ops: OPS, concurrency: CONCURRENCY, drivers: result })}`);
}

await main();
