/**
 * `up` and `status`: bring a whole cloud up on this machine — the fabric, N compute chassis
 * (plus optional gateway chassis), the API server (on sqlite, or on an etcd the sandbox starts)
 * and one controller per chassis — each step recorded before it is taken; report on it later.
 *
 * Controllers run in the HOST namespace, not the chassis one: a controller talks to its OVS only
 * through unix sockets (`--ovsdb unix:DIR/hvN/db.sock`, `--openflow unix:DIR/hvN/br-int.mgmt`),
 * which work across namespaces, and it reaches the API server on 127.0.0.1 like any local
 * client. Only OVS (and VMs) live in the chassis namespaces.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../ovs/daemons.js';
import { createChassis, EXTERNAL_BRIDGE, mgmtSocket, ovsPidFiles, vsctl } from './chassis.js';
import { createFabric } from './fabric.js';
import {
  controllerLaunch,
  controllerReadyPattern,
  etcdLaunch,
  serverLaunch,
  serverReadyUrl,
  type Encap,
  type L3Mode,
} from './launch.js';
import { newTag, PUBLIC_PHYSNET, VM_IFACE, type ChassisRole } from './names.js';
import { createOutside } from './outside.js';
import { ipv4Addresses, netnsExists } from './netns.js';
import { pickPort, freePort } from './ports.js';
import { httpAnswers, logMatches, ownedPid, spawnDetached, waitReady, type Launch, type StartedProcess } from './processes.js';
import { SandboxState, type ChassisInfo } from './state.js';
import { teardown } from './teardown.js';

export const DEFAULT_SANDBOX_DIR = '.sandbox';
export const DEFAULT_API_PORT = 9696;

export type StoreKind = 'sqlite' | 'etcd';

export interface UpOptions {
  readonly dir: string;
  /** Compute chassis hv1..hvN. */
  readonly chassis: number;
  /** Gateway chassis gw1..gwN (their controllers get `--gateway`). */
  readonly gateways?: number;
  readonly store?: StoreKind;
  readonly l3Mode?: L3Mode;
  readonly encap?: Encap;
  /** Preferred API port (default 9696; another free port when taken). */
  readonly apiPort?: number;
  /** Start the API server (default true). */
  readonly server?: boolean;
  /** Start one controller per chassis (default true; needs the server). */
  readonly controllers?: boolean;
  /** Leave what was made in place when `up` fails (default: tear it down). */
  readonly keepOnFailure?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Per-process readiness timeout. */
  readonly readyTimeoutMs?: number;
  /** False: controllers get `--no-tunnel-probe` (tests of what the probe prevents). */
  readonly tunnelProbe?: boolean;
}

function processFiles(state: SandboxState, name: string): { pidFile: string; logFile: string; match: string } {
  return {
    pidFile: path.join(state.dir, 'run', `${name}.pid`),
    logFile: path.join(state.dir, 'logs', `${name}.log`),
    match: state.dir,
  };
}

function startProcess(state: SandboxState, name: string, launch: Launch, chassis?: string, metricsUrl?: string): StartedProcess {
  const files = processFiles(state, name);
  const proc = spawnDetached(state, name, launch, files);
  state.update((d) => {
    d.processes = d.processes.filter((p) => p.name !== name);
    d.processes.push({
      name,
      pidFile: files.pidFile,
      logFile: files.logFile,
      chassis,
      ...(metricsUrl ? { metricsUrl } : {}),
      launch: { file: launch.file, args: [...launch.args] },
    });
  });
  return proc;
}

function mkdirRecorded(state: SandboxState, dir: string): void {
  state.record({ kind: 'dir', path: dir });
  mkdirSync(dir, { recursive: true });
}

async function startEtcd(state: SandboxState, timeoutMs: number): Promise<string> {
  const dataDir = path.join(state.dir, 'etcd');
  state.record({ kind: 'dir', path: dataDir });
  const clientPort = await freePort();
  const peerPort = await freePort();
  const proc = startProcess(state, 'etcd', etcdLaunch({ dataDir, clientPort, peerPort }));
  const url = `http://127.0.0.1:${clientPort}`;
  await waitReady(proc, 'GET /health', httpAnswers(`${url}/health`), timeoutMs);
  return url;
}

