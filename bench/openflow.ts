/**
 * `npm run bench:openflow [-- --flows N --datapath dummy|netdev]`
 *
 * Starts a private OVS, then:
 *  - installs N (default 100,000) distinct flows in table 10 through our channel
 *    (a) pipelined with one barrier at the end, (b) as one ONF bundle,
 *    and (c) with `ovs-ofctl --bundle add-flows` of the same flows from a file;
 *    the table is cleared (and checked empty) between runs and checked full after each;
 *  - packet-out → packet-in round trips: latency p50/p99 with 1 outstanding, throughput with
 *    1, 64 and 1,000 outstanding.
 * Prints the machine, a table, and one final line `RESULT {json}`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { OpenFlowChannel, type Outgoing } from '../src/openflow/channel.js';
import { encodeMessage } from '../src/openflow/codec.js';
import type { OfMessage } from '../src/openflow/types.js';
import { OFP_NO_BUFFER, OFPG_ANY } from '../src/openflow/ports.js';
import { startOvs } from '../src/ovs/daemons.js';

const execFileP = promisify(execFile);

function arg(name: string, def: string): string {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const a = process.argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (process.argv[i + 1] ?? def);
}

const N = Number(arg('flows', '100000'));
const DATAPATH = arg('datapath', 'dummy');
const TABLE = 10;
// Real devices (netdev) live in the shared root namespace: make the names unique per run.
const TAG = (process.pid % 100000).toString(36);
const BRIDGE = `wyb${TAG}`;

function ipOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}
function macOf(i: number): string {
  const h = (x: number): string => x.toString(16).padStart(2, '0');
  return `02:00:00:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`;
}

/** Flow i: table 10, ip + reg0 + ipv4_dst, actions set reg1, set eth_dst, output. */
function flow(i: number): Outgoing {
  return {
    type: 'flow_mod',
    command: 'add',
    tableId: TABLE,
    priority: 100,
    cookie: BigInt(i + 1),
    cookieMask: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: {},
    bufferId: OFP_NO_BUFFER,
    outPort: 'any',
    outGroup: OFPG_ANY,
    match: { eth_type: 0x0800, reg0: (i % 7) + 1, ipv4_dst: ipOf(i) },
    instructions: [
      {
        type: 'apply_actions',
        actions: [
          { type: 'set_field', field: 'reg1', value: i },
          { type: 'set_field', field: 'eth_dst', value: macOf(i) },
          { type: 'output', port: (i % 4) + 1 },
        ],
      },
    ],
  };
}

