/**
 * Convergence benchmark: time from the API request (port create with binding:host_id, then plug
 * on its chassis) until every chassis that needs flows for the port has them installed and
 * acknowledged (bundle committed + barrier). Signal: each controller's `synced` event, emitted
 * after the switch acknowledged a batch, with that batch in `lastSent` (see bench/lib/ack-tracker.ts):
 * the owner chassis needs the classification flow of the port's ofport, every other chassis with
 * a port in the network needs the L2 lookup flow of its MAC (which tunnels to the owner).
 *
 * Two modes, one process, the API server (NeutronApi over HTTP) and a shared in-process
 * MemoryStore for all controllers (not the HTTP store service: this measures the controller and
 * API, not the store transport):
 *  - ovs:   N chassis, each a private ovsdb-server + ovs-vswitchd with the dummy datapath and a
 *           LocalController; one network with a port on every chassis (warm-up), then K ports
 *           created and plugged (`ovs-vsctl add-port ... ofport_request=`) one at a time, round robin.
 *  - scale: C controllers against fake OpenFlow switches (src/testing/fake-switch.ts, unix socket
 *           each; every message decoded with our codec, bundles and barriers acknowledged) and
 *           fake SwitchDbs. Layout: networks of 20 ports, each spanning SPAN (5) consecutive
 *           chassis (4 ports per chassis), PORTS_PER_CHASSIS (20) ports per chassis, so
 *           100 chassis = 100 networks / 2,000 ports and 1,000 chassis = 1,000 networks /
 *           20,000 ports; every chassis holds SPAN networks with PORTS_PER_CHASSIS/SPAN ports each.
 *           Initial load: all ports bulk-created through the API, then plugged; timed until every
 *           chassis acknowledged every expected flow. Then SAMPLES new ports, one at a time, in
 *           random networks: convergence p50/p99, messages the switches received per port change.
 *
 * Usage: npm run bench:convergence -- [flags]
 *   --quick               small sizes: ovs 1,3 chassis × 5 ports; scale 20,100 chassis × 10 samples
 *   --ovs-sizes 1,3,10    chassis counts for the real OVS mode ('' to skip)
 *   --ovs-ports K         ports measured per OVS size (default 20)
 *   --scale-sizes 100,1000  chassis counts for the scale mode ('' to skip)
 *   --ports-per-chassis N (default 20)   --span S chassis per network (default 5)
 *   --samples M           new ports measured after the initial load (default 50)
 *   --load-timeout-s T    give up waiting for an initial load after T s (default 900)
 *   --sample-budget-s B   stop sampling a scale size after B s (default 180; fewer samples then)
 *   --profile             CPU profile of the scale mode's samples phase: the hottest functions
 *   --vs-ovn              instead: Wyvern and OVN side by side (bench/lib/vs-ovn.ts), one chassis,
 *                         1 router × 20 networks; 500 ports at once, 100 paced, 2,000 at once
 *     --networks N (20) --ports-per-network P (25) --paced K (100) --bulk-ports-per-network B (100)
 *     --skip-ovn          Wyvern alone (also what happens when OVN is not installed)
 *     --no-security       ports without port security or security groups, in both systems
 *     --cpu-prof DIR      keep a V8 CPU profile of the Wyvern controller process in DIR
 * The process re-executes itself with a 16 GiB heap limit (1,000 controllers in one process).
 * Output: machine, a table, and last line `RESULT {json}`.
 * At 1,000 chassis the initial load takes about 3 minutes (20,000 port creates and bindings).
 * The controllers' caches declare what they hold (routed watches), so each change reaches only
 * the controllers of its network; the rest advance by coalesced progress revisions.
 * Numbers on a shared 2-core machine are noisy: controllers, API, store and fake switches share
 * one event loop in the scale mode, so per-port latency includes every other controller's work
 * (and the garbage collection of their heap).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { LocalController } from '../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../src/ovs/daemons.js';
import { NeutronApi } from '../src/server/app.js';
import { MemoryStore } from '../src/store/memory.js';
import { FakeSwitch } from '../src/testing/fake-switch.js';
import { FakeSwitchDb } from '../src/testing/fake-switch-db.js';
import { AckTracker, withTimeout } from './lib/ack-tracker.js';
import { profile } from './lib/reactive-traffic.js';
import { Api, log, machine, mib, pool, summarize, type ApiObject, type Summary } from './lib/bench-util.js';
import { installSignalCleanup, runCleanups } from './lib/cleanup.js';
import { printVsOvn, runVsOvn } from './lib/vs-ovn.js';
import { printProfile, profilesIn, summarizeProfile } from './lib/cpu-profile-summary.js';

// ---------------------------------------------------------------------------------------------
// Flags

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const QUICK = process.argv.includes('--quick');
const PROFILE = process.argv.includes('--profile');
const sizes = (name: string, dflt: number[]): number[] => {
  const v = flag(name);
  if (v === undefined) return dflt;
  return v.split(',').filter((s) => s.trim() !== '').map(Number);
};
const OVS_SIZES = sizes('ovs-sizes', QUICK ? [1, 3] : [1, 3, 10]);
const OVS_PORTS = Number(flag('ovs-ports') ?? (QUICK ? 5 : 20));
const SCALE_SIZES = sizes('scale-sizes', QUICK ? [20, 100] : [100, 1000]);
const PORTS_PER_CHASSIS = Number(flag('ports-per-chassis') ?? 20);
const SPAN = Number(flag('span') ?? 5);
const SAMPLES = Number(flag('samples') ?? (QUICK ? 10 : 50));
const LOAD_TIMEOUT_MS = Number(flag('load-timeout-s') ?? 900) * 1000;
const SAMPLE_BUDGET_MS = Number(flag('sample-budget-s') ?? 180) * 1000;
const PORT_TIMEOUT_MS = 120_000;
const VS_OVN = process.argv.includes('--vs-ovn');

// ---------------------------------------------------------------------------------------------
// Shared pieces

interface Cloud {
  store: MemoryStore;
  server: Server;
  api: Api;
}

async function startCloud(): Promise<Cloud> {
  const store = new MemoryStore();
  const napi = new NeutronApi(store, { onError: (e) => log(`api error: ${String(e)}`) });
  const { server, url } = await napi.listen('127.0.0.1', 0);
  // One busy event loop runs everything: no request/keep-alive deadlines (a keep-alive socket
  // closed by a late timer races the next request: "other side closed").
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  return { store, server, api: new Api(url) };
}

async function stopCloud(c: Cloud): Promise<void> {
  c.server.closeAllConnections();
  await new Promise<void>((r) => c.server.close(() => r()));
  await c.store.close();
}

function tunnelIp(i: number): string {
  return `100.64.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

const mac = (p: ApiObject): string => (p.mac_address as string).toLowerCase();

/** A deterministic PRNG (mulberry32) so runs pick the same sample networks. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Chassis {
  name: string;
  ctrl: LocalController;
  tracker: AckTracker;
}

/** Time (ms since t0) when the owner's classification flow and every other chassis' L2 flow are acked. */
async function converge(t0: number, owner: Chassis, ofport: number, others: readonly Chassis[], portMac: string): Promise<number> {
  return (await convergeDetail(t0, owner, ofport, others, portMac)).all;
}

