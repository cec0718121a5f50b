/**
 * `npm run bench:dataplane [-- --seconds 5 --repeat 5] [--north-south-only | --east-west-only]`
 * (root: namespaces, OVS, iperf3, iptables)
 *
 * TCP throughput (iperf3, one stream) between "VMs" (namespaces, veth, TX offload off on both
 * ends), userspace datapath everywhere, side by side in one run (cases interleaved per repeat):
 *  - wyvern: a sandbox (2 chassis, real server and controllers): blue 10.1.0.0/24 and red
 *    10.2.0.0/24 joined by router r1; VMs a (blue, hv1), e (blue, hv1), b (red, hv1),
 *    d (blue, hv2), c (red, hv2):
 *      L3 same chassis a→b, L3 across chassis a→c (Geneve), L2 same chassis a→e, L2 across a→d;
 *  - plain OVS: a private ovs-vswitchd (own namespace, one netdev bridge, `actions=NORMAL`):
 *      L2 n1→n2 on one subnet, and a DVR-style Linux namespace router (two legs on the same
 *      bridge, ip_forward=1) between n3 and n4 on two subnets.
 * North-south (the sandbox also has gateway chassis gw1, br-ex on `public` everywhere, and the
 * outside namespace: 203.0.113.1 on public, the internet host 192.0.2.10):
 *  - wyvern (bench/lib/north-south.ts): router rns with its gateway on `public`; VM snat (hv1,
 *    no floating IP) → 192.0.2.10 through SNAT on gw1 (Geneve hv1→gw1); VM fip (hv1) with a
 *    floating IP: outside → floating IP and fip → 192.0.2.10, translated on hv1;
 *  - the reference (bench/lib/nat-router.ts): a Linux namespace router with iptables SNAT/DNAT
 *    for the same translations, DVR's way, its VM on a veth straight into it and its other leg
 *    on `public` (203.0.113.250 SNAT, .251 floating IP); and the same router with its VM leg
 *    through an OVS bridge (NORMAL), as DVR's qr- ports sit on br-int (.252/.253).
 *  Each path's translation is checked first (the outside tells the source it sees).
 * Same MTU (1442) on every VM leg. Reports median and range per case, and the goal ratios
 * (east-west: wyvern L3 same chassis ≥ 95% of plain L2, and above the namespace router;
 * north-south: floating IP ≥ the namespace router in both directions, SNAT ≥ 90% of it).
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { up } from '../src/sandbox/sandbox.js';
import { SandboxState } from '../src/sandbox/state.js';
import { teardown } from '../src/sandbox/teardown.js';
import { createVm, findVm } from '../src/sandbox/vm.js';
import { findOutside } from '../src/sandbox/outside.js';
import { Api, log, machine, percentile } from './lib/bench-util.js';
import { iperf, ovsDirOf, PlainNet, type IperfResult } from './lib/dataplane-net.js';
import { iptablesAvailable, NatRouter } from './lib/nat-router.js';
import { buildWyvernNorthSouth, seenSource, waitPing } from './lib/north-south.js';

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}

const SECONDS = Number(arg('seconds', '5'));
const REPEAT = Number(arg('repeat', '5'));
const MTU = 1442;
const NORTH_SOUTH = !process.argv.includes('--east-west-only');
const EAST_WEST = !process.argv.includes('--north-south-only');
const INTERNET = '192.0.2.10';

interface Case {
  readonly name: string;
  readonly group: 'east-west' | 'north-south';
  readonly from: string;
  readonly toNs: string;
  readonly toIp: string;
  /** Client source address (iperf3 -B). */
  readonly bind?: string;
}

/** North-south row names: what each Wyvern path is compared with. */
const NS = {
  snat: 'wyvern SNAT (gw1), VM → outside',
  fipOut: 'wyvern floating IP, VM → outside',
  fipIn: 'wyvern floating IP, outside → VM',
  nrSnat: 'namespace router SNAT, VM → outside',
  nrFipOut: 'namespace router FIP, VM → outside',
  nrFipIn: 'namespace router FIP, outside → VM',
  nroSnat: 'ns router via OVS, SNAT, VM → out',
  nroFipOut: 'ns router via OVS, FIP, VM → out',
  nroFipIn: 'ns router via OVS, FIP, out → VM',
} as const;