function flowText(i: number): string {
  return (
    `table=${TABLE},priority=100,cookie=0x${(i + 1).toString(16)},ip,reg0=${(i % 7) + 1},nw_dst=${ipOf(i)},` +
    `actions=set_field:${i}->reg1,set_field:${macOf(i)}->eth_dst,output:${(i % 4) + 1}`
  );
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, node: process.version, datapath: DATAPATH };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}; datapath ${DATAPATH}; ${N} flows`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-bench-of-'));
  const ovs = await startOvs({ dir, dummy: DATAPATH === 'dummy' });
  const mgmt = `unix:${ovs.mgmtSocket(BRIDGE)}`;
  let ch: OpenFlowChannel | undefined;
  try {
    const ovsVersion = (await execFileP('ovs-vswitchd', ['--version'])).stdout.split('\n')[0];
    await ovs.vsctl('add-br', BRIDGE, '--', 'set', 'bridge', BRIDGE, `datapath_type=${DATAPATH}`, 'protocols=OpenFlow13', 'fail-mode=secure');
    for (let p = 1; p <= 4; p++) {
      const port = `wyb${TAG}p${p}`;
      await ovs.vsctl('add-port', BRIDGE, port, '--', 'set', 'interface', port, DATAPATH === 'dummy' ? 'type=dummy' : 'type=internal', `ofport_request=${p}`);
    }
    ch = OpenFlowChannel.connect(mgmt, { requestTimeoutMs: 600_000, echoIntervalMs: 0 });
    await ch.ready();

    const flowCount = async (): Promise<number> => {
      const out = await ovs.ofctl('dump-aggregate', BRIDGE, `table=${TABLE}`);
      const m = /flow_count=(\d+)/.exec(out);
      return m ? Number(m[1]) : -1;
    };
    const clear = async (): Promise<void> => {
      await ovs.ofctl('del-flows', BRIDGE, `table=${TABLE}`);
      const c = await flowCount();
      if (c !== 0) throw new Error(`table not empty after clear: ${c}`);
    };
    const check = async (label: string): Promise<void> => {
      const c = await flowCount();
      if (c !== N) throw new Error(`${label}: expected ${N} flows, found ${c}`);
    };

    // Encode cost alone (no I/O), for reference, after a JIT warm-up.
    const msgs: Outgoing[] = [];
    for (let i = 0; i < N; i++) msgs.push(flow(i));
    for (let i = 0; i < Math.min(N, 10_000); i++) encodeMessage({ ...msgs[i], xid: 1 } as OfMessage);
    let t = performance.now();
    const encCpu0 = process.cpuUsage();
    let bytes = 0;
    for (let i = 0; i < N; i++) bytes += encodeMessage({ ...msgs[i], xid: i + 1 } as OfMessage).length;
    const encodeMs = performance.now() - t;
    const encodeCpu = process.cpuUsage(encCpu0);

    // Same for the bundle_add wrapping (inner flow_mod inside an ONF bundle add message).
    t = performance.now();
    for (let i = 0; i < N; i++) {
      const xid = i + 1;
      encodeMessage({ type: 'bundle_add', xid, bundleId: 1, flags: { atomic: true, ordered: true }, message: { ...msgs[i], xid } as OfMessage });
    }
    const encodeBundleMs = performance.now() - t;

    // (a0) wire only: the same flows pre-encoded (not timed), written through the channel's
    // queue, one barrier. What OVS + the socket allow when encoding costs nothing.
    await clear();
    const pre: Buffer[] = [];
    {
      let batch: Buffer[] = [];
      let n = 0;
      for (let i = 0; i < N; i++) {
        const b = encodeMessage({ ...msgs[i], xid: ch.nextXid() } as OfMessage);
        batch.push(b);
        n += b.length;
        if (n >= 256 * 1024) {
          pre.push(Buffer.concat(batch));
          batch = [];
          n = 0;
        }
      }
      if (batch.length) pre.push(Buffer.concat(batch));
    }
    t = performance.now();
    for (const b of pre) if (!ch.sendRaw(b)) await ch.waitDrain();
    await ch.barrier();
    const wireMs = performance.now() - t;
    await check('wire');

    // (a) pipelined + one barrier (objects → encoded → written → barrier reply).
    await clear();
    t = performance.now();
    let cpu0 = process.cpuUsage();
    const errs = await ch.sendBatch(msgs);
    const pipelinedMs = performance.now() - t;
    const pipelinedCpu = process.cpuUsage(cpu0);
    if (errs.length) throw new Error(`pipelined: ${errs.length} errors, first ${errs[0].error.message}`);
    await check('pipelined');

    // (b) one bundle.
    await clear();
    t = performance.now();
    cpu0 = process.cpuUsage();
    await ch.bundle(msgs);
    const bundleMs = performance.now() - t;
    const bundleCpu = process.cpuUsage(cpu0);
    await check('bundle');

    // (c) ovs-ofctl --bundle add-flows from a file (file written before timing).
    await clear();
    const file = path.join(dir, 'flows.txt');
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push(flowText(i));
    writeFileSync(file, lines.join('\n') + '\n');
    t = performance.now();
    await execFileP('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', mgmt, file], {
      env: { ...process.env, OVS_RUNDIR: dir },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    const ofctlMs = performance.now() - t;
    await check('ofctl');
    await clear();

    // Packet-out → packet-in round trips.
    const pin = await packetRoundTrips(ch);

    const rate = (ms: number): number => round(N / (ms / 1000));
    const res = {
      machine: { ...machine, ovs: ovsVersion },
      flows: N,
      bytesPerFlowMod: round(bytes / N, 1),
      encodeFlowsPerSec: rate(encodeMs),
      encodeBundleAddPerSec: rate(encodeBundleMs),
      wireOnlyFlowsPerSec: rate(wireMs),
      pipelinedFlowsPerSec: rate(pipelinedMs),
      bundleFlowsPerSec: rate(bundleMs),
      ofctlBundleFlowsPerSec: rate(ofctlMs),
      ratioPipelinedVsOfctl: round(ofctlMs / pipelinedMs, 2),
      ratioBundleVsOfctl: round(ofctlMs / bundleMs, 2),
      /** CPU time (user+system) of this process per flow: our side's cost, robust to machine load. */
      ourCpuUsPerFlow: {
        encode: round((encodeCpu.user + encodeCpu.system) / N, 2),
        pipelined: round((pipelinedCpu.user + pipelinedCpu.system) / N, 2),
        bundle: round((bundleCpu.user + bundleCpu.system) / N, 2),
      },
      loadAverage: os.loadavg().map((x) => round(x, 1)),
      seconds: { encode: round(encodeMs / 1000, 3), encodeBundleAdd: round(encodeBundleMs / 1000, 3), wireOnly: round(wireMs / 1000, 3), pipelined: round(pipelinedMs / 1000, 3), bundle: round(bundleMs / 1000, 3), ofctl: round(ofctlMs / 1000, 3) },
      packetIn: pin,
    };
    console.log('');
    console.log('flow install                         flows/s     seconds   vs ofctl');
    console.log(`  encode only (no I/O)            ${String(res.encodeFlowsPerSec).padStart(10)}  ${res.seconds.encode.toFixed(3).padStart(8)}`);
    console.log(`  encode bundle_add only          ${String(res.encodeBundleAddPerSec).padStart(10)}  ${res.seconds.encodeBundleAdd.toFixed(3).padStart(8)}`);
    console.log(`  pre-encoded, write + barrier    ${String(res.wireOnlyFlowsPerSec).padStart(10)}  ${res.seconds.wireOnly.toFixed(3).padStart(8)}   ${round(ofctlMs / wireMs, 2)}x`);
    console.log(`  channel, pipelined + barrier    ${String(res.pipelinedFlowsPerSec).padStart(10)}  ${res.seconds.pipelined.toFixed(3).padStart(8)}   ${res.ratioPipelinedVsOfctl}x`);
    console.log(`  channel, one bundle             ${String(res.bundleFlowsPerSec).padStart(10)}  ${res.seconds.bundle.toFixed(3).padStart(8)}   ${res.ratioBundleVsOfctl}x`);
    console.log(`  ovs-ofctl --bundle add-flows    ${String(res.ofctlBundleFlowsPerSec).padStart(10)}  ${res.seconds.ofctl.toFixed(3).padStart(8)}   1x`);
    console.log(`  our CPU per flow: encode ${res.ourCpuUsPerFlow.encode} us, pipelined ${res.ourCpuUsPerFlow.pipelined} us, bundle ${res.ourCpuUsPerFlow.bundle} us`);
    console.log(`  (load average ${res.loadAverage.join(' ')} on ${machine.cores} cores: wall-clock rates are noisy)`);
    console.log('');
    console.log('packet-out -> packet-in');
    console.log(`  latency, 1 outstanding          p50 ${pin.latencyUs.p50} us   p99 ${pin.latencyUs.p99} us   (${pin.latencyUs.samples} samples)`);
    for (const [k, v] of Object.entries(pin.throughput)) {
      console.log(`  throughput, ${k.padStart(4)} outstanding    ${String(v).padStart(8)} round trips/s   (${pin.lost[k]} lost)`);
    }
    console.log('');
    console.log(`RESULT ${JSON.stringify(res)}`);
  } finally {
    ch?.close();
    // Deleting the bridge makes vswitchd remove its (netdev) devices from the root namespace.
    await ovs.vsctl('--if-exists', 'del-br', BRIDGE).catch(() => undefined);
    await ovs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PacketInResult {
  latencyUs: { p50: number; p99: number; samples: number; lost: number };
  /** Delivered packet-ins per second, by number outstanding. */
  throughput: Record<string, number>;
  /** Packet-ins that never came back, by number outstanding. */
  lost: Record<string, number>;
}

async function packetRoundTrips(ch: OpenFlowChannel): Promise<PacketInResult> {
  const frame = (tag: number): Buffer => {
    const b = Buffer.alloc(64);
    Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]).copy(b, 0);
    b.writeUInt16BE(0x88b5, 12);
    b.writeUInt32BE(tag >>> 0, 14);
    return b;
  };
  const waiting = new Map<number, () => void>();
  ch.on('packetIn', (m) => {
    if (m.data.length < 18) return;
    const tag = m.data.readUInt32BE(14);
    const w = waiting.get(tag);
    if (w) {
      waiting.delete(tag);
      w();
    }
  });
  let tagSeq = 1;
  let lost = 0;
  /** Resolves true when the packet-in came back, false after `timeoutMs` (OVS dropped it). */
  const roundTrip = (timeoutMs: number): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const tag = tagSeq++;
      const timer = setTimeout(() => {
        waiting.delete(tag);
        lost++;
        resolve(false);
      }, timeoutMs);
      waiting.set(tag, () => {
        clearTimeout(timer);
        resolve(true);
      });
      ch.send({
        type: 'packet_out',
        bufferId: OFP_NO_BUFFER,
        inPort: 'controller',
        actions: [{ type: 'output', port: 'controller', maxLen: 0xffff }],
        data: frame(tag),
      });
    });

  // Warm up.
  for (let i = 0; i < 200; i++) await roundTrip(5_000);
  lost = 0;
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    if (await roundTrip(5_000)) lat.push((performance.now() - t) * 1000);
  }
  lat.sort((a, b) => a - b);
  const latencyLost = lost;

  // Throughput: keep k packet-outs in flight; a packet-in not back within 1 s counts as lost
  // (OVS drops packet-ins when a connection's backlog is full) and frees its slot.
  const throughput: Record<string, number> = {};
  const lostBy: Record<string, number> = {};
  for (const k of [1, 64, 1000]) {
    const total = k === 1 ? 5_000 : 30_000;
    lost = 0;
    let started = 0;
    let delivered = 0;
    const t = performance.now();
    await new Promise<void>((resolve) => {
      let done = 0;
      const next = (): void => {
        if (started >= total) return;
        started++;
        void roundTrip(1_000).then((ok) => {
          if (ok) delivered++;
          if (++done === total) resolve();
          else next();
        });
      };
      for (let i = 0; i < k; i++) next();
    });
    throughput[String(k)] = round(delivered / ((performance.now() - t) / 1000));
    lostBy[String(k)] = lost;
  }
  return { latencyUs: { p50: round(pct(lat, 50)), p99: round(pct(lat, 99)), samples: lat.length, lost: latencyLost }, throughput, lost: lostBy };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
