/** Memory and CPU time of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

export interface ProcStats {
  /** Resident set size now, and its peak (VmHWM), MiB. */
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  /** User + system CPU time since the process started, seconds. */
  readonly cpuSeconds: number;
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux we run). */
const CLK_TCK = 100;

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return {
    rssMiB: Math.round((kib('VmRSS') / 1024) * 10) / 10,
    peakRssMiB: Math.round((kib('VmHWM') / 1024) * 10) / 10,
    cpuSeconds: Math.round((ticks / CLK_TCK) * 100) / 100,
  };
}

/** CPU seconds a process spent between two readings. */
export function cpuSince(pid: number, before: ProcStats): number {
  return Math.round((procStats(pid).cpuSeconds - before.cpuSeconds) * 100) / 100;
}
