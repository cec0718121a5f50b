/**
 * `npm run bench:security-groups [-- --samples 40 --seconds 5 --repeat 3 --skip-dataplane]`
 *
 * 1. Flows: the ACL flows on one chassis (one local port in group G whose R rules all name remote
 *    group RG with M members), compiled, for M = 10, 100, 1,000 and R = 20, printed beside
 *    M × R (a flow per member per rule: what a compile without conjunctions needs).
 *    Goal: ≤ M + 5 × R.
 * 2. Convergence: API call → flows acknowledged by a real ovs-vswitchd (dummy datapath, one
 *    controller, the server in process), with a 1,000-member remote group: a rule added to G, and
 *    a port joining RG. p50/p99 over --samples each. Goal: p99 < 50 ms.
 * 3. Data plane (root: sandbox, 2 chassis, userspace datapath): iperf3 TCP throughput and new TCP
 *    connections/s VM↔VM across chassis, with the default group (conntrack, rules) and with port
 *    security off (no filter), interleaved in one run. Goal: ≥ 90% of the no-filter figures.
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalController } from '../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../src/ovs/daemons.js';
import { fullCompile } from '../src/pipeline/index.js';
import type { LocalTopology, PortInfo, SecurityRuleInfo } from '../src/pipeline/topology.js';
import { up } from '../src/sandbox/sandbox.js';
import { SandboxState } from '../src/sandbox/state.js';
import { teardown } from '../src/sandbox/teardown.js';
import { createVm, findVm } from '../src/sandbox/vm.js';
import { NeutronApi } from '../src/server/app.js';
import { MemoryStore } from '../src/store/memory.js';
import { Api, log, machine, percentile, summarize, type Summary } from './lib/bench-util.js';
import { iperf, sh } from './lib/dataplane-net.js';

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}
const SAMPLES = Number(arg('samples', '40'));
const SECONDS = Number(arg('seconds', '5'));
const REPEAT = Number(arg('repeat', '3'));
const SKIP_DATAPLANE = process.argv.includes('--skip-dataplane');
const RULES = 20;

// ---------------------------------------------------------------------------------------------
// 1. Flow counts (pure compile)

function aclTopology(members: number, rules: number): LocalTopology {
  const ruleInfos: SecurityRuleInfo[] = Array.from({ length: rules }, (_, i) => ({
    id: `r${i}`,
    key: 100 + i,
    groupId: 'G',
    direction: 'ingress',
    ethertype: 4,
    protocol: 6,
    portMin: 1000 + i * 10,
    portMax: 1000 + i * 10,
    remoteIpPrefix: null,
    remoteGroupId: 'RG',
  }));
  const local: PortInfo = {
    id: 'vm', name: 'vm', key: 1, networkId: 'n', macAddress: 'fa:16:3e:00:00:01', fixedIps: [{ subnetId: 's', ipAddress: '10.0.0.5' }],
    adminStateUp: true, portSecurityEnabled: true, allowedAddressPairs: [], deviceOwner: 'compute:nova', deviceId: 'd', chassis: 'hv1',
    extraDhcpOpts: [], securityGroups: ['G'],
  };
  const addresses = Array.from({ length: members }, (_, i) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  return {
    chassis: { name: 'hv1', tunnelIp: '192.168.0.1', encap: ['geneve'] },
    remoteChassis: new Map(),
    networks: new Map([['n', { id: 'n', name: 'n', key: 1, adminStateUp: true, mtu: 1442, networkType: 'geneve', external: false }]]),
    subnets: new Map([['s', { id: 's', name: 's', networkId: 'n', ipVersion: 4, cidr: '10.0.0.0/24', gatewayIp: null, enableDhcp: false, dnsNameservers: [], hostRoutes: [] }]]),
    ports: new Map([['vm', local]]),
    local: new Map([['vm', { portId: 'vm', ofport: 1, ctZone: 1 }]]),
    tunnelOfport: { geneve: 100 },
    securityGroups: new Map([['G', { id: 'G', name: 'G', key: 1, stateful: true, rules: ruleInfos }]]),
    groupMembers: new Map(addresses.map((a, i) => [10_000 + i, { key: 10_000 + i, portId: `m${i}`, groups: ['RG'], addresses: [a] }])),
  };
}

function aclFlows(topo: LocalTopology): number {
  const d = fullCompile(topo);
  let n = 0;
  for (const [, f] of d.flows()) if (f.stage.startsWith('acl_')) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// 2. API → flows acknowledged

async function convergence(): Promise<{
  ruleAdd: Summary;
  memberJoin: Summary;
  ruleAddApiOnly: Summary;
  memberJoinApiOnly: Summary;
  members: number;
  flows: number;
}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-sg-'));
  const store = new MemoryStore();
  const listening = await new NeutronApi(store, { onError: () => {} }).listen('127.0.0.1', 0);
  let ovs: OvsInstance | undefined;
  let controller: LocalController | undefined;
  try {
    const api = new Api(listening.url);
    ovs = await startOvs({ dir, dummy: true });
    controller = new LocalController({ chassis: 'hv1', nb: 'memory:', store, ovsdb: ovs.dbTarget, tunnelIp: '198.51.100.11', datapathType: 'dummy' });
    await controller.start();
    const net = await api.create('network', { name: 'n' });
    await api.create('subnet', { network_id: net.id, cidr: '10.0.0.0/16', ip_version: 4 });
    const others = await api.create('network', { name: 'members' });
    await api.create('subnet', { network_id: others.id, cidr: '10.100.0.0/16', ip_version: 4 });
    const G = (await api.call<{ security_group: { id: string } }>('POST', '/security-groups', { security_group: { name: 'G' } })).security_group;
    const RG = (await api.call<{ security_group: { id: string } }>('POST', '/security-groups', { security_group: { name: 'RG' } })).security_group;
    log('creating 1,000 members of RG');
    for (let i = 0; i < 10; i++) {
      await api.createMany('port', Array.from({ length: 100 }, (_, j) => ({ network_id: others.id, name: `m${i * 100 + j}`, security_groups: [RG.id] })));
    }
    await api.call('POST', '/security-group-rules', {
      security_group_rule: { security_group_id: G.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_group_id: RG.id },
    });
    const vm = await api.create('port', { network_id: net.id, name: 'vm', security_groups: [G.id] });
    await ovs.vsctl('add-port', 'br-int', 'vm', '--', 'set', 'Interface', 'vm', `external_ids:iface-id=${vm.id}`, '--', 'set', 'Interface', 'vm', 'type=internal');
    await controller.waitForRevision(await store.revision(), 60_000);
    const settle = async (): Promise<number> => {
      const t0 = performance.now();
      await controller!.waitForRevision(await store.revision(), 10_000);
      return performance.now() - t0;
    };
    await settle();
    const ruleAdd: number[] = [];
    const memberJoin: number[] = [];
    const ruleApi: number[] = [];
    const memberApi: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      let t0 = performance.now();
      await api.call('POST', '/security-group-rules', {
        security_group_rule: { security_group_id: G.id, direction: 'ingress', protocol: 'tcp', port_range_min: 2000 + i, port_range_max: 2000 + i, remote_group_id: RG.id },
      });
      ruleApi.push(performance.now() - t0);
      await controller.waitForRevision(await store.revision(), 10_000);
      ruleAdd.push(performance.now() - t0);
      t0 = performance.now();
      await api.create('port', { network_id: others.id, name: `join${i}`, security_groups: [RG.id] });
      memberApi.push(performance.now() - t0);
      await controller.waitForRevision(await store.revision(), 10_000);
      memberJoin.push(performance.now() - t0);
    }
    return {
      ruleAdd: summarize(ruleAdd),
      memberJoin: summarize(memberJoin),
      ruleAddApiOnly: summarize(ruleApi),
      memberJoinApiOnly: summarize(memberApi),
      members: 1000 + SAMPLES,
      flows: controller.stats().installedFlows,
    };
  } finally {
    await controller?.stop();
    await ovs?.stop();
    listening.server.closeAllConnections();
    listening.server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Data plane

/** Connects and closes TCP connections to argv[1]:5201 for argv[2] seconds; prints the count. */
const CONNECT_PY = `
import socket, sys, time
end = time.time() + float(sys.argv[2]); n = 0
while time.time() < end:
    c = socket.create_connection((sys.argv[1], 5202), timeout=2); c.close(); n += 1
print(n)
`;
const ACCEPT_PY = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5202)); s.listen(512)
while True:
    c, _ = s.accept(); c.close()