async function startServer(state: SandboxState, o: UpOptions, timeoutMs: number): Promise<string> {
  let store: string;
  if (o.store === 'etcd') {
    store = `etcd:${await startEtcd(state, timeoutMs)}`;
  } else {
    const db = path.join(state.dir, 'nb.db');
    for (const suffix of ['', '-wal', '-shm', '-journal']) state.record({ kind: 'file', path: db + suffix });
    store = `sqlite:${db}`;
  }
  const port = await pickPort(o.apiPort ?? DEFAULT_API_PORT);
  const apiUrl = `http://127.0.0.1:${port}`;
  state.update((d) => {
    d.store = store;
  });
  const proc = startProcess(state, 'server', serverLaunch({ listen: `127.0.0.1:${port}`, store }), undefined, `${apiUrl}/metrics`);
  await waitReady(proc, 'answer to GET /', httpAnswers(serverReadyUrl(apiUrl)), timeoutMs);
  state.update((d) => {
    d.apiUrl = apiUrl;
  });
  return apiUrl;
}

async function startController(state: SandboxState, c: ChassisInfo, o: UpOptions, apiUrl: string, timeoutMs: number): Promise<void> {
  const metricsPort = await freePort();
  const launch = controllerLaunch({
    chassis: c.name,
    nb: apiUrl,
    ovsdb: `unix:${c.dbSocket}`,
    openflow: `unix:${mgmtSocket(c)}`,
    tunnelIp: c.tunnelIp,
    encap: o.encap,
    l3Mode: o.l3Mode,
    gateway: c.role === 'gateway',
    metricsListen: `127.0.0.1:${metricsPort}`,
    bridgeMappings: { [PUBLIC_PHYSNET]: EXTERNAL_BRIDGE },
    tunnelProbe: o.tunnelProbe,
  });
  const proc = startProcess(state, `controller-${c.name}`, launch, c.name, `http://127.0.0.1:${metricsPort}/metrics`);
  await waitReady(proc, `ready line (${controllerReadyPattern(c.name).source})`, logMatches(proc.logFile, controllerReadyPattern(c.name)), timeoutMs);
}

/**
 * Like Promise.all, but waits for every promise before rejecting with the first error, so a
 * teardown after a failure never races steps still in flight.
 */
async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** A tag no existing namespace starts with. */
function freshTag(): string {
  const taken = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (;;) {
    const tag = newTag();
    if (!taken.some((n) => n.startsWith(`${tag}-`))) return tag;
  }
}

/** Bring the sandbox up; resolves once every part answers. Tears down on failure unless asked not to. */
export async function up(o: UpOptions): Promise<SandboxState> {
  const log = o.log ?? (() => undefined);
  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  if (!Number.isInteger(o.chassis) || o.chassis < 1 || o.chassis > 99) throw new RangeError('--chassis must be 1..99');
  const gateways = o.gateways ?? 0;
  if (!Number.isInteger(gateways) || gateways < 0 || gateways > 99) throw new RangeError('--gateways must be 0..99');
  const state = SandboxState.create(o.dir, freshTag());
  try {
    state.update((d) => {
      d.l3Mode = o.l3Mode;
    });
    mkdirRecorded(state, path.join(state.dir, 'logs'));
    mkdirRecorded(state, path.join(state.dir, 'run'));
    log(`sandbox ${state.tag} in ${state.dir}`);
    const fabric = await createFabric(state);
    const specs: { role: ChassisRole; index: number }[] = [
      ...Array.from({ length: o.chassis }, (_, i) => ({ role: 'compute' as const, index: i + 1 })),
      ...Array.from({ length: gateways }, (_, i) => ({ role: 'gateway' as const, index: i + 1 })),
    ];
    const chassis = await settleAll(specs.map((s) => createChassis(state, fabric, s)));
    for (const c of chassis) log(`chassis ${c.name}: netns ${c.netns}, tunnel ${c.tunnelIp}, ovsdb unix:${c.dbSocket}`);
    const outside = await createOutside(state, fabric);
    log(`outside: netns ${outside.netns}, ${outside.routerAddress} on ${PUBLIC_PHYSNET}, ${outside.hostAddress} on lo`);
    if (o.server !== false) {
      const apiUrl = await startServer(state, o, timeoutMs);
      log(`server: ${apiUrl} (store ${state.data.store})`);
      if (o.controllers !== false) {
        await settleAll(chassis.map((c) => startController(state, c, o, apiUrl, timeoutMs)));
        log(`controllers: ${chassis.map((c) => c.name).join(', ')} ready`);
      }
    }
    return state;
  } catch (err) {
    if (!o.keepOnFailure) {
      log(`up failed, removing what was made (${(err as Error).message.split('\n')[0]})`);
      await teardown(state.dir);
    }
    throw err;
  }
}