interface Detail {
  /** Owner chassis acked its classification flow. */
  owner: number;
  /** Every chassis acked (the convergence time). */
  all: number;
}

async function convergeDetail(t0: number, owner: Chassis, ofport: number, others: readonly Chassis[], portMac: string): Promise<Detail> {
  const times = await withTimeout(
    Promise.all([owner.tracker.when(`in:${ofport}`), ...others.map((c) => c.tracker.when(`mac:${portMac}`))]),
    PORT_TIMEOUT_MS,
    `port ${portMac} on ${owner.name} + ${others.length} chassis`,
  );
  return { owner: times[0] - t0, all: Math.max(...times) - t0 };
}

/** Where the time goes, per sample: API answered, plugged, owner acked, all acked (ms since t0). */
class Breakdown {
  readonly api: number[] = [];
  readonly plug: number[] = [];
  readonly owner: number[] = [];
  readonly all: number[] = [];
  add(api: number, plug: number, d: Detail): void {
    this.api.push(api);
    this.plug.push(plug);
    this.owner.push(d.owner);
    this.all.push(d.all);
  }
  summary(): { apiP50: number; plugP50: number; ownerP50: number; ownerP99: number } {
    return {
      apiP50: summarize(this.api).p50,
      plugP50: summarize(this.plug).p50,
      ownerP50: summarize(this.owner).p50,
      ownerP99: summarize(this.owner).p99,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Real OVS mode

interface OvsResult {
  chassis: number;
  ports: number;
  convergenceMs: Summary;
  /** p50 of: POST answered, `ovs-vsctl add-port` returned, owner acked (p50/p99) — ms since the POST. */
  breakdownMs: ReturnType<Breakdown['summary']>;
  startupMs: number;
  flowsPerChassis: { min: number; avg: number; max: number };
  failures: number;
}

async function runOvs(n: number, dir: string): Promise<OvsResult> {
  log(`ovs: ${n} chassis`);
  const cloud = await startCloud();
  const ovs: OvsInstance[] = [];
  const chassis: Chassis[] = [];
  try {
    const tStart = performance.now();
    ovs.push(...(await pool(Array.from({ length: n }, (_, i) => i), 4, (i) => startOvs({ dir: path.join(dir, `ovs${n}-hv${i}`), dummy: true }))));
    await pool(ovs, 4, async (o, i) => {
      const ctrl = new LocalController({
        chassis: `hv${i}`,
        nb: 'memory:',
        store: cloud.store,
        ovsdb: o.dbTarget,
        tunnelIp: tunnelIp(i),
        datapathType: 'dummy',
        log: () => {},
      });
      const c = { name: `hv${i}`, ctrl, tracker: new AckTracker(ctrl) };
      chassis[i] = c;
      ctrl.on('error', (e) => log(`hv${i}: ${e.message}`));
      await ctrl.start();
    });
    const startupMs = performance.now() - tStart;
    const net = await cloud.api.create('network', { name: 'bench' });
    await cloud.api.create('subnet', { network_id: net.id, cidr: '10.9.0.0/16', ip_version: 4 });
    let nextOfport = 10;
    let vm = 0;
    const plugOne = async (i: number): Promise<{ port: ApiObject; ofport: number; t0: number; api: number; plug: number }> => {
      const t0 = performance.now();
      const port = await cloud.api.create('port', { network_id: net.id, name: `vm${vm}`, 'binding:host_id': `hv${i}` });
      const api = performance.now() - t0;
      const ofport = nextOfport++;
      const name = `vm${vm++}`;
      await ovs[i].vsctl('add-port', 'br-int', name, '--', 'set', 'Interface', name, `external_ids:iface-id=${port.id}`, `ofport_request=${ofport}`);
      return { port, ofport, t0, api, plug: performance.now() - t0 };
    };
    // Warm-up: one port per chassis so that every chassis holds the network.
    const warm = await pool(chassis, 1, async (_, i) => plugOne(i));
    await Promise.all(warm.map((w, i) => converge(w.t0, chassis[i], w.ofport, chassis.filter((_, j) => j !== i), mac(w.port))));
    const samples = new Breakdown();
    let failures = 0;
    for (let k = 0; k < OVS_PORTS; k++) {
      const i = k % n;
      const { port, ofport, t0, api, plug } = await plugOne(i);
      try {
        samples.add(api, plug, await convergeDetail(t0, chassis[i], ofport, chassis.filter((_, j) => j !== i), mac(port)));
      } catch (e) {
        failures++;
        log(String(e));
      }
    }
    const counts = await Promise.all(
      ovs.map(async (o) => (await o.ofctl('dump-flows', 'br-int', '--no-stats')).split('\n').filter((l) => l.includes('priority=')).length),
    );
    const r: OvsResult = {
      chassis: n,
      ports: OVS_PORTS,
      convergenceMs: summarize(samples.all),
      breakdownMs: samples.summary(),
      startupMs: Math.round(startupMs),
      flowsPerChassis: { min: Math.min(...counts), avg: Math.round(counts.reduce((a, b) => a + b, 0) / n), max: Math.max(...counts) },
      failures,
    };
    log(`ovs ${n}: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await Promise.all(chassis.filter(Boolean).map((c) => c.ctrl.stop().catch(() => undefined)));
    await Promise.all(ovs.map((o) => o.stop().catch(() => undefined)));
    await stopCloud(cloud);
  }
}

// ---------------------------------------------------------------------------------------------
// Scale mode

interface ScaleResult {
  chassis: number;
  networks: number;
  ports: number;
  /** Controllers started (registered, connected, first sync) — before any port exists. */
  startupMs: number;
  /** Bulk port creation through the API. */
  apiCreateMs: number;
  /** From the first port create until every chassis acknowledged every expected flow. */
  initialLoadMs: number;
  /** Chassis fully converged after the initial load (= chassis unless it timed out). */
  loadedChassis: number;
  convergenceMs: Summary;
  breakdownMs: ReturnType<Breakdown['summary']>;
  flowsPerChassis: { min: number; avg: number; max: number };
  groupsPerChassis: { min: number; avg: number; max: number };
  /** Messages all switches received (echo excluded) and flow mods applied, per new port. */
  messagesPerPort: number;
  flowModsPerPort: number;
  /** Controller sync passes (all chassis) per new port: how far one change fans out. */
  syncsPerPort: number;
  /** Controller reconnects to its switch during the run (should be 0). */
  reconnects: number;
  /** Process memory (controllers + fake switches + API + store in one process); per chassis:
   *  growth from before the controllers started (API + networks already loaded) to the end. */
  rssMiB: number;
  heapUsedMiB: number;
  rssPerChassisMiB: number;
  heapPerChassisMiB: number;
  failures: number;
}

interface ScaleChassis extends Chassis {
  sw: FakeSwitch;
  db: FakeSwitchDb;
  nextOfport: number;
}

function minAvgMax(xs: readonly number[]): { min: number; avg: number; max: number } {
  return { min: Math.min(...xs), avg: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), max: Math.max(...xs) };
}

function messagesExceptEcho(sw: FakeSwitch): number {
  return sw.messageCount - (sw.received.get('echo_request') ?? 0) - (sw.received.get('echo_reply') ?? 0);
}

async function runScale(c: number, dir: string): Promise<ScaleResult> {
  const portsTotal = c * PORTS_PER_CHASSIS;
  const perNet = PORTS_PER_CHASSIS; // networks of PORTS_PER_CHASSIS ports … spread over SPAN chassis
  const networks = Math.ceil(portsTotal / perNet);
  const span = Math.min(SPAN, c);
  log(`scale: ${c} chassis, ${networks} networks × ${perNet} ports over ${span} chassis each`);
  const cloud = await startCloud();
  const chassis: ScaleChassis[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    // Topology first (networks, subnets): chassis pull in only what their ports need.
    const nets: ApiObject[] = [];
    for (let i = 0; i < networks; i += 250) {
      const batch = Array.from({ length: Math.min(250, networks - i) }, (_, j) => ({ name: `net${i + j}` }));
      nets.push(...(await cloud.api.createMany('network', batch)));
    }
    for (let i = 0; i < networks; i += 250) {
      const batch = nets.slice(i, i + 250).map((n, j) => {
        const k = i + j;
        return { network_id: n.id, cidr: `10.${k >> 8}.${k & 255}.0/24`, ip_version: 4 };
      });
      await cloud.api.createMany('subnet', batch);
    }
    const netChassis = (n: number): number[] => Array.from({ length: span }, (_, j) => (n * span + j) % c);

    gc?.();
    const mem0 = process.memoryUsage();
    log(`scale ${c}: starting controllers`);
    const tStart = performance.now();
    await pool(Array.from({ length: c }, (_, i) => i), 16, async (i) => {
      const sw = new FakeSwitch({ datapathId: BigInt(i + 1) });
      const sock = path.join(dir, `sw${c}-${i}.sock`);
      await sw.listen(sock);
      sw.on('error', (e) => log(`switch hv${i}: ${e.message}`));
      const db = new FakeSwitchDb();
      const ctrl = new LocalController({
        chassis: `hv${i}`,
        nb: 'memory:',
        store: cloud.store,
        switchDb: db,
        ovsdb: 'unix:/nonexistent',
        openflow: `unix:${sock}`,
        tunnelIp: tunnelIp(i),
        datapathType: 'dummy',
        // Long lease: one process runs every controller; a busy event loop must not expire chassis.
        leaseTtlSeconds: 600,
        log: () => {},
      });
      ctrl.on('error', (e) => log(`hv${i}: ${e.message}`));
      const ch: ScaleChassis = { name: `hv${i}`, ctrl, tracker: new AckTracker(ctrl), sw, db, nextOfport: 10 };
      chassis[i] = ch;
      await ctrl.start();
      if ((i + 1) % 100 === 0) log(`scale ${c}: ${i + 1} controllers up`);
    });
    const startupMs = performance.now() - tStart;

    // Initial load: bulk-create all ports (binding host set), then plug them per chassis.
    log(`scale ${c}: creating ${portsTotal} ports`);
    const tLoad = performance.now();
    const portsOf: { port: ApiObject; chassis: number; network: number }[] = [];
    const specs: { network: number; chassis: number }[] = [];
    for (let n = 0; n < networks; n++) {
      const hosts = netChassis(n);
      for (let k = 0; k < perNet; k++) specs.push({ network: n, chassis: hosts[k % hosts.length] });
    }
    await pool(
      Array.from({ length: Math.ceil(specs.length / 500) }, (_, b) => specs.slice(b * 500, (b + 1) * 500)),
      2,
      async (batch) => {
        const made = await cloud.api.createMany(
          'port',
          batch.map((s) => ({ network_id: nets[s.network].id, 'binding:host_id': `hv${s.chassis}` })),
        );
        made.forEach((p, j) => portsOf.push({ port: p, chassis: batch[j].chassis, network: batch[j].network }));
      },
    );
    const apiCreateMs = performance.now() - tLoad;
    log(`scale ${c}: ports created in ${Math.round(apiCreateMs)} ms; plugging`);
    const byChassis = new Map<number, typeof portsOf>();
    for (const p of portsOf) byChassis.set(p.chassis, [...(byChassis.get(p.chassis) ?? []), p]);
    const macsByNet = new Map<number, { mac: string; chassis: number }[]>();
    for (const p of portsOf) macsByNet.set(p.network, [...(macsByNet.get(p.network) ?? []), { mac: mac(p.port), chassis: p.chassis }]);
    const expected: Promise<unknown>[] = [];
    let loadedChassis = 0;
    for (const [ci, list] of byChassis) {
      const ch = chassis[ci];
      const ofports = ch.db.plug(list.map((p) => ({ name: `tap${p.port.id.slice(0, 8)}`, ifaceId: p.port.id, ofport: ch.nextOfport++ })));
      const keys = new Set(ofports.map((o) => `in:${o}`));
      for (const n of new Set(list.map((p) => p.network))) {
        for (const m of macsByNet.get(n) ?? []) if (m.chassis !== ci) keys.add(`mac:${m.mac}`);
      }
      expected.push(Promise.all([...keys].map((k) => ch.tracker.when(k))).then(() => loadedChassis++));
    }
    let loadTimedOut = false;
    const progress = setInterval(() => log(`scale ${c}: ${loadedChassis}/${byChassis.size} chassis loaded`), 10_000);
    try {
      await withTimeout(Promise.all(expected), LOAD_TIMEOUT_MS, `initial load of ${c} chassis`);
    } catch (e) {
      loadTimedOut = true;
      log(String(e));
    } finally {
      clearInterval(progress);
    }
    const initialLoadMs = performance.now() - tLoad;
    log(`scale ${c}: initial load ${Math.round(initialLoadMs)} ms (${loadedChassis}/${byChassis.size} chassis)`);

    // Samples: one new port at a time in a random network, on a random chassis of its span.
    const samples = new Breakdown();
    let failures = 0;
    const msgs0 = chassis.reduce((a, ch) => a + messagesExceptEcho(ch.sw), 0);
    const syncs0 = chassis.reduce((a, ch) => a + ch.ctrl.stats().syncs, 0);
    const mods0 = chassis.reduce((a, ch) => a + ch.sw.flowModsApplied, 0);
    const tSamples = performance.now();
    let nSamples = 0;
    const sampleAll = async (): Promise<void> => {
      const rand = rng(42);
      for (let s = 0; s < (loadTimedOut ? 0 : SAMPLES) && performance.now() - tSamples < SAMPLE_BUDGET_MS; s++) {
        nSamples++;
        // One change at a time: the previous one (and its ACTIVE status write) has settled.
        await quiet(chassis, 50);
        const n = Math.floor(rand() * networks);
        const hosts = netChassis(n);
        const ci = hosts[Math.floor(rand() * hosts.length)];
        const owner = chassis[ci];
        const t0 = performance.now();
        const port = await cloud.api.create('port', { network_id: nets[n].id, 'binding:host_id': owner.name });
        const api = performance.now() - t0;
        const [ofport] = owner.db.plug([{ name: `tap${port.id.slice(0, 8)}`, ifaceId: port.id, ofport: owner.nextOfport++ }]);
        const others = [...new Set(hosts)].filter((h) => h !== ci).map((h) => chassis[h]);
        try {
          samples.add(api, api, await convergeDetail(t0, owner, ofport, others, mac(port)));
        } catch (e) {
          failures++;
          log(String(e));
        }
      }
    };
    if (PROFILE) {
      const { hot, busyPct } = await profile(sampleAll, 25);
      log(`scale ${c}: samples phase CPU ${busyPct}% busy; hottest (self %):`);
      for (const h of hot) log(`  ${String(h.selfPct).padStart(5)}  ${h.fn}  ${h.where}`);
    } else {
      await sampleAll();
    }
    // Let the tail of the last change (status ACTIVE after binding) reach the switches.
    await quiet(chassis, 300);
    const msgs = chassis.reduce((a, ch) => a + messagesExceptEcho(ch.sw), 0) - msgs0;
    const mods = chassis.reduce((a, ch) => a + ch.sw.flowModsApplied, 0) - mods0;
    const syncs = chassis.reduce((a, ch) => a + ch.ctrl.stats().syncs, 0) - syncs0;

    gc?.();
    const mem = process.memoryUsage();
    const r: ScaleResult = {
      chassis: c,
      networks,
      ports: portsTotal,
      startupMs: Math.round(startupMs),
      apiCreateMs: Math.round(apiCreateMs),
      initialLoadMs: Math.round(initialLoadMs),
      loadedChassis,
      convergenceMs: summarize(samples.all),
      breakdownMs: samples.summary(),
      flowsPerChassis: minAvgMax(chassis.map((ch) => ch.sw.flows.size)),
      groupsPerChassis: minAvgMax(chassis.map((ch) => ch.sw.groups.size)),
      messagesPerPort: nSamples ? Math.round((msgs / nSamples) * 10) / 10 : Number.NaN,
      flowModsPerPort: nSamples ? Math.round((mods / nSamples) * 10) / 10 : Number.NaN,
      syncsPerPort: nSamples ? Math.round((syncs / nSamples) * 10) / 10 : Number.NaN,
      reconnects: chassis.reduce((a, ch) => a + ch.sw.connections - 1, 0),
      rssMiB: mib(mem.rss),
      heapUsedMiB: mib(mem.heapUsed),
      rssPerChassisMiB: Math.round(((mem.rss - mem0.rss) / c / 2 ** 20) * 100) / 100,
      heapPerChassisMiB: Math.round(((mem.heapUsed - mem0.heapUsed) / c / 2 ** 20) * 100) / 100,
      failures,
    };
    log(`scale ${c}: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await pool(chassis.filter(Boolean), 32, async (ch) => {
      await ch.ctrl.stop().catch(() => undefined);
      await ch.sw.close();
    });
    await stopCloud(cloud);
  }
}

/** Resolves once no switch received a message and no controller ran a sync for `ms`. */
async function quiet(chassis: readonly ScaleChassis[], ms: number): Promise<void> {
  let last = -1;
  for (;;) {
    const now = chassis.reduce((a, ch) => a + messagesExceptEcho(ch.sw) + ch.ctrl.syncCount, 0);
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, ms));
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

async function mainVsOvn(): Promise<void> {
  const m = machine();
  const loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; load ${loadAverage.join(' ')}`);
  console.log('note: shared machine; each system runs alone (its own processes and ovs-vswitchd), one after the other.');
  installSignalCleanup(log);
  try {
    const vsOvn = await runVsOvn({
      networks: Number(flag('networks') ?? 20),
      portsPerNetwork: Number(flag('ports-per-network') ?? 25),
      paced: Number(flag('paced') ?? 100),
      bulkPortsPerNetwork: Number(flag('bulk-ports-per-network') ?? 100),
      skipOvn: process.argv.includes('--skip-ovn'),
      security: !process.argv.includes('--no-security'),
      cpuProfDir: flag('cpu-prof'),
    });
    printVsOvn(vsOvn);
    const profDir = flag('cpu-prof');
    if (profDir) {
      // Main threads only (CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile; thread 1 is tsx's loader).
      console.log('\nWyvern controller CPU profiles (phase A: bulk + paced, then phase B: bulk):');
      for (const f of profilesIn(profDir).filter((p) => path.basename(p).split('.')[4] === '0')) printProfile(summarizeProfile(f, 20));
    }
    const loadAfter = os.loadavg().map((x) => Math.round(x * 100) / 100);
    console.log(`load average at the end: ${loadAfter.join(' ')}`);
    console.log(`RESULT ${JSON.stringify({ machine: { ...m, loadAverage, loadAverageEnd: loadAfter }, vsOvn })}`);
  } finally {
    await runCleanups(log);
  }
}

async function main(): Promise<void> {
  if (VS_OVN) return mainVsOvn();
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}`);
  console.log('note: shared machine; controllers, API and store run in this one process — numbers are noisy.');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-conv-'));
  const ovsResults: OvsResult[] = [];
  const scaleResults: ScaleResult[] = [];
  const scaleErrors: { chassis: number; error: string }[] = [];
  try {
    for (const n of OVS_SIZES) ovsResults.push(await runOvs(n, dir));
    for (const c of SCALE_SIZES) {
      try {
        scaleResults.push(await runScale(c, dir));
      } catch (e) {
        log(`scale ${c} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        scaleErrors.push({ chassis: c, error: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (ovsResults.length) {
    console.log('\nReal OVS (dummy datapath), one network over all chassis, MemoryStore shared in-process');
    console.log(`${pad('chassis', 8)} ${pad('ports', 6)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('max ms', 8)} ${pad('flows/ch', 9)} ${pad('fail', 5)}`);
    for (const r of ovsResults) {
      console.log(
        `${pad(r.chassis, 8)} ${pad(r.ports, 6)} ${pad(r.convergenceMs.p50, 8)} ${pad(r.convergenceMs.p99, 8)} ${pad(r.convergenceMs.max, 8)} ${pad(r.flowsPerChassis.avg, 9)} ${pad(r.failures, 5)}`,
      );
    }
  }
  if (scaleResults.length) {
    console.log('\nScale: fake OpenFlow switches, one process, MemoryStore shared in-process');
    console.log(
      `${pad('chassis', 8)} ${pad('ports', 6)} ${pad('start s', 8)} ${pad('load s', 8)} ${pad('loaded', 7)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('flows/ch min/avg/max', 21)} ${pad('msg/port', 9)} ${pad('syncs/port', 11)} ${pad('RSS/ch MiB', 11)}`,
    );
    for (const r of scaleResults) {
      const f = r.flowsPerChassis;
      console.log(
        `${pad(r.chassis, 8)} ${pad(r.ports, 6)} ${pad((r.startupMs / 1000).toFixed(1), 8)} ${pad((r.initialLoadMs / 1000).toFixed(1), 8)} ${pad(r.loadedChassis, 7)} ${pad(r.convergenceMs.p50, 8)} ${pad(r.convergenceMs.p99, 8)} ${pad(`${f.min}/${f.avg}/${f.max}`, 21)} ${pad(r.messagesPerPort, 9)} ${pad(r.syncsPerPort, 11)} ${pad(r.rssPerChassisMiB, 11)}`,
      );
    }
  }
  for (const e of scaleErrors) console.log(`scale ${e.chassis} chassis: FAILED: ${e.error}`);
  console.log(`RESULT ${JSON.stringify({ machine: m, ovs: ovsResults, scale: scaleResults, scaleErrors })}`);
}

/** 1,000 controllers in one process need more than V8's default heap: run again with 16 GiB. */
function reexecWithBigHeap(): boolean {
  if (v8.getHeapStatistics().heap_size_limit >= 8 * 2 ** 30 || process.env.WYVERN_BENCH_CHILD) return false;
  const child = spawn(process.execPath, ['--max-old-space-size=16384', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, WYVERN_BENCH_CHILD: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}

if (!reexecWithBigHeap()) main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
