/**
 * `npm run bench:dataplane [-- --seconds 5 --repeat 5]`   (root: namespaces, OVS, iperf3)
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
 * Same MTU (1442) everywhere. Reports median and range per case, and the goal ratios
 * (wyvern L3 same chassis ≥ 95% of plain L2, and above the namespace router).
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { up } from '../src/sandbox/sandbox.js';
import { SandboxState } from '../src/sandbox/state.js';
import { teardown } from '../src/sandbox/teardown.js';
import { createVm, findVm } from '../src/sandbox/vm.js';
import { Api, log, machine, percentile } from './lib/bench-util.js';
import { iperf, ovsDirOf, PlainNet, sh, type IperfResult } from './lib/dataplane-net.js';

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}

const SECONDS = Number(arg('seconds', '5'));
const REPEAT = Number(arg('repeat', '5'));
const MTU = 1442;

interface Case {
  readonly name: string;
  readonly from: string;
  readonly toNs: string;
  readonly toIp: string;
}

async function main(): Promise<void> {
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`iperf3 TCP, 1 stream, ${SECONDS} s per run, ${REPEAT} repeats, MTU ${MTU}, userspace datapath`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-dp-'));
  const sbDir = path.join(root, 'sb');
  const tag = `wb${(process.pid % 1296).toString(36).padStart(2, '0')}`;
  const plain = new PlainNet(tag, ovsDirOf(root), MTU);
  let closing = false;
  const cleanup = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await plain.close().catch((e: unknown) => log(`plain teardown: ${String(e)}`));
    if (SandboxState.exists(sbDir)) {
      const report = await teardown(sbDir);
      if (report.errors.length) log(`sandbox teardown: ${report.errors.join('; ')}`);
    }
    rmSync(root, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    // Wyvern sandbox.
    log('sandbox up (2 chassis)');
    const state = await up({ dir: sbDir, chassis: 2, apiPort: 0, store: 'sqlite' });
    const api = new Api(state.data.apiUrl as string);
    const blue = await api.create('network', { name: 'blue' });
    const red = await api.create('network', { name: 'red' });
    const sBlue = await api.create('subnet', { network_id: blue.id, name: 'blue-v4', cidr: '10.1.0.0/24', ip_version: 4 });
    const sRed = await api.create('subnet', { network_id: red.id, name: 'red-v4', cidr: '10.2.0.0/24', ip_version: 4 });
    const router = await api.create('router', { name: 'r1' });
    for (const s of [sBlue, sRed]) await api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: s.id });
    const vms: Record<string, { ns: string; ip: string }> = {};
    for (const [name, net, ch] of [['a', 'blue', 'hv1'], ['e', 'blue', 'hv1'], ['b', 'red', 'hv1'], ['d', 'blue', 'hv2'], ['c', 'red', 'hv2']] as const) {
      const { lease } = await createVm(state, { name, network: net, chassis: ch });
      if (!lease) throw new Error(`${name}: no DHCP lease`);
      vms[name] = { ns: findVm(state, name).netns, ip: lease.address.split('/')[0] };
      log(`vm ${name} on ${net}@${ch}: ${vms[name].ip}`);
    }

    // Plain OVS baselines.
    log('plain OVS (NORMAL) and namespace router');
    await plain.start();
    const n1 = await plain.vm('n1', '10.50.0.1/24');
    const n2 = await plain.vm('n2', '10.50.0.2/24');
    await plain.router('rt', ['10.51.1.1/24', '10.51.2.1/24']);
    const n3 = await plain.vm('n3', '10.51.1.2/24', '10.51.1.1');
    const n4 = await plain.vm('n4', '10.51.2.2/24', '10.51.2.1');

    const cases: Case[] = [
      { name: 'plain OVS NORMAL, L2', from: n1, toNs: n2, toIp: '10.50.0.2' },
      { name: 'Linux namespace router on OVS', from: n3, toNs: n4, toIp: '10.51.2.2' },
      { name: 'wyvern L3, same chassis', from: vms.a.ns, toNs: vms.b.ns, toIp: vms.b.ip },
      { name: 'wyvern L2, same chassis', from: vms.a.ns, toNs: vms.e.ns, toIp: vms.e.ip },
      { name: 'wyvern L3, across chassis', from: vms.a.ns, toNs: vms.c.ns, toIp: vms.c.ip },
      { name: 'wyvern L2, across chassis', from: vms.a.ns, toNs: vms.d.ns, toIp: vms.d.ip },
    ];
    for (const ns of new Set(cases.map((c) => c.toNs))) plain.iperfServer(ns);
    await new Promise((r) => setTimeout(r, 1000));
    // Reachability (and ARP / reactive flows warm) before measuring.
    for (const c of cases) await sh('ping', ['-c', '2', '-i', '0.2', '-W', '2', c.toIp], c.from);

    const runs: Record<string, IperfResult[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
    for (let r = 0; r < REPEAT; r++) {
      for (const c of cases) {
        const res = await iperf(c.from, c.toIp, SECONDS);
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
    const l2 = stats['plain OVS NORMAL, L2'].medianGbps;
    const nsr = stats['Linux namespace router on OVS'].medianGbps;
    const l3 = stats['wyvern L3, same chassis'].medianGbps;
    const pct = (x: number): number => Math.round((1000 * x) / l2) / 10;
    console.log('');
    console.log('TCP throughput (Gbit/s)                 median    range          % of plain L2');
    for (const c of cases) {
      const s = stats[c.name];
      console.log(`  ${c.name.padEnd(36)} ${s.medianGbps.toFixed(2).padStart(6)}    ${`${s.minGbps.toFixed(2)}–${s.maxGbps.toFixed(2)}`.padEnd(14)} ${pct(s.medianGbps)}%`);
    }
    const goal = { l3VsPlainL2Pct: pct(l3), l3VsNamespaceRouterPct: Math.round((1000 * l3) / nsr) / 10 };
    const met = goal.l3VsPlainL2Pct >= 95 && l3 > nsr;
    console.log(`  goal: wyvern L3 (same chassis) ≥ 95% of plain L2 (${goal.l3VsPlainL2Pct}%) and above the namespace router (${goal.l3VsNamespaceRouterPct}%): ${met ? 'met' : 'NOT met'}`);
    console.log('  (2 shared cores, userspace datapath: runs vary ±15%; compare medians of the same run)');
    const result = {
      bench: 'dataplane',
      machine: m,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      params: { seconds: SECONDS, repeat: REPEAT, mtu: MTU, datapath: 'netdev', streams: 1 },
      cases: stats,
      goal: { ...goal, met },
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
