/**
 * Neutron API benchmark: a real `wyvern server` equivalent (NeutronApi on a store, listening on
 * 127.0.0.1:0) driven over HTTP, for sqlite and etcd side by side:
 *
 * - sustained port creates/s on one network with a /16 subnet (N concurrent keep-alive clients),
 *   with the server's metrics on as `wyvern server` runs them;
 * - the cost of Prometheus scraping (sqlite): the same create run on a fresh store, without
 *   scraping and with `GET /metrics` every second, in the order none, scrape, scrape, none (so a
 *   drift of the machine's load cancels out); cost = (none - scrape) / none;
 * - `GET /v2.0/ports` latency with that many ports (p50/p99 over 20 sequential lists);
 * - watch delivery latency: client sends the POST → a store watcher (a separate etcd client for
 *   etcd, an in-process watcher for sqlite) sees the new port; idle (one request at a time) and
 *   under the create load.
 *
 * The load generator runs in a worker thread (plain node:http with a keepAlive Agent, no fetch),
 * so its CPU is not spent on the server's event loop (the machine's cores are still shared).
 * Starts its own etcd (test/support/etcd.ts) and stops it. Last line: `RESULT {json}`.
 *
 *   npm run bench:api                 10,000 creates, 32 clients
 *   npm run bench:api -- --quick      1,000 creates (smoke run)
 *   flags: --ports N --concurrency C --drivers sqlite,etcd --scrape-rounds R (ABBA rounds, default 1; 0: skip)
 *          --scrape-path P (GET P instead of /metrics: a placebo, to tell the cost of scraping from noise)
 *   profile the server: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/api.ts
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { request, Agent } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NeutronApi } from '../src/server/app.js';
import { createRegistry } from '../src/metrics/registry.js';
import { instrumentServer } from '../src/metrics/server-metrics.js';
import { txStats } from '../src/server/tx.js';
import { EtcdStore } from '../src/store/etcd.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store, Watch } from '../src/store/types.js';
import { PORTS_PREFIX } from '../src/model/keys.js';
import { EtcdProcess } from '../test/support/etcd.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = argv.includes('--quick');
const PORTS = Number(flag('ports') ?? (QUICK ? 1000 : 10_000));
const CONCURRENCY = Number(flag('concurrency') ?? 32);
const WARMUP = QUICK ? 200 : 500;
const LISTS = 20;
const WATCH_SAMPLES = QUICK ? 50 : 200;
const DRIVERS = (flag('drivers') ?? 'sqlite,etcd').split(',');
const SCRAPE_ROUNDS = Number(flag('scrape-rounds') ?? 1);
/** What the "scrape" runs GET every second: /metrics, or another path as a placebo (e.g. /). */
const SCRAPE_PATH = flag('scrape-path') ?? '/metrics';
const PROJECT = 'bench';

/** Absolute wall-clock milliseconds with sub-ms resolution, comparable across threads. */
const now = (): number => performance.timeOrigin + performance.now();

