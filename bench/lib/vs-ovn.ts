/**
 * `bench:convergence -- --vs-ovn`: Wyvern and OVN side by side on the same topology, in one run,
 * each through its own north-bound, one system running at a time:
 *
 *   topology  1 router × NETWORKS (20) networks, one /24 subnet each; Neutron's default security
 *             group on every port (OVN: Neutron's port groups and ACLs, DHCP_Options per subnet).
 *   bulk500   25 ports per network created at once (Wyvern: one bulk POST; OVN: one NB
 *             transaction), then all plugged in one OVSDB transaction; seconds from the first
 *             create until the last port's flows are installed and acknowledged.
 *   flows     OpenFlow flows in br-int with that 500-port topology.
 *   paced     then PACED (100) more ports one at a time (create, plug, wait installed, 100 ms gap):
 *             p50/p99 of create → installed.
 *   bulk2000  on a fresh deployment, 100 ports per network at once (4 bulk POSTs / NB
 *             transactions of 500), plugged in one OVSDB transaction.
 *
 * "Installed": Wyvern, the controller's bundle holding the port's classification flow committed
 * and acknowledged; OVN, ovn-controller's `external_ids:ovn-installed=true` on the Interface.
 * Controller RSS and CPU seconds come from /proc (Wyvern: the controller process, which runs
 * under tsx here; OVN: ovn-controller); the other processes of each system are reported too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log, summarize, type Summary } from './bench-util.js';
import { onCleanup } from './cleanup.js';
import { OvnSystem, ovnMissing, ovnVersion } from './ovn-system.js';
import { procStats, type ProcStats } from './proc-stats.js';
import type { SystemUnderTest } from './sut.js';
import type { Vif } from './vif-plug.js';
import { WyvernSystem } from './wyvern-system.js';
import { withTimeout } from './ack-tracker.js';

export interface VsOvnOptions {
  readonly networks: number;
  readonly portsPerNetwork: number;
  readonly paced: number;
  readonly bulkPortsPerNetwork: number;
  readonly skipOvn: boolean;
  /** false: ports without port security or security groups, in both systems. */
  readonly security: boolean;
  /** Keep a CPU profile of the Wyvern controller (node --cpu-prof) in this directory. */
  readonly cpuProfDir?: string;
}

type Sys = 'wyvern' | 'ovn';

interface BulkResult {
  readonly ports: number;
  /** null: not every port was installed within BULK_TIMEOUT_MS (see `error`). */
  readonly seconds: number | null;
  readonly error?: string;
  /** Lost OpenFlow connections of the controller during the phase (each resends its bundle). */
  readonly switchLost: number;
  /** Of which: north-bound creates answered; plug transaction answered (seconds since start). */
  readonly createdS: number;
  readonly pluggedS: number;
  /** The last interface got its OpenFlow port from ovs-vswitchd (seconds since start). */
  readonly ofportsS: number;
  /** Installed-time percentiles of the ports, seconds since start. */
  readonly firstS: number;
  readonly medianS: number;
}

interface PacedResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly n: number;
  /** p50 of the north-bound create alone and of create + plug transaction. */
  readonly createP50Ms: number;
  readonly plugP50Ms: number;
  /** p50 of create → ovs-vswitchd assigned the OpenFlow port. */
  readonly ofportP50Ms: number;
  /** ofport assigned → installed: the controller's own share (plus the switch's flow install). */
  readonly afterOfportP50Ms: number;
  readonly afterOfportP99Ms: number;
}

interface ProcReport extends ProcStats {
  /** CPU seconds in the measured phases (bulk + paced, or bulk alone). */
  readonly phaseCpuSeconds: number;
}

interface PhaseA {
  readonly bulk: BulkResult;
  readonly flows: number;
  readonly paced: PacedResult;
  readonly flowsAfterPaced: number;
  readonly procs: Record<string, ProcReport>;
}

interface PhaseB {
  readonly bulk: BulkResult;
  readonly flows: number;
  readonly procs: Record<string, ProcReport>;
}

