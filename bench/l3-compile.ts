/**
 * `npm run bench:l3-compile [-- --subnets 100 --ports 5000 --chassis 10 --repeat 5]`
 *
 * Pure (no OVS): one distributed router × S subnets × P VM ports spread over C chassis.
 *  - flow and group count per chassis (proactive and reactive L3 mode);
 *  - full compile time (`fullCompile`) of one chassis' LocalTopology;
 *  - incremental compile time (`updateDesired`) for (a) one port change (a local port's binding
 *    moves to another chassis, and back) and (b) one router interface detach (and re-attach),
 *    with the owners recomputed and flows changed; each incremental result is checked against
 *    a from-scratch compile of the same topology.
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { performance } from 'node:perf_hooks';
import type { LocalTopology } from '../src/pipeline/topology.js';
import { fullCompile, updateDesired, type DesiredTable } from '../src/pipeline/index.js';
import { machine, summarize, type Summary } from './lib/bench-util.js';
import { L3Cloud } from './lib/l3-topology.js';

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}

const SUBNETS = Number(arg('subnets', '100'));
const PORTS = Number(arg('ports', '5000'));
const CHASSIS = Number(arg('chassis', '10'));
const REPEAT = Number(arg('repeat', '5'));
const CHECK = arg('check', 'true') !== 'false';

const ms = (t0: number): number => performance.now() - t0;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

function sameAsScratch(d: DesiredTable, topo: LocalTopology): boolean {
  return d.dump() === fullCompile(topo).dump();
}

interface IncResult {
  readonly ms: Summary;
  readonly owners: number;
  readonly flowsChanged: number;
  readonly matchesScratch: boolean;
}

function main(): void {
  console.log('machine', JSON.stringify(machine()));
  console.log(`1 router × ${SUBNETS} subnets × ${PORTS} ports over ${CHASSIS} chassis; repeat ${REPEAT}`);

  // 1. Flow count per chassis, both modes.
  const perChassis: Record<string, Record<string, { flows: number; groups: number; fullMs: number }>> = {};
  for (const mode of ['proactive', 'reactive'] as const) {
    const cloud = new L3Cloud({ subnets: SUBNETS, ports: PORTS, chassis: CHASSIS, l3Mode: mode });
    perChassis[mode] = {};
    for (const name of cloud.chassis.keys()) {
      const topo = cloud.viewAs(name);
      const t = performance.now();
      const d = fullCompile(topo);
      perChassis[mode][name] = { flows: d.flowCount, groups: d.groupCount, fullMs: r1(ms(t)) };
    }
  }

  // 2. Full compile time (hv1), repeated; 3. incremental.
  const results: Record<string, { fullMs: Summary; flows: number; portChange: IncResult; detach: IncResult }> = {};
  for (const mode of ['proactive', 'reactive'] as const) {
    const cloud = new L3Cloud({ subnets: SUBNETS, ports: PORTS, chassis: CHASSIS, l3Mode: mode });
    const full: number[] = [];
    let desired: DesiredTable | undefined;
    let topo = cloud.viewAs('hv1');
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      desired = fullCompile(topo);
      full.push(ms(t));
    }
    const d = desired!;
    d.takeDirty();

    const incremental = (change: () => void, revert: () => void): IncResult => {
      const times: number[] = [];
      let owners = 0;
      let flowsChanged = 0;
      let ok = true;
      for (let i = 0; i < REPEAT; i++) {
        for (const step of [change, revert]) {
          step();
          const next = cloud.viewAs('hv1');
          const t = performance.now();
          const o = updateDesired(d, topo, next);
          times.push(ms(t));
          const dirty = d.takeDirty();
          if (step === change) {
            owners = o.length;
            flowsChanged = dirty.flows.size;
            if (CHECK && i === 0 && !sameAsScratch(d, next)) ok = false;
          }
          topo = next;
        }
      }
      return { ms: summarize(times), owners, flowsChanged, matchesScratch: ok };
    };

    // (a) a port bound on hv1 moves to hv2 (and back): local ↔ remote.
    const moving = [...cloud.ports.values()].find((p) => p.chassis === 'hv1')!;
    const portChange = incremental(
      () => cloud.updatePort(moving.id, { chassis: 'hv2' }),
      () => cloud.updatePort(moving.id, { chassis: 'hv1' }),
    );
    // (b) the router's interface on the middle subnet detached (and re-attached).
    const sub = `sub${Math.floor(SUBNETS / 2)}`;
    let removed: ReturnType<L3Cloud['detach']> | undefined;
    const detach = incremental(
      () => {
        removed = cloud.detach(sub);
      },
      () => cloud.attach(removed!),
    );
    results[mode] = { fullMs: summarize(full), flows: d.flowCount, portChange, detach };
  }

  // Table.
  const counts = (mode: string): number[] => Object.values(perChassis[mode]).map((c) => c.flows);
  const range = (xs: number[]): string => `${Math.min(...xs)}–${Math.max(...xs)}`;
  console.log('');
  console.log('flows per chassis       proactive          reactive');
  for (const name of Object.keys(perChassis.proactive)) {
    const p = perChassis.proactive[name];
    const r = perChassis.reactive[name];
    console.log(`  ${name.padEnd(20)} ${`${p.flows} (+${p.groups} groups)`.padEnd(18)} ${r.flows} (+${r.groups} groups)`);
  }
  console.log(`  ${'range'.padEnd(20)} ${range(counts('proactive')).padEnd(18)} ${range(counts('reactive'))}`);
  console.log('');
  console.log('hv1, ms (p50 / max)     proactive                     reactive');
  const row = (label: string, f: (m: string) => string): void =>
    console.log(`  ${label.padEnd(20)} ${f('proactive').padEnd(29)} ${f('reactive')}`);
  row('full compile', (m) => `${r1(results[m].fullMs.p50)} / ${r1(results[m].fullMs.max)}`);
  const inc = (x: IncResult): string => `${r2(x.ms.p50)} / ${r2(x.ms.max)} (${x.owners} owners, ${x.flowsChanged} flows${x.matchesScratch ? '' : ', MISMATCH'})`;
  row('port moves', (m) => inc(results[m].portChange));
  row('interface detach', (m) => inc(results[m].detach));
  console.log('  (incremental: both the change and its revert are timed; owners/flows for the change)');

  const result = {
    bench: 'l3-compile',
    machine: machine(),
    params: { routers: 1, subnets: SUBNETS, ports: PORTS, chassis: CHASSIS, repeat: REPEAT },
    flowsPerChassis: {
      proactive: { min: Math.min(...counts('proactive')), max: Math.max(...counts('proactive')), byChassis: perChassis.proactive },
      reactive: { min: Math.min(...counts('reactive')), max: Math.max(...counts('reactive')), byChassis: perChassis.reactive },
    },
    hv1: results,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main();
