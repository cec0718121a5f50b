/**
 * `npm run bench:reactive [-- --dests 4000 --rounds 3 --window 1000 --latency 500 --profile true]`
 *
 * Reactive L3 on a real (dummy datapath) ovs-vswitchd with one in-process LocalController
 * (MemoryStore + NeutronApi, `l3Mode: 'reactive'`):
 *   router r1: blue 10.1.0.0/24 (source VM port `vmb`, a dummy interface on br-int) and
 *   red 10.2.0.0/16 (D destination ports bound to a fake remote chassis hv2, so a routed packet
 *   leaves through the Geneve tunnel).
 * Under `--enable-dummy=override` the Geneve port is a dummy netdev: what br-int sends into the
 * tunnel comes out of its `options:pstream` unix socket, read by the bench (the "receiver";
 * the encapsulation itself is not exercised). Traffic is injected by another bench connection
 * on br-int (packet-out in_port=vmb, output:table; its packet-ins are masked off).
 *  - setup rate: D packets to D distinct destinations with W outstanding (a packet counts when it
 *    comes out of the tunnel); flows/s = reactive flows installed / time; R rounds (reactive
 *    flows deleted between rounds);
 *  - first-packet latency: L destinations one at a time (injection → out of the tunnel), then the
 *    same destinations again with the flow in place; added latency = first − warm;
 *  - the floor: OVS's packet-out → packet-in round trip on a connection to a plain bridge (as
 *    bench/openflow.ts measures it), latency (1 outstanding) and throughput (1,000 outstanding);
 *    Packets "lost" above ~100 outstanding are (likely) dropped by the dummy netdev stream's
 *    100-packet transmit queue on the receiver side; fewer flows installed than destinations means
 *    punts dropped by OVS (packet-in backlog). The flow rate counts the controller's installs.
 *  - with --profile, a CPU profile of this process (controller included) during one rate round.
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalController } from '../src/controller/controller.js';
import { chassisKey, type ChassisRecord } from '../src/model/chassis.js';
import { OpenFlowChannel } from '../src/openflow/channel.js';
import { OFP_NO_BUFFER } from '../src/openflow/ports.js';
import { startOvs, type OvsInstance } from '../src/ovs/daemons.js';
import { reactiveDeleteAll } from '../src/pipeline/index.js';
import { NeutronApi } from '../src/server/app.js';
import { MemoryStore } from '../src/store/memory.js';
import { Api, log, machine, percentile, type ApiObject } from './lib/bench-util.js';
import { connectDummyStream, procCpuSeconds, profile, tagOf, udpFrame, type HotSpot } from './lib/reactive-traffic.js';

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}

const DESTS = Number(arg('dests', '4000'));
const ROUNDS = Number(arg('rounds', '3'));
const WINDOWS = arg('window', '64,256,1000').split(',').map(Number);
const LATENCY_N = Math.min(DESTS, Number(arg('latency', '500')));
const PROFILE = arg('profile', 'true') !== 'false';
const LOCAL_IP = '198.51.100.11';
const REMOTE_IP = '198.51.100.12';

const r0 = (x: number): number => Math.round(x);
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: number[]): number => percentile(sorted(xs), 50);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function destIp(i: number): string {
  const h = i + 10; // 10.2.0.10 ...
  return `10.2.${h >> 8}.${h & 255}`;
}

async function main(): Promise<void> {
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`dummy datapath; ${DESTS} destinations, ${ROUNDS} rounds, windows ${WINDOWS.join('/')}, latency samples ${LATENCY_N}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-reactive-'));
  let ovs: OvsInstance | undefined;
  // Interrupted: still stop the OVS daemons this run started.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void (ovs?.stop() ?? Promise.resolve()).finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  let controller: LocalController | undefined;
  let server: Server | undefined;
  const store = new MemoryStore();
  let gen: OpenFlowChannel | undefined;
  let rx: OpenFlowChannel | undefined;
  let tunnel: Socket | undefined;
  try {
    const listening = await new NeutronApi(store, { onError: () => {} }).listen('127.0.0.1', 0);
    server = listening.server;
    const api = new Api(listening.url);
    ovs = await startOvs({ dir, dummy: true });
    const o = ovs;

    // The fake remote chassis (no lease: it stays).
    const hv2: ChassisRecord = {
      name: 'hv2', hostname: 'hv2', tunnel_ip: REMOTE_IP, encap: ['geneve'], bridge_mappings: {}, gateway: false,
      l3_mode: 'reactive', version: 'bench', started_at: new Date().toISOString(),
    };
    await store.txn({ compare: [], success: [{ type: 'put', key: chassisKey('hv2'), value: JSON.stringify(hv2) }] });

    controller = new LocalController({ chassis: 'hv1', nb: 'memory:', store, ovsdb: o.dbTarget, tunnelIp: LOCAL_IP, datapathType: 'dummy', l3Mode: 'reactive', log: () => {} });
    controller.on('error', (e) => log(`controller error: ${e.message}`));
    await controller.start();
    const ctl = controller;
    log('controller started');

    // A plain bridge for the floor measurement (packet-out → packet-in).
    await o.vsctl('add-br', 'br-floor', '--', 'set', 'bridge', 'br-floor', 'datapath_type=dummy', 'protocols=OpenFlow13', 'fail-mode=secure');
    log('br-floor ready');
    // North-bound: router, two subnets, source port, D destination ports on hv2.
    const t0 = performance.now();
    const blue = await api.create('network', { name: 'blue' });
    const red = await api.create('network', { name: 'red' });
    const sBlue = await api.create('subnet', { network_id: blue.id, cidr: '10.1.0.0/24', ip_version: 4, enable_dhcp: false });
    const sRed = await api.create('subnet', { network_id: red.id, cidr: '10.2.0.0/16', ip_version: 4, enable_dhcp: false });
    const router = await api.create('router', { name: 'r1' });
    const ifBlue = await api.call<{ port_id: string }>('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sBlue.id });
    await api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sRed.id });
    const gw = (await api.call<{ port: ApiObject }>('GET', `/ports/${ifBlue.port_id}`)).port;
    const vmb = await api.create('port', { network_id: blue.id, name: 'vmb', port_security_enabled: false, fixed_ips: [{ subnet_id: sBlue.id, ip_address: '10.1.0.10' }] });
    for (let i = 0; i < DESTS; i += 500) {
      const items = [];
      for (let j = i; j < Math.min(DESTS, i + 500); j++) {
        items.push({ network_id: red.id, name: `d${j}`, port_security_enabled: false, 'binding:host_id': 'hv2', fixed_ips: [{ subnet_id: sRed.id, ip_address: destIp(j) }] });
      }
      await api.createMany('port', items);
    }
    log(`north-bound objects created (${DESTS} destination ports)`);
    await o.vsctl('add-port', 'br-int', 'vmb', '--', 'set', 'Interface', 'vmb', 'type=dummy', `external_ids:iface-id=${vmb.id}`);
    await waitUntil(() => ctl.stats().localPorts === 1 && ctl.stats().installedFlows > 0, 30_000, 'the source port bound');
    await ctl.waitForRevision(await store.revision(), 60_000);
    const setupS = (performance.now() - t0) / 1000;
    const vmbOfport = Number((await o.vsctl('get', 'Interface', 'vmb', 'ofport')).trim());
    log(`set up in ${setupS.toFixed(1)} s: ${ctl.stats().installedFlows} flows, vmb ofport ${vmbOfport}`);

    // Under --enable-dummy=override the tunnel port is a dummy netdev: what br-int outputs to the
    // tunnel is written to a unix stream socket (2-byte length + frame), read here.
    const sock = path.join(dir, 'tunnel.sock');
    await o.vsctl('set', 'Interface', 'wyv-geneve', `options:pstream=punix:${sock}`);
    await waitUntil(() => existsSync(sock), 10_000, 'the tunnel port stream socket');
    const waiting = new Map<number, (t: number) => void>();
    let strays = 0;
    const onFrame = (data: Buffer): void => {
      const now = performance.now();
      const tag = tagOf(data);
      const w = tag === undefined ? undefined : waiting.get(tag);
      if (w && tag !== undefined) {
        waiting.delete(tag);
        w(now);
      } else strays++;
    };
    tunnel = await connectDummyStream(sock, onFrame);
    // Floor connection on br-floor.
    rx = OpenFlowChannel.connect(`unix:${o.mgmtSocket('br-floor')}`, { requestTimeoutMs: 60_000, echoIntervalMs: 0 });
    await rx.ready();
    rx.on('packetIn', (msg) => onFrame(msg.data));

    // Generator on br-int: its own packet-ins masked off (the punts go to the controller only).
    gen = OpenFlowChannel.connect(`unix:${o.mgmtSocket('br-int')}`, { requestTimeoutMs: 60_000, echoIntervalMs: 0 });
    await gen.ready();
    await gen.sendAsync({ type: 'set_async', packetInMask: [0, 0], portStatusMask: [0, 0], flowRemovedMask: [0, 0] });
    await gen.barrier();
    const g = gen;
    const r = rx;
    let tagSeq = 1;
    /** Injects a packet to destination i; resolves with the latency in ms, or undefined if lost. */
    const inject = (i: number, timeoutMs: number): Promise<number | undefined> =>
      new Promise((resolve) => {
        const tag = tagSeq++;
        const timer = setTimeout(() => {
          waiting.delete(tag);
          resolve(undefined);
        }, timeoutMs);
        const t = performance.now();
        waiting.set(tag, (now) => {
          clearTimeout(timer);
          resolve(now - t);
        });
        g.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: vmbOfport, actions: [{ type: 'output', port: 'table' }],
          data: udpFrame(vmb.mac_address as string, gw.mac_address as string, '10.1.0.10', destIp(i), tag) });
      });
    const clearReactive = async (): Promise<void> => {
      await g.sendAsync(reactiveDeleteAll());
      await g.barrier();
    };
    const reactiveFlowCount = async (): Promise<number> => {
      const flows = await g.dumpFlows({});
      return flows.filter((f) => f.cookie >> 56n === 6n).length;
    };

    // Sanity: one packet through (first, then warm).
    const first = await inject(0, 5_000);
    const warm = await inject(0, 5_000);
    if (first === undefined || warm === undefined) {
      log(`stats ${JSON.stringify(ctl.stats())}`);
      const hex = udpFrame(vmb.mac_address as string, gw.mac_address as string, '10.1.0.10', destIp(0), 1).toString('hex');
      log(await o.appctl('ofproto/trace', 'br-int', `in_port=${vmbOfport}`, hex).catch((e: unknown) => String(e)));
      throw new Error('no packet came out of the tunnel: the bench setup is broken');
    }
    await clearReactive();

    // Floor: packet-out → packet-in on the receiver connection.
    const floorLat: number[] = [];
    const floorOnce = (timeoutMs: number): Promise<number | undefined> =>
      new Promise((resolve) => {
        const tag = tagSeq++;
        const timer = setTimeout(() => {
          waiting.delete(tag);
          resolve(undefined);
        }, timeoutMs);
        const t = performance.now();
        waiting.set(tag, (now) => {
          clearTimeout(timer);
          resolve(now - t);
        });
        r.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: 'controller', actions: [{ type: 'output', port: 'controller', maxLen: 0xffff }],
          data: udpFrame('02:00:00:00:00:01', '02:00:00:00:00:02', '10.9.0.1', '10.9.0.2', tag) });
      });
    for (let i = 0; i < 200; i++) await floorOnce(2_000);
    for (let i = 0; i < 2_000; i++) {
      const v = await floorOnce(2_000);
      if (v !== undefined) floorLat.push(v);
    }
    /** k in flight; `seconds` runs to the last packet that came back (lost ones time out later). */
    const windowed = async (items: readonly number[], k: number, fn: (i: number) => Promise<number | undefined>): Promise<{ seconds: number; ok: number; lost: number }> => {
      let next = 0;
      let ok = 0;
      let lost = 0;
      const t = performance.now();
      let last = t;
      await Promise.all(
        Array.from({ length: Math.min(k, items.length) }, async () => {
          while (next < items.length) {
            const v = await fn(items[next++]);
            if (v === undefined) lost++;
            else {
              ok++;
              last = performance.now();
            }
          }
        }),
      );
      return { seconds: (last - t) / 1000, ok, lost };
    };
    const floorTp = await windowed(Array.from({ length: 30_000 }, (_, i) => i), 1000, () => floorOnce(1_000));
    const floor = {
      latencyMs: { p50: r3(percentile(sorted(floorLat), 50)), p99: r3(percentile(sorted(floorLat), 99)) },
      roundTripsPerSec: r0(floorTp.ok / floorTp.seconds),
      lost: floorTp.lost,
    };
    log(`floor: p50 ${floor.latencyMs.p50} ms, ${floor.roundTripsPerSec}/s`);

    // Setup rate: per window, R rounds (reactive flows deleted before each).
    const dests = Array.from({ length: DESTS }, (_, i) => i);
    type Round = { flowsPerSec: number; packetsPerSec: number; seconds: number; installed: number; lost: number; inTable: number; cpuUsPerFlow: { node: number; vswitchd: number } };
    const vswitchdPid = Number(readFileSync(path.join(dir, 'ovs-vswitchd.pid'), 'utf8').trim());
    const byWindow: Record<string, { median: number; min: number; max: number; rounds: Round[] }> = {};
    let hot: HotSpot[] = [];
    let busyPct = 0;
    for (const win of WINDOWS) {
      const rounds: Round[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await clearReactive();
        await sleep(200);
        const before = ctl.stats().reactiveFlowsInstalled;
        const cpu0 = process.cpuUsage();
        const ovsCpu0 = procCpuSeconds(vswitchdPid);
        const run = (): ReturnType<typeof windowed> => windowed(dests, win, (i) => inject(i, 1_000));
        let res: Awaited<ReturnType<typeof windowed>>;
        if (PROFILE && round === ROUNDS - 1 && win === WINDOWS[WINDOWS.length - 1]) {
          const p = await profile(run);
          res = p.value;
          hot = p.hot;
          busyPct = p.busyPct;
        } else res = await run();
        const installed = ctl.stats().reactiveFlowsInstalled - before;
        const cpu = process.cpuUsage(cpu0);
        const cpuUsPerFlow = {
          node: r0((cpu.user + cpu.system) / Math.max(1, installed)),
          vswitchd: r0(((procCpuSeconds(vswitchdPid) - ovsCpu0) * 1e6) / Math.max(1, installed)),
        };
        const inTable = await reactiveFlowCount();
        rounds.push({ flowsPerSec: r0(installed / res.seconds), packetsPerSec: r0(res.ok / res.seconds), seconds: r3(res.seconds), installed, lost: res.lost, inTable, cpuUsPerFlow });
        log(`window ${win} round ${round + 1}: ${installed} flows, last packet after ${res.seconds.toFixed(3)} s, ${res.lost} lost, ${inTable} reactive flows in the table`);
      }
      const f = rounds.map((x) => x.flowsPerSec);
      byWindow[String(win)] = { median: median(f), min: Math.min(...f), max: Math.max(...f), rounds };
    }
    const best = Object.entries(byWindow).sort((a, b) => b[1].median - a[1].median)[0];

    // First-packet latency vs warm, R rounds over the first L destinations.
    const firstLat: number[] = [];
    const warmLat: number[] = [];
    let latLost = 0;
    const latRounds: { firstP50: number; warmP50: number; addedP50: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await clearReactive();
      await sleep(200);
      const f: number[] = [];
      const w: number[] = [];
      for (let i = 0; i < LATENCY_N; i++) {
        const v = await inject(i, 3_000);
        if (v === undefined) latLost++;
        else f.push(v);
      }
      for (let i = 0; i < LATENCY_N; i++) {
        const v = await inject(i, 3_000);
        if (v === undefined) latLost++;
        else w.push(v);
      }
      firstLat.push(...f);
      warmLat.push(...w);
      latRounds.push({ firstP50: r3(median(f)), warmP50: r3(median(w)), addedP50: r3(median(f) - median(w)) });
    }
    await clearReactive();

    const added = latRounds.map((x) => x.addedP50);
    const result = {
      bench: 'reactive',
      machine: m,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      params: { datapath: 'dummy', destinations: DESTS, rounds: ROUNDS, windows: WINDOWS, latencySamples: LATENCY_N },
      setupSeconds: Math.round(setupS * 10) / 10,
      setupRate: { bestWindow: Number(best[0]), flowsPerSecMedian: best[1].median, min: best[1].min, max: best[1].max, byWindow },
      latencyMs: {
        first: { p50: r3(percentile(sorted(firstLat), 50)), p99: r3(percentile(sorted(firstLat), 99)) },
        warm: { p50: r3(percentile(sorted(warmLat), 50)), p99: r3(percentile(sorted(warmLat), 99)) },
        addedP50: { median: r3(median(added)), min: Math.min(...added), max: Math.max(...added) },
        rounds: latRounds,
        lost: latLost,
      },
      floor,
      goal: { flowsPerSec: 40_000, addedP50Ms: 0.5, met: best[1].median >= 40_000 && median(added) < 0.5 },
      strayPacketIns: strays,
      hotSpots: hot,
      profiledBusyPct: busyPct,
    };

    console.log('');
    console.log('reactive flow setup (dummy datapath, in-process controller)      median      range');
    for (const [w, v] of Object.entries(byWindow)) {
      const lost = v.rounds.map((x) => x.lost).join('/');
      const cpu = v.rounds[v.rounds.length - 1].cpuUsPerFlow;
      console.log(`  new flows/s, ${DESTS} destinations, ${w.padStart(4)} outstanding (lost ${lost})`.padEnd(63) + `${String(v.median).padStart(8)}   ${v.min}–${v.max}` +
        `   CPU/flow: node ${cpu.node} us, vswitchd ${cpu.vswitchd} us`);
    }
    console.log(`  first packet latency p50 (ms)                                 ${String(result.latencyMs.first.p50).padStart(8)}   p99 ${result.latencyMs.first.p99}`);
    console.log(`  warm packet latency p50 (ms), flow in place                   ${String(result.latencyMs.warm.p50).padStart(8)}   p99 ${result.latencyMs.warm.p99}`);
    console.log(`  added latency p50 (ms), first − warm                          ${String(result.latencyMs.addedP50.median).padStart(8)}   ${result.latencyMs.addedP50.min}–${result.latencyMs.addedP50.max}`);
    console.log(`  floor: OVS packet-out → packet-in p50 (ms)                    ${String(floor.latencyMs.p50).padStart(8)}   p99 ${floor.latencyMs.p99}`);
    console.log(`  floor: packet-out → packet-in round trips/s (1000 outstanding) ${String(floor.roundTripsPerSec).padStart(7)}   (${floor.lost} lost)`);
    console.log(`  goal ≥ 40,000 flows/s and added p50 < 0.5 ms: ${result.goal.met ? 'met' : 'NOT met'}`);
    if (hot.length) {
      console.log('');
      console.log('CPU profile of this process (controller + bench; OVS not included), last rate round, % of busy samples:');
      for (const h of hot) console.log(`  ${String(h.selfPct).padStart(5)}%  ${h.fn}  ${h.where}`);
      console.log(`  (busy ${busyPct}% of the round's wall time)`);
    }
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    gen?.close();
    rx?.close();
    tunnel?.destroy();
    await controller?.stop().catch(() => undefined);
    await ovs?.stop().catch(() => undefined);
    server?.closeAllConnections();
    server?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
