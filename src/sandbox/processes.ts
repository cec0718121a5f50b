/**
 * Long-running sandbox processes (server, controllers, etcd): spawned detached with their own
 * log and pid files, recorded in the state before they start, waited on by real readiness
 * signals, and stopped by pid only — after checking the pid still belongs to this sandbox.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { isAlive, stopPid } from '../ovs/daemons.js';
import type { SandboxState } from './state.js';

/** How to run a program: the executable and its arguments. */
export interface Launch {
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface StartedProcess {
  readonly name: string;
  readonly pid: number;
  readonly pidFile: string;
  readonly logFile: string;
}

export class ProcessStartError extends Error {
  override readonly name = 'ProcessStartError';
}

export function readPidFile(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** NUL-separated argv of a running process joined by spaces, or undefined if it is gone. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Environment variable every process the sandbox spawns carries: the sandbox's `match`. */
export const OWNER_ENV = 'WYVERN_SANDBOX_OWNER';

function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * Whether a live process is ours: `match` occurs in its command line (OVS daemons: their files
 * are in the sandbox dir), or it carries `WYVERN_SANDBOX_OWNER=match` in its environment (every
 * process `spawnDetached` starts, whatever its arguments).
 */
export function isOwned(pid: number, match: string): boolean {
  const cmd = cmdlineOf(pid);
  if (cmd === undefined) return false;
  return cmd.includes(match) || environOf(pid).includes(`${OWNER_ENV}=${match}`);
}

/** The pid in `pidFile` when that process is alive and ours (see `isOwned`). */
export function ownedPid(pidFile: string, match: string): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  return isOwned(pid, match) ? pid : undefined;
}

/**
 * Spawn `launch` detached (own session, survives the CLI), stdout and stderr appended to
 * `logFile`. The child writes its own pid file before it execs, so no process of ours ever runs
 * without one. It carries `WYVERN_SANDBOX_OWNER=match` (normally the sandbox dir) in its
 * environment, which is what `down` checks before it signals the pid.
 */
export function spawnDetached(
  state: SandboxState,
  name: string,
  launch: Launch,
  files: { readonly pidFile: string; readonly logFile: string; readonly match: string },
): StartedProcess {
  state.record({ kind: 'file', path: files.logFile });
  state.record({ kind: 'file', path: files.pidFile });
  state.record({ kind: 'process', name, pidFile: files.pidFile, match: files.match });
  const log = openSync(files.logFile, 'a');
  try {
    const child = spawn(
      '/bin/sh',
      ['-c', 'echo $$ > "$0" && exec "$@"', files.pidFile, launch.file, ...launch.args],
      { detached: true, stdio: ['ignore', log, log], env: { ...(launch.env ?? process.env), [OWNER_ENV]: files.match } },
    );
    child.unref();
    if (child.pid === undefined) throw new ProcessStartError(`${name}: could not spawn ${launch.file}`);
    return { name, pid: child.pid, pidFile: files.pidFile, logFile: files.logFile };
  } finally {
    closeSync(log);
  }
}

export function logTail(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

/**
 * Wait until `ready()` is true, polling the real signal; fail at once if the process exits,
 * and after `timeoutMs`, with the tail of its log either way.
 */
export async function waitReady(
  proc: StartedProcess,
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (await ready()) return;
    if (!isAlive(proc.pid)) {
      throw new ProcessStartError(`${proc.name} exited before ${what}; log ${proc.logFile}:\n${logTail(proc.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new ProcessStartError(`${proc.name}: no ${what} after ${timeoutMs} ms; log ${proc.logFile}:\n${logTail(proc.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Readiness signal: `url` answers with a 2xx. */
export function httpAnswers(url: string): () => Promise<boolean> {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  };
}

/** Readiness signal: a line of `logFile` matches `pattern`. */
export function logMatches(logFile: string, pattern: RegExp): () => boolean {
  return () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').some((l) => pattern.test(l));
    } catch {
      return false;
    }
  };
}

/**
 * Stop the process recorded in `pidFile` if it is still ours (alive, `match` in its command
 * line). SIGTERM, then SIGKILL after `graceMs`. Safe to call any number of times.
 */
export async function stopOwned(pidFile: string, match: string, graceMs = 5_000): Promise<void> {
  const pid = ownedPid(pidFile, match);
  if (pid === undefined) return;
  // A zombie (exited, not yet reaped by its parent) counts as gone.
  const running = () => isAlive(pid) && !isZombie(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (running()) {
    if (Date.now() > deadline) {
      await stopPid(pid, 1_000);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
