/**
 * `chassis stop NAME`: a crash — kill -9 of every daemon of the chassis (ovsdb-server,
 * ovs-vswitchd, its controller), each by the pid the sandbox recorded and only when that pid is
 * still ours. `chassis start NAME`: the same daemons again, from the same directories, with the
 * same configuration (OVSDB's conf.db keeps the bridges and the VMs' ports) and the controller
 * with the command line it was first started with; resolves once the controller logs a new
 * ready line.
 */
import { readFileSync } from 'node:fs';
import { isAlive, startOvsdbServer, startVswitchd } from '../ovs/daemons.js';
import { configureUnderlayAddress, ovsPidFiles, UNDERLAY_BRIDGE, vsctl } from './chassis.js';
import { controllerReadyPattern } from './launch.js';
import { ownedPid, spawnDetached, waitReady } from './processes.js';
import type { ChassisInfo, ProcessInfo, SandboxState } from './state.js';
import { findChassis } from './vm.js';

export class ChassisControlError extends Error {
  override readonly name = 'ChassisControlError';
}

export interface ChassisDaemon {
  readonly name: 'ovsdb-server' | 'ovs-vswitchd' | 'controller';
  readonly pidFile: string;
  /** What must occur in its command line (OVS daemons) or owner environment (controller). */
  readonly match: string;
}

function controllerOf(state: SandboxState, chassis: string): ProcessInfo | undefined {
  return state.refresh().processes.find((p) => p.chassis === chassis && p.name.startsWith('controller-'));
}

/** The daemons of a chassis, in start order. */
export function chassisDaemons(state: SandboxState, c: ChassisInfo): ChassisDaemon[] {
  const pids = ovsPidFiles(c.ovsDir);
  const ctl = controllerOf(state, c.name);
  return [
    { name: 'ovsdb-server', pidFile: pids.ovsdb, match: c.ovsDir },
    { name: 'ovs-vswitchd', pidFile: pids.vswitchd, match: c.ovsDir },
    ...(ctl ? [{ name: 'controller' as const, pidFile: ctl.pidFile, match: state.dir }] : []),
  ];
}

export interface KilledDaemon {
  readonly name: ChassisDaemon['name'];
  readonly pid: number;
}

/** kill -9 every running daemon of the chassis; resolves once all are gone. Returns who was killed. */
export async function stopChassis(state: SandboxState, name: string, timeoutMs = 10_000): Promise<KilledDaemon[]> {
  const c = findChassis(state, name);
  const killed: KilledDaemon[] = [];
  for (const d of chassisDaemons(state, c)) {
    const pid = ownedPid(d.pidFile, d.match);
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push({ name: d.name, pid });
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (killed.some((k) => isAlive(k.pid))) {
    if (Date.now() > deadline) throw new ChassisControlError(`${name}: daemons still alive ${timeoutMs} ms after kill -9`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return killed;
}

function readyLines(logFile: string, chassis: string): number {
  const re = controllerReadyPattern(chassis);
  try {
    return readFileSync(logFile, 'utf8').split('\n').filter((l) => re.test(l)).length;
  } catch {
    return 0;
  }
}

export interface StartedDaemon {
  readonly name: ChassisDaemon['name'];
  readonly pid: number;
}

/**
 * Start whatever daemon of the chassis is not running (all of them after `stopChassis`); with a
 * controller, resolves once it logs a new ready line. Returns who was started.
 */
export async function startChassis(state: SandboxState, name: string, timeoutMs = 60_000): Promise<StartedDaemon[]> {
  const c = findChassis(state, name);
  const pids = ovsPidFiles(c.ovsDir);
  const started: StartedDaemon[] = [];
  if (ownedPid(pids.ovsdb, c.ovsDir) === undefined) {
    // --detach: returns once it listens. conf.db exists, so it is not created again.
    const { handle } = await startOvsdbServer({ dir: c.ovsDir, netns: c.netns });
    started.push({ name: 'ovsdb-server', pid: handle.pid });
  }
  if (ownedPid(pids.vswitchd, c.ovsDir) === undefined) {
    const handle = await startVswitchd({ dir: c.ovsDir, netns: c.netns, dbSocket: c.dbSocket });
    started.push({ name: 'ovs-vswitchd', pid: handle.pid });
    // br-phy's internal interface is a new tap device without the tunnel IP.
    await vsctl(c, 'wait-until', 'Interface', UNDERLAY_BRIDGE, 'ofport>0');
    await configureUnderlayAddress(c);
  }
  const ctl = controllerOf(state, name);
  if (ctl && ownedPid(ctl.pidFile, state.dir) === undefined) {
    if (!ctl.launch) throw new ChassisControlError(`${name}: the sandbox did not record how its controller was started`);
    const before = readyLines(ctl.logFile, name);
    const proc = spawnDetached(state, ctl.name, ctl.launch, { pidFile: ctl.pidFile, logFile: ctl.logFile, match: state.dir });
    started.push({ name: 'controller', pid: proc.pid });
    await waitReady(proc, `a new ready line (${controllerReadyPattern(name).source})`, () => readyLines(ctl.logFile, name) > before, timeoutMs);
  }
  return started;
}