`;

interface DataplaneResult {
  readonly filtered: { gbps: number[]; connPerSec: number[] };
  readonly open: { gbps: number[]; connPerSec: number[] };
}

async function dataplane(): Promise<DataplaneResult> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-sgdp-'));
  const sbDir = path.join(root, 'sb');
  const servers: ChildProcess[] = [];
  try {
    log('sandbox up (2 chassis)');
    const state = await up({ dir: sbDir, chassis: 2, apiPort: 0, store: 'sqlite' });
    const api = new Api(state.data.apiUrl as string);
    const net = await api.create('network', { name: 'blue' });
    await api.create('subnet', { network_id: net.id, name: 'blue-v4', cidr: '10.1.0.0/24', ip_version: 4 });
    const vms: Record<string, { ns: string; ip: string }> = {};
    for (const [name, ch] of [['fa', 'hv1'], ['fb', 'hv2'], ['oa', 'hv1'], ['ob', 'hv2']] as const) {
      const { lease } = await createVm(state, { name, network: 'blue', chassis: ch });
      if (!lease) throw new Error(`${name}: no DHCP lease`);
      vms[name] = { ns: findVm(state, name).netns, ip: lease.address.split('/')[0] };
    }
    // oa/ob: no filter at all.
    for (const n of ['oa', 'ob']) {
      await api.call('PUT', `/ports/${findVm(state, n).portId}`, { port: { security_groups: [], port_security_enabled: false } });
    }
    for (const n of ['fb', 'ob']) {
      servers.push(spawn('ip', ['netns', 'exec', vms[n].ns, 'iperf3', '-s'], { stdio: 'ignore' }));
      servers.push(spawn('ip', ['netns', 'exec', vms[n].ns, 'python3', '-c', ACCEPT_PY], { stdio: 'ignore' }));
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const [a, b] of [['fa', 'fb'], ['oa', 'ob']]) await sh('ping', ['-c', '2', '-i', '0.2', '-W', '2', vms[b].ip], vms[a].ns);
    const out: DataplaneResult = { filtered: { gbps: [], connPerSec: [] }, open: { gbps: [], connPerSec: [] } };
    for (let r = 0; r < REPEAT; r++) {
      for (const [kind, a, b] of [['filtered', 'fa', 'fb'], ['open', 'oa', 'ob']] as const) {
        const res = await iperf(vms[a].ns, vms[b].ip, SECONDS);
        const conns = Number((await sh('python3', ['-c', CONNECT_PY, vms[b].ip, String(SECONDS)], vms[a].ns, (SECONDS + 30) * 1000)).trim());
        out[kind].gbps.push(res.gbps);
        out[kind].connPerSec.push(Math.round(conns / SECONDS));
        log(`repeat ${r + 1}: ${kind}: ${res.gbps} Gbit/s, ${Math.round(conns / SECONDS)} connections/s`);
      }
    }
    return out;
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    if (SandboxState.exists(sbDir)) {
      const report = await teardown(sbDir);
      if (report.errors.length) log(`sandbox teardown: ${report.errors.join('; ')}`);
    }
    rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

const median = (xs: readonly number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

async function main(): Promise<void> {
  const m = machine();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const flowRows = [10, 100, 1000].map((members) => {
    const flows = aclFlows(aclTopology(members, RULES));
    const base = aclFlows(aclTopology(0, 0));
    return { members, rules: RULES, aclFlows: flows, naive: members * RULES, goal: members + 5 * RULES, ruleAndMemberFlows: flows - base };
  });
  console.log('');
  console.log(`ACL flows on one chassis, remote-group rules (${RULES} rules naming one group)`);
  console.log('  members   acl flows   (of which rules+members)   members × rules   goal ≤ members + 5 × rules');
  for (const r of flowRows) {
    console.log(`  ${String(r.members).padStart(7)}   ${String(r.aclFlows).padStart(9)}   ${String(r.ruleAndMemberFlows).padStart(24)}   ${String(r.naive).padStart(15)}   ${r.goal} ${r.aclFlows <= r.goal ? 'met' : 'NOT met'}`);
  }

  log('convergence: server + controller + ovs-vswitchd (dummy datapath)');
  const conv = await convergence();
  console.log('');
  console.log(`API call → flows acknowledged, remote group of ${conv.members} members (${SAMPLES} samples each)`);
  console.log(`  rule added     p50 ${conv.ruleAdd.p50} ms   p99 ${conv.ruleAdd.p99} ms   max ${conv.ruleAdd.max} ms   (the API call alone: p50 ${conv.ruleAddApiOnly.p50} ms, p99 ${conv.ruleAddApiOnly.p99} ms)`);
  console.log(`  member joins   p50 ${conv.memberJoin.p50} ms   p99 ${conv.memberJoin.p99} ms   max ${conv.memberJoin.max} ms   (the API call alone: p50 ${conv.memberJoinApiOnly.p50} ms, p99 ${conv.memberJoinApiOnly.p99} ms)`);
  console.log(`  goal p99 < 50 ms: ${conv.ruleAdd.p99 < 50 && conv.memberJoin.p99 < 50 ? 'met' : 'NOT met'}   (installed flows on the chassis: ${conv.flows})`);

  let dp: (DataplaneResult & { ratios: { throughputPct: number; connectionsPct: number }; met: boolean }) | null = null;
  if (!SKIP_DATAPLANE) {
    const raw = await dataplane();
    const pct = (a: number, b: number): number => Math.round((1000 * a) / b) / 10;
    const ratios = {
      throughputPct: pct(median(raw.filtered.gbps), median(raw.open.gbps)),
      connectionsPct: pct(median(raw.filtered.connPerSec), median(raw.open.connPerSec)),
    };
    dp = { ...raw, ratios, met: ratios.throughputPct >= 90 && ratios.connectionsPct >= 90 };
    console.log('');
    console.log(`VM↔VM across chassis, iperf3 ${SECONDS} s × ${REPEAT}, interleaved (median, range)`);
    for (const k of ['filtered', 'open'] as const) {
      const g = [...raw[k].gbps].sort((a, b) => a - b);
      const c = [...raw[k].connPerSec].sort((a, b) => a - b);
      console.log(`  ${k === 'filtered' ? 'default group (conntrack)' : 'port security off       '}   ${median(g).toFixed(2)} Gbit/s (${g[0]}–${g[g.length - 1]})   ${median(c)} new TCP connections/s (${c[0]}–${c[c.length - 1]})`);
    }
    console.log(`  goal ≥ 90% of no filter: throughput ${ratios.throughputPct}%, connections ${ratios.connectionsPct}%: ${dp.met ? 'met' : 'NOT met'}`);
  }

  const result = {
    bench: 'security-groups',
    machine: m,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    flows: flowRows,
    convergence: conv,
    dataplane: dp,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