async function main(): Promise<void> {
  if (!NORTH_SOUTH && !EAST_WEST) throw new Error('--north-south-only and --east-west-only exclude each other');
  if (NORTH_SOUTH) {
    const why = await iptablesAvailable();
    if (why) throw new Error(why);
  }
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`iperf3 TCP, 1 stream, ${SECONDS} s per run, ${REPEAT} repeats, MTU ${MTU}, userspace datapath; ${[EAST_WEST && 'east-west', NORTH_SOUTH && 'north-south'].filter(Boolean).join(' + ')}`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-dp-'));
  const sbDir = path.join(root, 'sb');
  const tag = `wb${(process.pid % 1296).toString(36).padStart(2, '0')}`;
  const plain = new PlainNet(tag, ovsDirOf(root), MTU);
  const natRouters: NatRouter[] = [];
  let closing = false;
  const cleanup = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await plain.close().catch((e: unknown) => log(`plain teardown: ${String(e)}`));
    for (const r of natRouters) await r.close().catch((e: unknown) => log(`namespace router teardown: ${String(e)}`));
    if (SandboxState.exists(sbDir)) {
      const report = await teardown(sbDir);
      if (report.errors.length) log(`sandbox teardown: ${report.errors.join('; ')}`);
    }
    rmSync(root, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    // Wyvern sandbox.
    log(`sandbox up (2 chassis${NORTH_SOUTH ? ' + gateway gw1' : ''})`);
    const state = await up({ dir: sbDir, chassis: 2, gateways: NORTH_SOUTH ? 1 : 0, apiPort: 0, store: 'sqlite' });
    const api = new Api(state.data.apiUrl as string);
    const vms: Record<string, { ns: string; ip: string }> = {};
    if (EAST_WEST) {
      const blue = await api.create('network', { name: 'blue' });
      const red = await api.create('network', { name: 'red' });
      const sBlue = await api.create('subnet', { network_id: blue.id, name: 'blue-v4', cidr: '10.1.0.0/24', ip_version: 4 });
      const sRed = await api.create('subnet', { network_id: red.id, name: 'red-v4', cidr: '10.2.0.0/24', ip_version: 4 });
      const router = await api.create('router', { name: 'r1' });
      for (const s of [sBlue, sRed]) await api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: s.id });
      for (const [name, net, ch] of [['a', 'blue', 'hv1'], ['e', 'blue', 'hv1'], ['b', 'red', 'hv1'], ['d', 'blue', 'hv2'], ['c', 'red', 'hv2']] as const) {
        const { lease } = await createVm(state, { name, network: net, chassis: ch });
        if (!lease) throw new Error(`${name}: no DHCP lease`);
        vms[name] = { ns: findVm(state, name).netns, ip: lease.address.split('/')[0] };
        log(`vm ${name} on ${net}@${ch}: ${vms[name].ip}`);
      }
    }

    // Plain OVS baselines.
    log('plain OVS (NORMAL) and namespace routers');
    await plain.start();
    const cases: Case[] = [];
    if (EAST_WEST) {
      const n1 = await plain.vm('n1', '10.50.0.1/24');
      const n2 = await plain.vm('n2', '10.50.0.2/24');
      await plain.router('rt', ['10.51.1.1/24', '10.51.2.1/24']);
      const n3 = await plain.vm('n3', '10.51.1.2/24', '10.51.1.1');
      const n4 = await plain.vm('n4', '10.51.2.2/24', '10.51.2.1');
      cases.push(
        { name: 'plain OVS NORMAL, L2', group: 'east-west', from: n1, toNs: n2, toIp: '10.50.0.2' },
        { name: 'Linux namespace router on OVS', group: 'east-west', from: n3, toNs: n4, toIp: '10.51.2.2' },
        { name: 'wyvern L3, same chassis', group: 'east-west', from: vms.a.ns, toNs: vms.b.ns, toIp: vms.b.ip },
        { name: 'wyvern L2, same chassis', group: 'east-west', from: vms.a.ns, toNs: vms.e.ns, toIp: vms.e.ip },
        { name: 'wyvern L3, across chassis', group: 'east-west', from: vms.a.ns, toNs: vms.c.ns, toIp: vms.c.ip },
        { name: 'wyvern L2, across chassis', group: 'east-west', from: vms.a.ns, toNs: vms.d.ns, toIp: vms.d.ip },
      );
    }
    /** What the outside must see as the source of each translated path (checked before measuring). */
    const expectSource: Array<{ what: string; from: string; bind?: string; want: string }> = [];
    if (NORTH_SOUTH) {
      const outside = findOutside(state);
      const wy = await buildWyvernNorthSouth(api, state);
      const nr = new NatRouter({ name: 'nr', tag, outside, subnet: 60, snatIp: '203.0.113.250', fipIp: '203.0.113.251', mtu: MTU, inner: 'veth' });
      natRouters.push(nr);
      await nr.start();
      const nro = new NatRouter({ name: 'nro', tag, outside, subnet: 61, snatIp: '203.0.113.252', fipIp: '203.0.113.253', mtu: MTU, inner: plain });
      natRouters.push(nro);
      await nro.start();
      const o = outside.netns;
      cases.push(
        { name: NS.snat, group: 'north-south', from: wy.snatVm.ns, toNs: o, toIp: INTERNET },
        { name: NS.fipOut, group: 'north-south', from: wy.fipVm.ns, toNs: o, toIp: INTERNET },
        { name: NS.fipIn, group: 'north-south', from: o, toNs: wy.fipVm.ns, toIp: wy.floatingIp },
        { name: NS.nrSnat, group: 'north-south', from: nr.vmNs, toNs: o, toIp: INTERNET, bind: nr.snatVmIp },
        { name: NS.nrFipOut, group: 'north-south', from: nr.vmNs, toNs: o, toIp: INTERNET, bind: nr.fipVmIp },
        { name: NS.nrFipIn, group: 'north-south', from: o, toNs: nr.vmNs, toIp: '203.0.113.251' },
        { name: NS.nroSnat, group: 'north-south', from: nro.vmNs, toNs: o, toIp: INTERNET, bind: nro.snatVmIp },
        { name: NS.nroFipOut, group: 'north-south', from: nro.vmNs, toNs: o, toIp: INTERNET, bind: nro.fipVmIp },
        { name: NS.nroFipIn, group: 'north-south', from: o, toNs: nro.vmNs, toIp: '203.0.113.253' },
      );
      expectSource.push(
        { what: NS.snat, from: wy.snatVm.ns, want: wy.gatewayIp },
        { what: NS.fipOut, from: wy.fipVm.ns, want: wy.floatingIp },
        { what: NS.nrSnat, from: nr.vmNs, bind: nr.snatVmIp, want: '203.0.113.250' },
        { what: NS.nrFipOut, from: nr.vmNs, bind: nr.fipVmIp, want: '203.0.113.251' },
        { what: NS.nroSnat, from: nro.vmNs, bind: nro.snatVmIp, want: '203.0.113.252' },
        { what: NS.nroFipOut, from: nro.vmNs, bind: nro.fipVmIp, want: '203.0.113.253' },
      );
    }
    for (const ns of new Set(cases.map((c) => c.toNs))) plain.iperfServer(ns);
    await new Promise((r) => setTimeout(r, 1000));
    // Reachability (and ARP / reactive flows warm) before measuring.
    for (const c of cases) await waitPing(c.from, c.toIp, c.bind);
    for (const e of expectSource) {
      const seen = await seenSource(findOutside(state).netns, e.from, INTERNET, e.bind);
      if (seen !== e.want) throw new Error(`${e.what}: the outside sees ${seen}, expected ${e.want}`);
      log(`${e.what}: the outside sees ${seen}`);
    }

    const runs: Record<string, IperfResult[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
    for (let r = 0; r < REPEAT; r++) {
      for (const c of cases) {
        const res = await iperf(c.from, c.toIp, SECONDS, c.bind);
        runs[c.name].push(res);
        log(`repeat ${r + 1}: ${c.name}: ${res.gbps} Gbit/s (${res.retransmits} retransmits)`);
      }
    }

    const stats = Object.fromEntries(
      cases.map((c) => {
        const g = runs[c.name].map((x) => x.gbps).sort((a, b) => a - b);
        return [c.name, { medianGbps: percentile(g, 50), minGbps: g[0], maxGbps: g[g.length - 1], runs: runs[c.name] }];
      }),
    );
    const pctOf = (x: number, ref: number): number => Math.round((1000 * x) / ref) / 10;
    const row = (name: string, ref?: number): void => {
      const s = stats[name];
      const rel = ref === undefined ? '' : `${pctOf(s.medianGbps, ref)}%`;
      console.log(`  ${name.padEnd(36)} ${s.medianGbps.toFixed(2).padStart(6)}    ${`${s.minGbps.toFixed(2)}–${s.maxGbps.toFixed(2)}`.padEnd(14)} ${rel}`);
    };
    console.log('');
    let eastWest: Record<string, unknown> | undefined;
    if (EAST_WEST) {
      const l2 = stats['plain OVS NORMAL, L2'].medianGbps;
      const nsr = stats['Linux namespace router on OVS'].medianGbps;
      const l3 = stats['wyvern L3, same chassis'].medianGbps;
      console.log('East-west TCP throughput (Gbit/s)       median    range          % of plain L2');
      for (const c of cases.filter((x) => x.group === 'east-west')) row(c.name, l2);
      const goal = { l3VsPlainL2Pct: pctOf(l3, l2), l3VsNamespaceRouterPct: pctOf(l3, nsr) };
      const met = goal.l3VsPlainL2Pct >= 95 && l3 > nsr;
      console.log(`  goal: wyvern L3 (same chassis) ≥ 95% of plain L2 (${goal.l3VsPlainL2Pct}%) and above the namespace router (${goal.l3VsNamespaceRouterPct}%): ${met ? 'met' : 'NOT met'}`);
      eastWest = { ...goal, met };
    }
    let northSouth: Record<string, unknown> | undefined;
    if (NORTH_SOUTH) {
      const g = (n: string): number => stats[n].medianGbps;
      if (EAST_WEST) console.log('');
      console.log('North-south TCP throughput (Gbit/s)     median    range          % of the namespace router, same path');
      const refOf: Record<string, string> = { [NS.snat]: NS.nrSnat, [NS.fipOut]: NS.nrFipOut, [NS.fipIn]: NS.nrFipIn };
      for (const c of cases.filter((x) => x.group === 'north-south')) row(c.name, refOf[c.name] ? g(refOf[c.name]) : undefined);
      const ratios = {
        snatVsNamespaceRouterPct: pctOf(g(NS.snat), g(NS.nrSnat)),
        fipOutVsNamespaceRouterPct: pctOf(g(NS.fipOut), g(NS.nrFipOut)),
        fipInVsNamespaceRouterPct: pctOf(g(NS.fipIn), g(NS.nrFipIn)),
        snatVsOvsNamespaceRouterPct: pctOf(g(NS.snat), g(NS.nroSnat)),
        fipOutVsOvsNamespaceRouterPct: pctOf(g(NS.fipOut), g(NS.nroFipOut)),
        fipInVsOvsNamespaceRouterPct: pctOf(g(NS.fipIn), g(NS.nroFipIn)),
      };
      const met = ratios.fipOutVsNamespaceRouterPct >= 100 && ratios.fipInVsNamespaceRouterPct >= 100 && ratios.snatVsNamespaceRouterPct >= 90;
      const metOvs = ratios.fipOutVsOvsNamespaceRouterPct >= 100 && ratios.fipInVsOvsNamespaceRouterPct >= 100 && ratios.snatVsOvsNamespaceRouterPct >= 90;
      console.log(
        `  goal: floating IP ≥ the namespace router (out ${ratios.fipOutVsNamespaceRouterPct}%, in ${ratios.fipInVsNamespaceRouterPct}%), SNAT ≥ 90% of it (${ratios.snatVsNamespaceRouterPct}%): ${met ? 'met' : 'NOT met'}`,
      );
      console.log(
        `  against the namespace router with its VM leg on OVS: out ${ratios.fipOutVsOvsNamespaceRouterPct}%, in ${ratios.fipInVsOvsNamespaceRouterPct}%, SNAT ${ratios.snatVsOvsNamespaceRouterPct}%: ${metOvs ? 'met' : 'NOT met'}`,
      );
      northSouth = {
        gbps: {
          snat: g(NS.snat),
          fipOut: g(NS.fipOut),
          fipIn: g(NS.fipIn),
          namespaceRouter: { snat: g(NS.nrSnat), fipOut: g(NS.nrFipOut), fipIn: g(NS.nrFipIn) },
          namespaceRouterViaOvs: { snat: g(NS.nroSnat), fipOut: g(NS.nroFipOut), fipIn: g(NS.nroFipIn) },
        },
        ratios,
        goal: { met, metAgainstOvsNamespaceRouter: metOvs },
      };
    }
    console.log('  (2 shared cores, userspace datapath: runs vary ±15%; compare medians of the same run)');
    console.log(`load after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const result = {
      bench: 'dataplane',
      machine: m,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      params: { seconds: SECONDS, repeat: REPEAT, mtu: MTU, datapath: 'netdev', streams: 1, eastWest: EAST_WEST, northSouth: NORTH_SOUTH },
      cases: stats,
      ...(eastWest ? { goal: eastWest } : {}),
      ...(northSouth ? { northSouth } : {}),
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