const PORT_TIMEOUT_MS = 60_000;
const BULK_TIMEOUT_MS = 300_000;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function startSystem(sys: Sys, dir: string, o: VsOvnOptions): Promise<SystemUnderTest> {
  return sys === 'wyvern' ? WyvernSystem.start(dir, { cpuProfDir: o.cpuProfDir, security: o.security }) : OvnSystem.start(dir, { security: o.security });
}

function snapshot(s: SystemUnderTest): Record<string, ProcStats> {
  const out: Record<string, ProcStats> = {};
  for (const [role, pid] of Object.entries(s.pids())) out[role] = procStats(pid);
  return out;
}

function report(s: SystemUnderTest, before: Record<string, ProcStats>): Record<string, ProcReport> {
  const out: Record<string, ProcReport> = {};
  for (const [role, pid] of Object.entries(s.pids())) {
    const now = procStats(pid);
    out[role] = { ...now, phaseCpuSeconds: r2(now.cpuSeconds - (before[role]?.cpuSeconds ?? 0)) };
  }
  return out;
}

async function bulk(s: SystemUnderTest, networks: number, perNet: number): Promise<BulkResult> {
  const nets = Array.from({ length: networks * perNet }, (_, k) => k % networks);
  const lost0 = s.switchLost;
  const t0 = performance.now();
  const vifs = await s.createPorts(nets);
  const tCreated = performance.now();
  await s.plug(vifs);
  const tPlugged = performance.now();
  const ofports = await Promise.all(vifs.map((v) => s.ofportAt(v)));
  const base = {
    ports: vifs.length,
    createdS: r2((tCreated - t0) / 1000),
    pluggedS: r2((tPlugged - t0) / 1000),
    ofportsS: r2((Math.max(...ofports) - t0) / 1000),
  };
  let times: number[];
  try {
    times = await withTimeout(Promise.all(vifs.map((v) => s.installedAt(v))), BULK_TIMEOUT_MS, `${s.name}: ${vifs.length} ports installed`);
  } catch (err) {
    log(String(err));
    return { ...base, seconds: null, error: String(err), switchLost: s.switchLost - lost0, firstS: Number.NaN, medianS: Number.NaN };
  }
  const sorted = times.map((t) => (t - t0) / 1000).sort((a, b) => a - b);
  return {
    ...base,
    seconds: r2(sorted[sorted.length - 1]),
    switchLost: s.switchLost - lost0,
    firstS: r2(sorted[0]),
    medianS: r2(sorted[Math.floor(sorted.length / 2)]),
  };
}

async function paced(s: SystemUnderTest, networks: number, n: number): Promise<PacedResult> {
  const all: number[] = [];
  const created: number[] = [];
  const plugged: number[] = [];
  const ofports: number[] = [];
  const afterOfport: number[] = [];
  for (let k = 0; k < n; k++) {
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const [vif]: Vif[] = await s.createPorts([k % networks]);
    created.push(performance.now() - t0);
    await s.plug([vif]);
    plugged.push(performance.now() - t0);
    const t = await withTimeout(s.installedAt(vif), PORT_TIMEOUT_MS, `${s.name}: port ${vif.ifaceId} installed`);
    all.push(t - t0);
    const tOfport = await withTimeout(s.ofportAt(vif), PORT_TIMEOUT_MS, `${vif.name} ofport`);
    ofports.push(tOfport - t0);
    afterOfport.push(t - tOfport);
  }
  const sum: Summary = summarize(all);
  return { p50Ms: sum.p50, p99Ms: sum.p99, maxMs: sum.max, n: sum.n, createP50Ms: summarize(created).p50, plugP50Ms: summarize(plugged).p50,
    ofportP50Ms: summarize(ofports).p50,
    afterOfportP50Ms: summarize(afterOfport).p50,
    afterOfportP99Ms: summarize(afterOfport).p99,
  };
}