// ---- the load generator (a worker thread; plain CommonJS so it needs no TypeScript loader) ----

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const now = () => performance.timeOrigin + performance.now();
let agent;
function call(base, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = { 'X-Project-Id': '${PROJECT}', Accept: 'application/json' };
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    const req = http.request(base + path, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'creates') {
      agent = new http.Agent({ keepAlive: true, maxSockets: m.concurrency });
      const sent = {};
      const latencies = [];
      const statuses = {};
      let next = 0;
      let firstError;
      let scrapes = 0;
      let scrapeMs = 0;
      let scraping;
      const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      if (m.scrapeUrl) {
        const scrapeOnce = () => {
          const t0 = now();
          http.get(m.scrapeUrl, { agent: scrapeAgent }, (res) => {
            res.resume();
            res.on('end', () => { scrapes++; scrapeMs += now() - t0; });
          }).on('error', () => {});
        };
        scrapeOnce();
        scraping = setInterval(scrapeOnce, 1000);
      }
      const worker = async () => {
        while (next < m.count) {
          const name = m.namePrefix + (next++);
          const t0 = now();
          sent[name] = t0;
          const r = await call(m.base, 'POST', '/v2.0/ports', { port: { network_id: m.networkId, name } });
          latencies.push(now() - t0);
          statuses[r.status] = (statuses[r.status] || 0) + 1;
          if (r.status !== 201 && firstError === undefined) firstError = r.text.slice(0, 300);
        }
      };
      const start = now();
      await Promise.all(Array.from({ length: m.concurrency }, worker));
      const elapsedMs = now() - start;
      if (scraping) clearInterval(scraping);
      scrapeAgent.destroy();
      agent.destroy();
      parentPort.postMessage({ ok: true, elapsedMs, sent, latencies, statuses, firstError, scrapes, scrapeMs });
    } else if (m.op === 'lists') {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const latencies = [];
      let count = -1;
      let bytes = 0;
      for (let i = 0; i < m.count; i++) {
        const t0 = now();
        const r = await call(m.base, 'GET', '/v2.0/ports');
        latencies.push(now() - t0);
        if (r.status !== 200) throw new Error('list failed: ' + r.status + ' ' + r.text.slice(0, 300));
        bytes = r.text.length;
        if (i === 0) count = JSON.parse(r.text).ports.length;
      }
      agent.destroy();
      parentPort.postMessage({ ok: true, latencies, count, bytes });
    }
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.stack || err) });
  }
});
`;

interface CreatesResult {
  elapsedMs: number;
  sent: Record<string, number>;
  latencies: number[];
  statuses: Record<string, number>;
  firstError?: string;
  scrapes: number;
  scrapeMs: number;
}
interface ListsResult {
  latencies: number[];
  count: number;
  bytes: number;
}

class LoadGenerator {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });

  run<T>(msg: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => reject(err);
      this.worker.once('message', (m: { ok: boolean; error?: string } & T) => {
        this.worker.off('error', failed);
        if (m.ok) resolve(m);
        else reject(new Error(m.error));
      });
      this.worker.once('error', failed);
      this.worker.postMessage(msg);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const setupAgent = new Agent({ keepAlive: true });
function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { 'X-Project-Id': PROJECT };
    if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': data.length });
    const req = request(base + path, { method, agent: setupAgent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Watches `/nb/ports/` and records when each port name was first seen. */
class NameWatcher {
  readonly seen = new Map<string, number>();
  private watch?: Watch;

  async start(store: Store): Promise<void> {
    this.watch = store.watch(PORTS_PREFIX, (await store.revision()) + 1, {
      onEvents: (events) => {
        const t = now();
        for (const e of events) {
          if (e.type !== 'put' || e.value === undefined) continue;
          const name = (JSON.parse(e.value) as { name: string }).name;
          if (!this.seen.has(name)) this.seen.set(name, t);
        }
      },
    });
    await new Promise((r) => setTimeout(r, 300)); // let a remote watch connect
  }

  /** Delivery latencies for the names sent (waits a little for stragglers). */
  async latencies(sent: Record<string, number>): Promise<{ values: number[]; missing: number }> {
    const names = Object.keys(sent);
    const deadline = Date.now() + 5000;
    while (names.some((n) => !this.seen.has(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const values: number[] = [];
    let missing = 0;
    for (const n of names) {
      const t = this.seen.get(n);
      if (t === undefined) missing++;
      else values.push(t - sent[n]);
    }
    return { values, missing };
  }

  async stop(): Promise<void> {
    await this.watch?.cancel();
  }
}

interface Row {
  driver: string;
  createsPerSec: number;
  createP50Ms: number;
  createP99Ms: number;
  createErrors: number;
  /** Transactions re-run after a failed compare during the create run. */
  createRetries: number;
  listPorts: number;
  listBytes: number;
  /** The first list after the creates (nothing cached yet by the server). */
  listFirstMs: number;
  listP50Ms: number;
  listP99Ms: number;
  watchP50Ms: number;
  watchP99Ms: number;
  watchLoadP50Ms: number;
  watchLoadP99Ms: number;
  watchMissing: number;
}

/** The API as `wyvern server` runs it: metrics on, `GET /metrics` answered. */
async function listenApi(store: Store): Promise<{ server: import('node:http').Server; url: string; store: Store; registry: import('prom-client').Registry }> {
  const metrics = instrumentServer(store, createRegistry({ process: true }));
  const api = new NeutronApi(metrics.store, {
    onError: (e) => process.stderr.write(`server error: ${String(e)}\n`),
    onResponse: metrics.onResponse,
    preHandlers: [metrics.handler],
  });
  metrics.attach(api);
  return { ...(await api.listen('127.0.0.1', 0)), store: metrics.store, registry: metrics.registry };
}

interface ScrapeCost {
  noScrape: number[];
  scrape: number[];
  /** Process CPU time (server and load generator, user + system) per create, µs: steadier than rates on a shared machine. */
  cpuNoScrape: number[];
  cpuScrape: number[];
  cpuCostPct: number;
  noScrapeMean: number;
  scrapeMean: number;
  costPct: number;
  scrapes: number;
  scrapeMeanMs: number;
  /** Server event-loop time of one exposition (registry.metrics(), in process, after a run). */
  exposeMs: number;
  exposeBytes: number;
}

/** Creates/s on fresh sqlite stores without and with a scrape every second (ABBA per round). */
async function scrapeCost(dir: string, load: LoadGenerator): Promise<ScrapeCost> {
  const out: ScrapeCost = { noScrape: [], scrape: [], cpuNoScrape: [], cpuScrape: [], cpuCostPct: NaN, noScrapeMean: NaN, scrapeMean: NaN, costPct: NaN, scrapes: 0, scrapeMeanMs: NaN, exposeMs: NaN, exposeBytes: 0 };
  let scrapeMs = 0;
  let run = 0;
  for (let round = 0; round < SCRAPE_ROUNDS; round++) {
    for (const scrape of [false, true, true, false]) {
      const store = SqliteStore.open(join(dir, `scrape-${run++}.sqlite`));
      const { server, url, registry } = await listenApi(store);
      try {
        const net = await call(url, 'POST', '/v2.0/networks', { network: { name: 'bench' } });
        const networkId = net.body.network.id as string;
        await call(url, 'POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: '10.0.0.0/16' } });
        await load.run<CreatesResult>({ op: 'creates', base: url, networkId, count: WARMUP, concurrency: CONCURRENCY, namePrefix: 'w-' });
        const cpu0 = process.cpuUsage();
        const r = await load.run<CreatesResult>({
          op: 'creates', base: url, networkId, count: PORTS - WARMUP, concurrency: CONCURRENCY, namePrefix: 'c-',
          scrapeUrl: scrape ? `${url}${SCRAPE_PATH}` : undefined,
        });
        const cpu = process.cpuUsage(cpu0);
        const rate = r.latencies.length / (r.elapsedMs / 1000);
        (scrape ? out.scrape : out.noScrape).push(rate);
        (scrape ? out.cpuScrape : out.cpuNoScrape).push((cpu.user + cpu.system) / r.latencies.length);
        out.scrapes += r.scrapes;
        scrapeMs += r.scrapeMs;
        if (scrape) {
          const t0 = performance.now();
          for (let i = 0; i < 50; i++) out.exposeBytes = (await registry.metrics()).length;
          out.exposeMs = (performance.now() - t0) / 50;
        }
        process.stderr.write(`[scrape cost] ${scrape ? 'scrape/s ' : 'no scrape'} ${rate.toFixed(0)} creates/s${scrape ? ` (${r.scrapes} scrapes)` : ''}\n`);
      } finally {
        server.closeAllConnections();
        await new Promise((res) => server.close(() => res(undefined)));
        await store.close();
      }
    }
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  out.noScrapeMean = mean(out.noScrape);
  out.scrapeMean = mean(out.scrape);
  out.costPct = ((out.noScrapeMean - out.scrapeMean) / out.noScrapeMean) * 100;
  out.cpuCostPct = ((mean(out.cpuScrape) - mean(out.cpuNoScrape)) / mean(out.cpuNoScrape)) * 100;
  out.scrapeMeanMs = out.scrapes > 0 ? scrapeMs / out.scrapes : NaN;
  return out;
}

async function measure(driver: string, rawStore: Store, watcherStore: Store, load: LoadGenerator): Promise<Row> {
  const { server, url } = await listenApi(rawStore);
  const watcher = new NameWatcher();
  try {
    const net = await call(url, 'POST', '/v2.0/networks', { network: { name: 'bench' } });
    if (net.status !== 201) throw new Error(`network create: ${JSON.stringify(net.body)}`);
    const networkId = net.body.network.id as string;
    const sub = await call(url, 'POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: '10.0.0.0/16' } });
    if (sub.status !== 201) throw new Error(`subnet create: ${JSON.stringify(sub.body)}`);
    await watcher.start(watcherStore);

    process.stderr.write(`[${driver}] warm-up ${WARMUP} creates\n`);
    await load.run<CreatesResult>({ op: 'creates', base: url, networkId, count: WARMUP, concurrency: CONCURRENCY, namePrefix: 'w-' });
    process.stderr.write(`[${driver}] ${PORTS - WARMUP} creates, ${CONCURRENCY} clients\n`);
    const conflictsBefore = txStats.conflicts;
    const c = await load.run<CreatesResult>({ op: 'creates', base: url, networkId, count: PORTS - WARMUP, concurrency: CONCURRENCY, namePrefix: 'c-' });
    const conflicts = txStats.conflicts - conflictsBefore;
    const underLoad = await watcher.latencies(c.sent);
    const errors = Object.entries(c.statuses).filter(([s]) => s !== '201').reduce((n, [, k]) => n + k, 0);
    if (errors > 0) process.stderr.write(`[${driver}] ${errors} failed creates ${JSON.stringify(c.statuses)}: ${c.firstError}\n`);

    process.stderr.write(`[${driver}] ${LISTS} lists\n`);
    const l = await load.run<ListsResult>({ op: 'lists', base: url, count: LISTS });

    process.stderr.write(`[${driver}] ${WATCH_SAMPLES} sequential creates for watch latency\n`);
    const w = await load.run<CreatesResult>({ op: 'creates', base: url, networkId, count: WATCH_SAMPLES, concurrency: 1, namePrefix: 'l-' });
    const idle = await watcher.latencies(w.sent);
    return {
      driver,
      createsPerSec: c.latencies.length / (c.elapsedMs / 1000),
      createP50Ms: pct(c.latencies, 50),
      createP99Ms: pct(c.latencies, 99),
      createErrors: errors,
      createRetries: conflicts,
      listPorts: l.count,
      listBytes: l.bytes,
      listFirstMs: l.latencies[0],
      listP50Ms: pct(l.latencies, 50),
      listP99Ms: pct(l.latencies, 99),
      watchP50Ms: pct(idle.values, 50),
      watchP99Ms: pct(idle.values, 99),
      watchLoadP50Ms: pct(underLoad.values, 50),
      watchLoadP99Ms: pct(underLoad.values, 99),
      watchMissing: idle.missing + underLoad.missing,
    };
  } finally {
    await watcher.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(undefined)));
  }
}

/** fsync latency of the disk under `dir` (4 KiB appends): the floor of durable write → watch latency. */
function fsyncLatency(dir: string): { p50: number; p99: number } {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const t: number[] = [];
  for (let i = 0; i < 100; i++) {
    writeSync(fd, Buffer.alloc(4096, i));
    const t0 = performance.now();
    fsyncSync(fd);
    t.push(performance.now() - t0);
  }
  closeSync(fd);
  return { p50: pct(t, 50), p99: pct(t, 99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'wyvern-bench-api-'));
  const fsyncMs = fsyncLatency(dir);
  const rows: Row[] = [];
  const load = new LoadGenerator();
  let etcd: EtcdProcess | undefined;
  let cost: ScrapeCost | undefined;
  try {
    if (DRIVERS.includes('sqlite')) {
      const sqlite = SqliteStore.open(join(dir, 'nb.sqlite'));
      rows.push(await measure('sqlite', sqlite, sqlite, load));
      await sqlite.close();
      if (SCRAPE_ROUNDS > 0) cost = await scrapeCost(dir, load);
    }
    if (DRIVERS.includes('etcd')) {
      etcd = await EtcdProcess.start();
      const prefix = `/bench-api-${Date.now().toString(36)}/`;
      const store = await EtcdStore.connect({ hosts: [etcd.url], prefix });
      const watcherStore = await EtcdStore.connect({ hosts: [etcd.url], prefix });
      try {
        rows.push(await measure('etcd', store, watcherStore, load));
      } finally {
        await watcherStore.close();
        await store.close();
      }
    }
  } finally {
    await load.stop();
    await etcd?.stop();
    setupAgent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  const cpus = os.cpus();
  const machine = `${cpus[0]?.model ?? '?'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, fsync p50 ${fsyncMs.p50.toFixed(2)} ms p99 ${fsyncMs.p99.toFixed(2)} ms`;
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(`machine: ${machine}`);
  console.log(`API benchmark: ${PORTS} ports (${WARMUP} warm-up) on one /16, ${CONCURRENCY} keep-alive clients in a worker thread; ${LISTS} lists; ${WATCH_SAMPLES} idle watch samples`);
  const header = ['driver', 'creates/s', 'create p50', 'create p99', 'errors', 'retries', 'list n', 'list 1st', 'list p50', 'list p99', 'watch p50', 'watch p99', 'load p50', 'load p99'];
  const widths = [8, 10, 11, 11, 7, 8, 7, 9, 9, 9, 10, 10, 9, 9];
  console.log(header.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join(''));
  for (const r of rows) {
    const cells = [r.driver, f(r.createsPerSec), f(r.createP50Ms, 1), f(r.createP99Ms, 1), String(r.createErrors), String(r.createRetries), String(r.listPorts), f(r.listFirstMs, 1), f(r.listP50Ms, 1), f(r.listP99Ms, 1), f(r.watchP50Ms, 2), f(r.watchP99Ms, 2), f(r.watchLoadP50Ms, 1), f(r.watchLoadP99Ms, 1)];
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(''));
  }
  console.log('(ms; list 1st = first list after the creates, p50/p99 over all 20; watch = client sends POST → store watcher sees the port, one request at a time; load = the same during the create run)');
  if (cost) {
    console.log(
      `metrics scrape cost (sqlite, fresh store per run, ABBA x${SCRAPE_ROUNDS}): no scrape ${cost.noScrape.map((x) => f(x)).join(', ')} creates/s (mean ${f(cost.noScrapeMean)}), ` +
        `GET ${SCRAPE_PATH} every 1 s ${cost.scrape.map((x) => f(x)).join(', ')} (mean ${f(cost.scrapeMean)}): cost ${f(cost.costPct, 1)}% (${cost.scrapes} scrapes, mean ${f(cost.scrapeMeanMs, 1)} ms); ` +
        `CPU per create ${cost.cpuNoScrape.map((x) => f(x)).join(', ')} µs without, ${cost.cpuScrape.map((x) => f(x)).join(', ')} µs with: cost ${f(cost.cpuCostPct, 1)}%; ` +
        `one exposition (${cost.exposeBytes} bytes) takes ${f(cost.exposeMs, 2)} ms of the server's event loop: ${f(cost.exposeMs / 10, 2)}% of one core at one scrape a second`,
    );
  }
  const goals = { sqliteCreatesPerSec: 1000, etcdCreatesPerSec: 300, listP50Ms: 200, watchP99Ms: 10, scrapeCostPct: 3 };
  const result: Record<string, unknown> = {};
  for (const { driver, ...rest } of rows) {
    result[driver] = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v]));
  }
  const scrape = cost && Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => Math.round(x)) : Math.round(v * 100) / 100]));
  console.log(`RESULT ${JSON.stringify({ ports: PORTS, concurrency: CONCURRENCY, machine, goals, drivers: result, scrapeCost: scrape })}`);
}

await main();
