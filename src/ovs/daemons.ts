/**
 * Start and stop private Open vSwitch daemons (ovsdb-server, ovs-vswitchd) in a directory of
 * their own, optionally inside a network namespace. Used by the sandbox, integration tests and
 * benchmarks. Every daemon is started with --detach (the command returns once the daemon is
 * ready: listening, or done with its first configuration pass) and a pid file; it is stopped by
 * that pid only, never by name.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface OvsDirs {
  /** Holds the database, sockets, pid files and logs. */
  readonly dir: string;
  /** Network namespace to run in (must exist), or undefined for the current one. */
  readonly netns?: string;
}

export interface DaemonHandle {
  readonly name: 'ovsdb-server' | 'ovs-vswitchd';
  readonly pid: number;
  readonly pidFile: string;
  stop(): Promise<void>;
}

export interface OvsInstance {
  readonly dir: string;
  readonly netns?: string;
  /** `unix:DIR/db.sock`, for OVSDB clients. */
  readonly dbTarget: string;
  readonly dbSocket: string;
  readonly ovsdb: DaemonHandle;
  readonly vswitchd: DaemonHandle;
  /** The OpenFlow management socket of a bridge: `DIR/BRIDGE.mgmt`. */
  mgmtSocket(bridge: string): string;
  /** Run `ovs-vsctl` against this instance's database. */
  vsctl(...args: string[]): Promise<string>;
  /** Run `ovs-ofctl -O OpenFlow13` against a bridge of this instance (through its mgmt socket). */
  ofctl(command: string, bridge: string, ...args: string[]): Promise<string>;
  /** Run `ovs-appctl -t ovs-vswitchd`. */
  appctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function envFor(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
}

/** Run a program, inside `netns` when given. Resolves with stdout. */
export async function run(
  file: string,
  args: readonly string[],
  opts: { netns?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, file, ...args]] : [file, [...args]];
  const { stdout } = await execFileP(cmd, argv, {
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

function readPid(pidFile: string): number {
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid file ${pidFile}`);
  return pid;
}

/** True while `pid` runs. An exited process its parent has not reaped yet (a zombie) is not alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** SIGTERM the pid, wait for it to go, SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 5_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stop the daemon recorded in a pid file, if it is still running. Safe after a crash. */
export async function stopPidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  let pid: number;
  try {
    pid = readPid(pidFile);
  } catch {
    return;
  }
  await stopPid(pid);
}

function handle(name: DaemonHandle['name'], pidFile: string): DaemonHandle {
  const pid = readPid(pidFile);
  return { name, pid, pidFile, stop: () => stopPid(pid) };
}

export async function startOvsdbServer(dirs: OvsDirs): Promise<{ handle: DaemonHandle; socket: string }> {
  mkdirSync(dirs.dir, { recursive: true });
  const env = envFor(dirs.dir);
  const db = path.join(dirs.dir, 'conf.db');
  const socket = path.join(dirs.dir, 'db.sock');
  const pidFile = path.join(dirs.dir, 'ovsdb-server.pid');
  if (!existsSync(db)) await run('ovsdb-tool', ['create', db, OVS_SCHEMA], { env });
  await run(
    'ovsdb-server',
    [
      '--detach',
      `--pidfile=${pidFile}`,
      `--log-file=${path.join(dirs.dir, 'ovsdb-server.log')}`,
      `--remote=punix:${socket}`,
      `--unixctl=${path.join(dirs.dir, 'ovsdb-server.ctl')}`,
      db,
    ],
    { netns: dirs.netns, env },
  );
  return { handle: handle('ovsdb-server', pidFile), socket };
}

export interface VswitchdOptions extends OvsDirs {
  readonly dbSocket: string;
  /** Replace real datapaths with OVS's dummy one (no tap devices; control-plane tests). */
  readonly dummy?: boolean;
}

export async function startVswitchd(opts: VswitchdOptions): Promise<DaemonHandle> {
  const env = envFor(opts.dir);
  const pidFile = path.join(opts.dir, 'ovs-vswitchd.pid');
  await run(
    'ovs-vswitchd',
    [
      '--detach',
      `--pidfile=${pidFile}`,
      `--log-file=${path.join(opts.dir, 'ovs-vswitchd.log')}`,
      `--unixctl=${path.join(opts.dir, 'ovs-vswitchd.ctl')}`,
      ...(opts.dummy ? ['--enable-dummy=override', '--disable-system'] : []),
      `unix:${opts.dbSocket}`,
    ],
    { netns: opts.netns, env },
  );
  return handle('ovs-vswitchd', pidFile);
}

/**
 * Start ovsdb-server (creating the database) and ovs-vswitchd in `dir`. With `dummy`, bridges
 * get the dummy datapath; otherwise create bridges with `datapath_type=netdev` (userspace).
 */
export async function startOvs(opts: OvsDirs & { readonly dummy?: boolean }): Promise<OvsInstance> {
  const env = envFor(opts.dir);
  const { handle: ovsdb, socket } = await startOvsdbServer(opts);
  const dbTarget = `unix:${socket}`;
  let vswitchd: DaemonHandle;
  try {
    await run('ovs-vsctl', [`--db=${dbTarget}`, '--no-wait', 'init'], { env });
    vswitchd = await startVswitchd({ ...opts, dbSocket: socket });
  } catch (err) {
    await ovsdb.stop();
    throw err;
  }
  const instance: OvsInstance = {
    dir: opts.dir,
    netns: opts.netns,
    dbTarget,
    dbSocket: socket,
    ovsdb,
    vswitchd,
    mgmtSocket: (bridge) => path.join(opts.dir, `${bridge}.mgmt`),
    vsctl: (...args) => run('ovs-vsctl', [`--db=${dbTarget}`, '--timeout=30', ...args], { env, netns: opts.netns }),
    ofctl: (command, bridge, ...args) =>
      run('ovs-ofctl', ['-O', 'OpenFlow13', command, `unix:${path.join(opts.dir, `${bridge}.mgmt`)}`, ...args], { env }),
    appctl: (...args) => run('ovs-appctl', ['-t', path.join(opts.dir, 'ovs-vswitchd.ctl'), ...args], { env }),
    async stop() {
      await vswitchd.stop();
      await ovsdb.stop();
    },
  };
  return instance;
}
