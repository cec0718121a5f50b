/**
 * End-to-end helpers: one sandbox per test file (3 chassis, the real server and controllers),
 * the Neutron API over HTTP, commands and packet captures inside VM namespaces, and restarts of
 * a chassis' controller or ovs-vswitchd. Every wait polls a real signal; every process a helper
 * starts is stopped by its own pid.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive, startVswitchd, stopPid } from '../../../src/ovs/daemons.js';
import { ofctl, ovsPidFiles } from '../../../src/sandbox/chassis.js';
import { WYVERN_COMMAND_ENV, type L3Mode } from '../../../src/sandbox/launch.js';
import { VM_IFACE } from '../../../src/sandbox/names.js';
import { ownedPid, spawnDetached, stopOwned, waitReady } from '../../../src/sandbox/processes.js';
import { up, type StoreKind } from '../../../src/sandbox/sandbox.js';
import { SandboxState, type ChassisInfo } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { createVm, findChassis, findVm } from '../../../src/sandbox/vm.js';

export const CHASSIS = ['hv1', 'hv2', 'hv3'] as const;

/** Poll `check` until it holds, or fail after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------
// The Neutron API

export class Api {
  constructor(readonly url: string) {}

  async call<T>(method: string, p: string, body?: unknown, admin = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (admin) headers['x-roles'] = 'admin';
    const res = await fetch(`${this.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A network with one IPv4 subnet (optionally restricted to one allocation pool). */
  async network(name: string, cidr: string, pool?: { start: string; end: string }): Promise<{ id: string; subnetId: string }> {
    const { network } = await this.call<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name } });
    const { subnet } = await this.call<{ subnet: { id: string } }>('POST', '/v2.0/subnets', {
      subnet: {
        network_id: network.id,
        name: `${name}-v4`,
        ip_version: 4,
        cidr,
        ...(pool ? { allocation_pools: [pool] } : {}),
      },
    });
    return { id: network.id, subnetId: subnet.id };
  }

  async port(id: string, admin = false): Promise<Record<string, unknown>> {
    return (await this.call<{ port: Record<string, unknown> }>('GET', `/v2.0/ports/${id}`, undefined, admin)).port;
  }

  async updatePort(id: string, fields: Record<string, unknown>): Promise<void> {
    await this.call('PUT', `/v2.0/ports/${id}`, { port: fields });
  }
}

// ---------------------------------------------------------------------------------------------
// One sandbox per file

export interface Cloud {
  readonly state: SandboxState;
  readonly dir: string;
  /** A scratch directory of the test (outside the sandbox dir). */
  readonly scratch: string;
  readonly api: Api;
  /** Creates a VM by DHCP; returns its address without the prefix length. */
  vm(name: string, network: string, chassis: string): Promise<string>;
  close(): Promise<void>;
}

export interface CloudOptions {
  /** The controllers' L3 mode (default: the controller's default, proactive). */
  readonly l3Mode?: L3Mode;
  /** Gateway chassis gw1..gwN beside hv1..hv3 (default none). */
  readonly gateways?: number;
}