export interface ProcessStatus {
  readonly name: string;
  readonly pid?: number;
  readonly alive: boolean;
  readonly logFile?: string;
  /** Prometheus endpoint (server and controllers). */
  readonly metricsUrl?: string;
}

export interface ChassisStatus {
  readonly name: string;
  readonly role: ChassisRole;
  readonly netns: string;
  readonly netnsPresent: boolean;
  readonly tunnelIp: string;
  readonly dbSocket: string;
  readonly ovsdb: ProcessStatus;
  readonly vswitchd: ProcessStatus;
  readonly controller?: ProcessStatus;
  /** The controller's Prometheus endpoint. */
  readonly metricsUrl?: string;
  /** br-ex, the chassis' bridge on the physical network `public`, and its veth there. */
  readonly externalBridge?: { readonly name: string; readonly port: string; readonly present: boolean };
}

export interface OutsideStatus {
  readonly netns: string;
  readonly present: boolean;
  /** IPv4 addresses held there now (CIDR), its interface on `public` first, then its loopback's. */
  readonly addresses: readonly string[];
}

export interface VmStatus {
  readonly name: string;
  readonly chassis: string;
  readonly netns: string;
  readonly portId: string;
  readonly mac: string;
  /** Addresses on the VM's eth0 right now. */
  readonly addresses: readonly string[];
}

export interface SandboxStatus {
  readonly dir: string;
  readonly tag: string;
  readonly apiUrl?: string;
  readonly store?: string;
  readonly chassis: readonly ChassisStatus[];
  readonly processes: readonly ProcessStatus[];
  readonly vms: readonly VmStatus[];
  /** The outside namespace on the physical network `public`. */
  readonly outside?: OutsideStatus;
  /** Every Prometheus endpoint: the server's and each controller's. */
  readonly metrics: readonly { readonly name: string; readonly url: string }[];
}

function processStatus(name: string, pidFile: string, match: string, logFile?: string, metricsUrl?: string): ProcessStatus {
  const pid = ownedPid(pidFile, match);
  return { name, pid, alive: pid !== undefined && isAlive(pid), logFile, ...(metricsUrl ? { metricsUrl } : {}) };
}