async function phaseA(sys: Sys, dir: string, o: VsOvnOptions): Promise<PhaseA> {
  log(`${sys}: starting (phase A: ${o.networks} × ${o.portsPerNetwork} ports at once, then ${o.paced} paced)`);
  const s = await startSystem(sys, path.join(dir, `${sys}-a`), o);
  try {
    await s.buildTopology(o.networks);
    const before = snapshot(s);
    const b = await bulk(s, o.networks, o.portsPerNetwork);
    log(`${sys}: bulk ${b.ports}: ${JSON.stringify(b)}`);
    await new Promise((r) => setTimeout(r, 1000));
    const flows = await s.flowCount();
    log(`${sys}: ${flows} flows; paced`);
    const p = await paced(s, o.networks, o.paced);
    log(`${sys}: paced: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 500));
    const procs = report(s, before);
    const flowsAfterPaced = await s.flowCount();
    return { bulk: b, flows, paced: p, flowsAfterPaced, procs };
  } finally {
    await s.stop();
  }
}

async function phaseB(sys: Sys, dir: string, o: VsOvnOptions): Promise<PhaseB> {
  log(`${sys}: starting (phase B: ${o.networks} × ${o.bulkPortsPerNetwork} ports at once)`);
  const s = await startSystem(sys, path.join(dir, `${sys}-b`), o);
  try {
    await s.buildTopology(o.networks);
    const before = snapshot(s);
    const b = await bulk(s, o.networks, o.bulkPortsPerNetwork);
    log(`${sys}: bulk ${b.ports}: ${JSON.stringify(b)}`);
    const procs = report(s, before);
    const flows = await s.flowCount();
    return { bulk: b, flows, procs };
  } finally {
    await s.stop();
  }
}

export interface VsOvnResult {
  readonly ovn: string | null;
  readonly ovnMissing: string | null;
  readonly topology: { routers: 1; networks: number; ports: number; bulkPorts: number; paced: number; securityGroups: boolean };
  readonly paced: Record<Sys, PacedResult | null>;
  readonly bulk500: Record<Sys, BulkResult | null>;
  readonly bulk2000: Record<Sys, BulkResult | null>;
  readonly flows: Record<Sys, number | null>;
  readonly flowsAfterPaced: Record<Sys, number | null>;
  readonly flows2000: Record<Sys, number | null>;
  /** Per-chassis controller: RSS and CPU after phase A (500 + paced) and after bulk2000. */
  readonly controller: Record<Sys, { a: ProcReport; b: ProcReport } | null>;
  /** Every process of each system (server/northd/databases/vswitchd), phase A and B. */
  readonly processes: Record<Sys, { a: Record<string, ProcReport>; b: Record<string, ProcReport> } | null>;
  /** OVN ÷ Wyvern for times (how many times faster Wyvern is), Wyvern ÷ OVN for flows. */
  readonly ratios: Record<string, number> | null;
  readonly goals: Record<string, boolean> | null;
}

export async function runVsOvn(o: VsOvnOptions): Promise<VsOvnResult> {
  const missing = o.skipOvn ? 'skipped (--skip-ovn)' : ((await ovnMissing()) ?? null);
  const version = missing ? null : await ovnVersion();
  if (missing) log(`OVN not available: ${missing}; reporting Wyvern alone`);
  else log(`OVN: ${version}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-vs-ovn-'));
  const forgetDir = onCleanup('vs-ovn dir', () => rmSync(dir, { recursive: true, force: true }));
  const systems: Sys[] = missing ? ['wyvern'] : ['wyvern', 'ovn'];
  const a: Partial<Record<Sys, PhaseA>> = {};
  const b: Partial<Record<Sys, PhaseB>> = {};
  try {
    for (const sys of systems) a[sys] = await phaseA(sys, dir, o);
    for (const sys of systems) b[sys] = await phaseB(sys, dir, o);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
  }
  const pick = <T>(f: (x: PhaseA, y: PhaseB) => T): Record<Sys, T | null> => ({
    wyvern: a.wyvern && b.wyvern ? f(a.wyvern, b.wyvern) : null,
    ovn: a.ovn && b.ovn ? f(a.ovn, b.ovn) : null,
  });
  const w = { a: a.wyvern!, b: b.wyvern! };
  const v = a.ovn && b.ovn ? { a: a.ovn, b: b.ovn } : undefined;
  /** OVN ÷ Wyvern; a side that never finished counts as 0 (OVN) or as no speed-up at all (Wyvern). */
  const ratio = (ovn: number | null, wyv: number | null): number => (ovn === null ? 0 : wyv === null ? 0 : r1(ovn / wyv));
  const ratios = v
    ? {
        pacedP50: r1(v.a.paced.p50Ms / w.a.paced.p50Ms),
        pacedP99: r1(v.a.paced.p99Ms / w.a.paced.p99Ms),
        bulk500: ratio(v.a.bulk.seconds, w.a.bulk.seconds),
        bulk2000: ratio(v.b.bulk.seconds, w.b.bulk.seconds),
        flows: r2(w.a.flows / v.a.flows),
        controllerRss: r2(w.a.procs.controller.rssMiB / v.a.procs.controller.rssMiB),
        controllerCpuA: r2(w.a.procs.controller.phaseCpuSeconds / v.a.procs.controller.phaseCpuSeconds),
        controllerCpuB: r2(w.b.procs.controller.phaseCpuSeconds / v.b.procs.controller.phaseCpuSeconds),
      }
    : null;
  const goals = ratios
    ? { pacedP99TenTimes: ratios.pacedP99 >= 10, bulk500TenTimes: ratios.bulk500 >= 10, bulk2000TenTimes: ratios.bulk2000 >= 10, flowsHalf: ratios.flows <= 0.5 }
    : null;
  return {
    ovn: version,
    ovnMissing: missing,
    topology: { routers: 1, networks: o.networks, ports: o.networks * o.portsPerNetwork, bulkPorts: o.networks * o.bulkPortsPerNetwork, paced: o.paced, securityGroups: o.security },
    paced: pick((x) => x.paced),
    bulk500: pick((x) => x.bulk),
    bulk2000: pick((_, y) => y.bulk),
    flows: pick((x) => x.flows),
    flowsAfterPaced: pick((x) => x.flowsAfterPaced),
    flows2000: pick((_, y) => y.flows),
    controller: pick((x, y) => ({ a: x.procs.controller, b: y.procs.controller })),
    processes: pick((x, y) => ({ a: x.procs, b: y.procs })),
    ratios,
    goals,
  };
}

/** The table printed before the RESULT line. */
export function printVsOvn(r: VsOvnResult): void {
  const pad = (s: string | number | null | undefined, n: number): string => String(s ?? '—').padStart(n);
  const t = r.topology;
  console.log(`\nWyvern vs OVN (${r.ovn ?? `OVN missing: ${r.ovnMissing}`}): 1 router × ${t.networks} networks; ${t.securityGroups ? 'default security group + port security' : 'no port security, no security groups'}; one chassis, dummy datapath`);
  console.log(`${'measure'.padEnd(40)} ${pad('wyvern', 10)} ${pad('ovn', 10)} ${pad('ovn/wyv', 8)}`);
  const row = (name: string, wv: number | undefined, ov: number | undefined, ratio?: number): void =>
    console.log(`${name.padEnd(40)} ${pad(wv, 10)} ${pad(ov, 10)} ${pad(ratio, 8)}`);
  const q = r.ratios ?? undefined;
  row(`paced ${t.paced} ports, p50 ms`, r.paced.wyvern?.p50Ms, r.paced.ovn?.p50Ms, q?.pacedP50);
  row(`paced ${t.paced} ports, p99 ms`, r.paced.wyvern?.p99Ms, r.paced.ovn?.p99Ms, q?.pacedP99);
  row('paced: create answered p50 ms', r.paced.wyvern?.createP50Ms, r.paced.ovn?.createP50Ms);
  row('paced: create + plug answered p50 ms', r.paced.wyvern?.plugP50Ms, r.paced.ovn?.plugP50Ms);
  row('paced: ofport assigned p50 ms', r.paced.wyvern?.ofportP50Ms, r.paced.ovn?.ofportP50Ms);
  row('paced: ofport → installed p50 ms', r.paced.wyvern?.afterOfportP50Ms, r.paced.ovn?.afterOfportP50Ms);
  row('paced: ofport → installed p99 ms', r.paced.wyvern?.afterOfportP99Ms, r.paced.ovn?.afterOfportP99Ms);
  row(`bulk ${t.ports} ports, s`, r.bulk500.wyvern?.seconds ?? undefined, r.bulk500.ovn?.seconds ?? undefined, q?.bulk500);
  row(`  creates answered, s`, r.bulk500.wyvern?.createdS, r.bulk500.ovn?.createdS);
  row(`  Wyvern controller lost the switch (times)`, r.bulk500.wyvern?.switchLost, undefined);
  row(`  plug answered, s`, r.bulk500.wyvern?.pluggedS, r.bulk500.ovn?.pluggedS);
  row(`  last ofport assigned, s`, r.bulk500.wyvern?.ofportsS, r.bulk500.ovn?.ofportsS);
  row(`bulk ${t.bulkPorts} ports, s`, r.bulk2000.wyvern?.seconds ?? undefined, r.bulk2000.ovn?.seconds ?? undefined, q?.bulk2000);
  row(`  Wyvern controller lost the switch (times)`, r.bulk2000.wyvern?.switchLost, undefined);
  for (const [k, b] of [['bulk500', r.bulk500], ['bulk2000', r.bulk2000]] as const) {
    for (const sys of ['wyvern', 'ovn'] as const) if (b[sys]?.error) console.log(`${k} ${sys}: FAILED: ${b[sys]?.error}`);
  }
  row(`  creates answered, s`, r.bulk2000.wyvern?.createdS, r.bulk2000.ovn?.createdS);
  row(`  last ofport assigned, s`, r.bulk2000.wyvern?.ofportsS, r.bulk2000.ovn?.ofportsS);
  row(`OpenFlow flows, ${t.ports} ports`, r.flows.wyvern ?? undefined, r.flows.ovn ?? undefined, q ? r2(1 / q.flows) : undefined);
  row(`OpenFlow flows, ${t.bulkPorts} ports`, r.flows2000.wyvern ?? undefined, r.flows2000.ovn ?? undefined);
  row(`controller RSS MiB (${t.ports}+${t.paced} ports)`, r.controller.wyvern?.a.rssMiB, r.controller.ovn?.a.rssMiB);
  row(`controller CPU s (bulk ${t.ports} + paced)`, r.controller.wyvern?.a.phaseCpuSeconds, r.controller.ovn?.a.phaseCpuSeconds);
  row(`controller RSS MiB (${t.bulkPorts} ports)`, r.controller.wyvern?.b.rssMiB, r.controller.ovn?.b.rssMiB);
  row(`controller CPU s (bulk ${t.bulkPorts})`, r.controller.wyvern?.b.phaseCpuSeconds, r.controller.ovn?.b.phaseCpuSeconds);
  for (const sys of ['wyvern', 'ovn'] as const) {
    const p = r.processes[sys];
    if (!p) continue;
    const parts = (x: Record<string, ProcReport>): string =>
      Object.entries(x)
        .map(([role, s]) => `${role} ${s.rssMiB} MiB/${s.phaseCpuSeconds} s`)
        .join(', ');
    console.log(`${sys} processes, RSS/CPU in phase: A: ${parts(p.a)}; B: ${parts(p.b)}`);
  }
  if (r.goals) {
    const g = r.goals;
    const yes = (b: boolean): string => (b ? 'met' : 'NOT met');
    console.log(
      `goals: per-port p99 ≥ 10× OVN: ${yes(g.pacedP99TenTimes)}; bulk ${t.ports} ≥ 10×: ${yes(g.bulk500TenTimes)}; bulk ${t.bulkPorts} ≥ 10×: ${yes(g.bulk2000TenTimes)}; flows ≤ ½ of OVN's: ${yes(g.flowsHalf)}`,
    );
  }
}