export async function startCloud(store: StoreKind, opts: CloudOptions = {}): Promise<Cloud> {
  delete process.env[WYVERN_COMMAND_ENV];
  const root = mkdtempSync(path.join(os.tmpdir(), `wyvern-e2e-${store}${opts.l3Mode ? `-${opts.l3Mode}` : ''}-`));
  const dir = path.join(root, 'sb');
  const scratch = path.join(root, 'scratch');
  let state: SandboxState;
  try {
    state = await up({
      dir,
      chassis: CHASSIS.length,
      apiPort: 0,
      store,
      ...(opts.l3Mode ? { l3Mode: opts.l3Mode } : {}),
      ...(opts.gateways ? { gateways: opts.gateways } : {}),
    });
  } catch (err) {
    // `up` removed what it made; the scratch root is ours
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const api = new Api(state.data.apiUrl as string);
  return {
    state,
    dir,
    scratch,
    api,
    async vm(name, network, chassis) {
      const { lease } = await createVm(state, { name, network, chassis });
      if (!lease) throw new Error(`${name}: no lease`);
      return lease.address.split('/')[0];
    },
    async close() {
      try {
        if (SandboxState.exists(dir)) {
          const report = await teardown(dir);
          if (report.errors.length > 0) throw new Error(`teardown: ${report.errors.join('; ')}`);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Inside VMs

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command in a VM's namespace; never throws on a non-zero exit. */
export function exec(state: SandboxState, vm: string, argv: readonly string[], timeoutMs = 60_000): Promise<ExecResult> {
  const ns = findVm(state, vm).netns;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run a command in a VM's namespace; throws with its output on a non-zero exit. */
export async function must(state: SandboxState, vm: string, argv: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await exec(state, vm, argv, timeoutMs);
  if (r.code !== 0) throw new Error(`${vm}: ${argv.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** One echo request, one second to answer. */
export async function pings(state: SandboxState, from: string, to: string, extra: readonly string[] = []): Promise<boolean> {
  return (await exec(state, from, ['ping', '-n', '-c', '1', '-W', '1', ...extra, to])).code === 0;
}

export function vmMac(state: SandboxState, vm: string): string {
  return findVm(state, vm).mac.toLowerCase();
}

export function vmIp(state: SandboxState, vm: string): string {
  const a = findVm(state, vm).address;
  if (!a) throw new Error(`${vm} has no address`);
  return a.split('/')[0];
}

/**
 * Python, run inside a VM, sending raw Ethernet frames on eth0 (what a misbehaving guest can do):
 * argv = hex frames; each is sent 3 times.
 */
const SEND_FRAMES_PY = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((${JSON.stringify(VM_IFACE)}, 0))
for _ in range(3):
    for f in sys.argv[1:]:
        b = bytes.fromhex(f)
        s.send(b + bytes(max(0, 60 - len(b))))
`;

export async function sendFrames(state: SandboxState, vm: string, frames: readonly string[]): Promise<void> {
  await must(state, vm, ['python3', '-c', SEND_FRAMES_PY, ...frames]);
}

const hexMac = (m: string) => m.replace(/:/g, '').toLowerCase();
const hexIp = (ip: string) => ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');

/** A broadcast ARP request frame (hex): Ethernet source `ethSrc`, sender `sha`/`spa`, target `tpa`. */
export function arpRequest(o: { ethSrc: string; sha: string; spa: string; tpa: string }): string {
  return `ffffffffffff${hexMac(o.ethSrc)}0806` + `0001080006040001${hexMac(o.sha)}${hexIp(o.spa)}000000000000${hexIp(o.tpa)}`;
}

/** A broadcast IPv4/UDP frame (hex), UDP checksum 0 (allowed over IPv4). */
export function udpBroadcast(o: { ethSrc: string; ipSrc: string; sport: number; dport: number; payload: string }): string {
  const udpLen = 8 + o.payload.length / 2;
  const hex16 = (n: number) => n.toString(16).padStart(4, '0');
  const ipHeader = (sum: number) => `4500${hex16(20 + udpLen)}00004000ff11${hex16(sum)}${hexIp(o.ipSrc)}ffffffff`;
  const words = ipHeader(0).match(/.{4}/g) as string[];
  let sum = words.reduce((a, w) => a + Number.parseInt(w, 16), 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const udp = `${hex16(o.sport)}${hex16(o.dport)}${hex16(udpLen)}0000${o.payload}`;
  return `ffffffffffff${hexMac(o.ethSrc)}0800${ipHeader(~sum & 0xffff)}${udp}`;
}

/** A DHCP OFFER (BOOTP reply, hex) from `server` offering `yiaddr` to `chaddr`, with `router`. */
export function dhcpOffer(o: { server: string; yiaddr: string; chaddr: string; router: string }): string {
  const opt = (code: number, hex: string) => code.toString(16).padStart(2, '0') + (hex.length / 2).toString(16).padStart(2, '0') + hex;
  return (
    '02010600' + '12345678' + '0000' + '8000' + '00000000' + hexIp(o.yiaddr) + hexIp(o.server) + '00000000' +
    hexMac(o.chaddr).padEnd(32, '0') + '00'.repeat(64 + 128) + '63825363' +
    opt(53, '02') + opt(54, hexIp(o.server)) + opt(1, 'ffffff00') + opt(3, hexIp(o.router)) + opt(51, '0000003c') + 'ff'
  );
}

// ---------------------------------------------------------------------------------------------
// Packet captures

export class Capture {
  private out = '';
  private err = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly vm: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.err += d.toString()));
    // 'close', not 'exit': the last output may arrive after the process exited
    this.exited = new Promise((r) => child.on('close', () => r()));
  }

  /** `tcpdump --immediate-mode -e -n -l -U -i eth0 FILTER` in a VM; resolves once tcpdump is listening. */
  static async start(state: SandboxState, vm: string, filter: string): Promise<Capture> {
    const ns = findVm(state, vm).netns;
    // `ip netns exec` execs tcpdump in place: the child pid is tcpdump's.
    // --immediate-mode: without it libpcap hands packets over a block at a time (up to 1 s
    // late), and what is still pending when tcpdump is stopped is never printed.
    const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '--immediate-mode', '-e', '-n', '-l', '-U', '-i', VM_IFACE, filter], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const cap = new Capture(vm, child);
    await eventually(() => cap.err.includes('listening on') || child.exitCode !== null, `tcpdump in ${vm} to listen`, 10_000, 20);
    if (child.exitCode !== null) throw new Error(`tcpdump in ${vm} exited: ${cap.err}`);
    return cap;
  }

  lines(): string[] {
    return this.out.split('\n').filter((l) => l.trim() !== '');
  }

  /** Wait until a captured line matches. */
  async waitFor(pattern: RegExp, what: string, timeoutMs = 5_000): Promise<void> {
    await eventually(() => this.lines().some((l) => pattern.test(l)), `${this.vm} to see ${what}; saw:\n${this.out}`, timeoutMs, 20);
  }

  /** Stop tcpdump (SIGINT to its own pid) and return what it captured. */
  async stop(): Promise<string[]> {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      this.child.kill('SIGINT');
      await this.exited;
    }
    return this.lines();
  }
}

// ---------------------------------------------------------------------------------------------
// Chassis: flows, controller and ovs-vswitchd restarts

/** br-int flows of a chassis (OpenFlow 1.3 dump) that mention a MAC, in colon or hex form. */
export async function flowsWithMac(chassis: ChassisInfo, mac: string): Promise<string[]> {
  const dump = await ofctl(chassis, 'dump-flows', 'br-int');
  const colon = mac.toLowerCase();
  const hex = `0x${hexMac(mac)}`;
  return dump.split('\n').filter((l) => {
    const s = l.toLowerCase();
    return s.includes(colon) || s.includes(hex);
  });
}

function controllerProcess(state: SandboxState, chassis: string): { name: string; pidFile: string; logFile: string } {
  const p = state.refresh().processes.find((x) => x.chassis === chassis && x.name.startsWith('controller-'));
  if (!p) throw new Error(`no controller recorded for ${chassis}`);
  return p;
}

function readyLines(logFile: string, chassis: string): number {
  const re = new RegExp(`\\bready\\b.*\\bchassis[ =:]+${chassis}\\b`);
  try {
    return readFileSync(logFile, 'utf8').split('\n').filter((l) => re.test(l)).length;
  } catch {
    return 0;
  }
}

/**
 * Stop a chassis' controller (SIGTERM to the pid in its pid file, after checking it is ours; with
 * `crash`, SIGKILL) and start it again with exactly the command line it ran with; resolves when it logs a new ready
 * line. Returns the milliseconds from stop to ready.
 */
export async function restartController(state: SandboxState, chassis: string, opts: { readonly crash?: boolean } = {}): Promise<number> {
  const p = controllerProcess(state, chassis);
  const pid = ownedPid(p.pidFile, state.dir);
  if (pid === undefined) throw new Error(`controller of ${chassis} is not running`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  const before = readyLines(p.logFile, chassis);
  const t0 = Date.now();
  if (opts.crash) {
    // kill -9: no shutdown path runs.
    process.kill(pid, 'SIGKILL');
    await eventually(() => !isAlive(pid), `controller of ${chassis} (pid ${pid}) to die`, 10_000, 10);
  } else {
    await stopOwned(p.pidFile, state.dir);
  }
  const proc = spawnDetached(state, p.name, { file: argv[0], args: argv.slice(1) }, { pidFile: p.pidFile, logFile: p.logFile, match: state.dir });
  await waitReady(proc, 'a new ready line', () => readyLines(p.logFile, chassis) > before, 60_000);
  return Date.now() - t0;
}

/** Stop a chassis' ovs-vswitchd by its pid file and start it again; resolves when it is back (--detach). */
export async function restartVswitchd(state: SandboxState, chassis: string): Promise<{ stoppedAt: number; startedAt: number }> {
  const c = findChassis(state, chassis);
  const pidFile = ovsPidFiles(c.ovsDir).vswitchd;
  const pid = ownedPid(pidFile, c.ovsDir);
  if (pid === undefined) throw new Error(`ovs-vswitchd of ${chassis} is not running`);
  await stopPid(pid);
  const stoppedAt = Date.now();
  if (isAlive(pid)) throw new Error('ovs-vswitchd did not stop');
  await startVswitchd({ dir: c.ovsDir, netns: c.netns, dbSocket: c.dbSocket });
  await eventually(() => ownedPid(pidFile, c.ovsDir) !== undefined, 'ovs-vswitchd pid file', 10_000, 20);
  return { stoppedAt, startedAt: Date.now() };
}

/** A TCP sink on port 5201: prints "listening", then "received BYTES SHA256" of one connection. */
const TCP_SINK_PY = `
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 5201)); s.listen(1); print('listening', flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print('received', n, h.hexdigest(), flush=True)
`;

/** Sends argv[2] random bytes to argv[1]:5201; prints "sent BYTES SHA256". */
const TCP_SOURCE_PY = `
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[2]))
c = socket.create_connection((sys.argv[1], 5201), timeout=20); c.sendall(data); c.close()
print('sent', len(data), hashlib.sha256(data).hexdigest())
`;

/**
 * Send `bytes` random bytes over one TCP connection from VM `from` to VM `to`. Resolves with
 * what the source says it sent and what the sink says it received ("BYTES SHA256" each), so the
 * caller asserts they are equal.
 */
export async function tcpTransfer(
  state: SandboxState,
  from: string,
  to: string,
  bytes: number,
): Promise<{ code: number; stderr: string; sent: string; received: string | undefined }> {
  const server = spawn('ip', ['netns', 'exec', findVm(state, to).netns, 'python3', '-c', TCP_SINK_PY], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((r) => server.on('close', () => r()));
  try {
    await eventually(() => out.includes('listening') || server.exitCode !== null, `the TCP sink in ${to} to listen`, 10_000, 20);
    const r = await exec(state, from, ['python3', '-c', TCP_SOURCE_PY, vmIp(state, to), String(bytes)], 60_000);
    await Promise.race([done, new Promise((res) => setTimeout(res, 10_000))]);
    const received = out.split('\n').find((l) => l.startsWith('received '))?.replace(/^received /, '');
    return { code: r.code, stderr: r.stderr, sent: r.stdout.trim().replace(/^sent /, ''), received };
  } finally {
    if (server.exitCode === null) server.kill('SIGTERM');
  }
}