export async function status(dir: string): Promise<SandboxStatus | undefined> {
  const state = SandboxState.load(dir);
  if (!state) return undefined;
  const d = state.data;
  const processes = d.processes.map((p) => processStatus(p.name, p.pidFile, d.dir, p.logFile, p.metricsUrl));
  const chassis = await Promise.all(d.chassis.map(async (c): Promise<ChassisStatus> => {
    const pids = ovsPidFiles(c.ovsDir);
    const ctl = d.processes.find((p) => p.chassis === c.name);
    const ovsdb = processStatus('ovsdb-server', pids.ovsdb, c.ovsDir, path.join(c.ovsDir, 'ovsdb-server.log'));
    return {
      name: c.name,
      role: c.role,
      netns: c.netns,
      netnsPresent: netnsExists(c.netns),
      tunnelIp: c.tunnelIp,
      dbSocket: c.dbSocket,
      ovsdb,
      vswitchd: processStatus('ovs-vswitchd', pids.vswitchd, c.ovsDir, path.join(c.ovsDir, 'ovs-vswitchd.log')),
      controller: ctl ? processStatus(ctl.name, ctl.pidFile, d.dir, ctl.logFile, ctl.metricsUrl) : undefined,
      ...(ctl?.metricsUrl ? { metricsUrl: ctl.metricsUrl } : {}),
      ...(c.publicLink ? { externalBridge: { name: EXTERNAL_BRIDGE, port: c.publicLink, present: ovsdb.alive && (await bridgeExists(c, EXTERNAL_BRIDGE)) } } : {}),
    };
  }));
  const vms = await Promise.all(
    d.vms.map(async (v): Promise<VmStatus> => ({
      name: v.name,
      chassis: v.chassis,
      netns: v.netns,
      portId: v.portId,
      mac: v.mac,
      addresses: await ipv4Addresses(v.netns, VM_IFACE),
    })),
  );
  const metrics = d.processes.filter((p) => p.metricsUrl).map((p) => ({ name: p.name, url: p.metricsUrl as string }));
  const outside = d.outside
    ? {
        netns: d.outside.netns,
        present: netnsExists(d.outside.netns),
        addresses: [
          ...(await ipv4Addresses(d.outside.netns, d.outside.iface)),
          ...(await ipv4Addresses(d.outside.netns, 'lo')).filter((a) => !a.startsWith('127.')),
        ],
      }
    : undefined;
  return { dir: d.dir, tag: d.tag, apiUrl: d.apiUrl, store: d.store, chassis, processes, vms, ...(outside ? { outside } : {}), metrics };
}

async function bridgeExists(c: ChassisInfo, bridge: string): Promise<boolean> {
  try {
    await vsctl(c, '--timeout=2', 'br-exists', bridge);
    return true;
  } catch {
    return false;
  }
}

function mark(p: ProcessStatus | undefined): string {
  if (!p) return '-';
  return p.alive ? `up (pid ${p.pid})` : 'DOWN';
}

export function formatStatus(s: SandboxStatus): string {
  const lines = [`sandbox ${s.tag} in ${s.dir}`];
  lines.push(`api:     ${s.apiUrl ?? '(no server)'}${s.store ? `  store ${s.store}` : ''}`);
  for (const p of s.processes.filter((x) => !x.name.startsWith('controller-'))) lines.push(`${p.name.padEnd(8)} ${mark(p)}  log ${p.logFile}`);
  lines.push('', 'chassis  role     tunnel ip       netns               ovsdb-server        ovs-vswitchd        controller          br-ex');
  for (const c of s.chassis) {
    const ex = c.externalBridge;
    lines.push(
      [
        c.name.padEnd(8),
        c.role.padEnd(8),
        c.tunnelIp.padEnd(15),
        (c.netnsPresent ? c.netns : `${c.netns} (GONE)`).padEnd(19),
        mark(c.ovsdb).padEnd(19),
        mark(c.vswitchd).padEnd(19),
        mark(c.controller).padEnd(19),
        ex ? `${ex.present ? ex.name : `${ex.name} (GONE)`} (${ex.port})` : '-',
      ].join(' '),
    );
  }
  if (s.outside) {
    const o = s.outside;
    lines.push('', `outside: ${o.present ? o.netns : `${o.netns} (GONE)`}  ${o.addresses.join(', ') || '(no addresses)'}`);
  }
  if (s.metrics.length > 0) lines.push('', 'metrics:', ...s.metrics.map((m) => `  ${m.name.padEnd(20)} ${m.url}`));
  lines.push('', s.vms.length === 0 ? 'no VMs' : 'vm               chassis  mac                address');
  for (const v of s.vms) {
    lines.push([v.name.padEnd(16), v.chassis.padEnd(8), v.mac.padEnd(18), v.addresses.join(',') || '(none)'].join(' '));
  }
  return lines.join('\n');
}
