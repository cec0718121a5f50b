/**
 * The sandbox state file (`DIR/state.json`): every namespace, veth, process pid file, directory
 * and file the sandbox makes is recorded here BEFORE it is created, so `down` can remove
 * everything even after `up` crashed or was killed -9 half way. Writes are atomic (temp file +
 * rename) and serialised across processes by a lock file, so `vm create` commands may run in
 * parallel.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../ovs/daemons.js';
import type { ChassisRole } from './names.js';

export const STATE_FILE = 'state.json';

/** Something the sandbox made and `down` must remove. */
export type Resource =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'netns'; readonly name: string }
  /** A veth end living in `netns` (removing its namespace removes it too). */
  | { readonly kind: 'link'; readonly name: string; readonly netns: string }
  /**
   * A process known by its pid file. `match` must occur in its /proc/PID/cmdline for `down` to
   * signal it, so a pid reused after a crash is never killed by mistake.
   */
  | { readonly kind: 'process'; readonly name: string; readonly pidFile: string; readonly match: string };

export interface ChassisInfo {
  readonly name: string;
  readonly role: ChassisRole;
  readonly netns: string;
  readonly tunnelIp: string;
  /** OVS run/db/log directory of this chassis. */
  readonly ovsDir: string;
  /** `DIR/NAME/db.sock`. */
  readonly dbSocket: string;
  /** Chassis-side underlay veth, a port of br-phy. */
  readonly underlayLink: string;
  /** Chassis-side veth on the physical network `public`, a port of br-ex (absent in older states). */
  readonly publicLink?: string;
}

/** The outside world: a namespace on the physical network `public`. */
export interface OutsideInfo {
  readonly netns: string;
  /** Its interface on `public` (inside the namespace). */
  readonly iface: string;
  /** The `public` Linux bridge (in the fabric namespace) and the fabric namespace. */
  readonly bridge: string;
  readonly fabricNetns: string;
  /** Addresses it holds, CIDR: the upstream router on `public`, the internet host on lo. */
  readonly routerAddress: string;
  readonly hostAddress: string;
}

export interface VmInfo {
  readonly name: string;
  readonly chassis: string;
  readonly netns: string;
  /** Chassis-side veth end, a port of br-int. */
  readonly hostLink: string;
  readonly portId: string;
  readonly mac: string;
  readonly mtu: number;
  readonly networkId?: string;
  /** Address the DHCP client got (or the static one a test gave), CIDR notation. */
  readonly address?: string;
}

export interface ProcessInfo {
  readonly name: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** Chassis the process serves (controllers). */
  readonly chassis?: string;
  /** Its Prometheus endpoint, `http://127.0.0.1:PORT/metrics` (server and controllers). */
  readonly metricsUrl?: string;
  /** The command it was started with (`chassis start` runs a controller again with it). */
  readonly launch?: { readonly file: string; readonly args: readonly string[] };
}

export interface SandboxData {
  readonly version: 1;
  readonly tag: string;
  /** Absolute sandbox directory. */
  readonly dir: string;
  readonly createdAt: string;
  /** Whether `up` created `dir` itself (then `down` removes it whole). */
  createdDir: boolean;
  resources: Resource[];
  chassis: ChassisInfo[];
  vms: VmInfo[];
  processes: ProcessInfo[];
  /** Neutron API endpoint once the server is up. */
  apiUrl?: string;
  /** `--store` value given to the server. */
  store?: string;
  l3Mode?: string;
  /** The outside namespace on `public`, once made. */
  outside?: OutsideInfo;
  nextVmIndex: number;
}

export class SandboxStateError extends Error {
  override readonly name = 'SandboxStateError';
}

export function resourceKey(r: Resource): string {
  switch (r.kind) {
    case 'dir':
    case 'file':
      return `${r.kind}:${r.path}`;
    case 'netns':
      return `netns:${r.name}`;
    case 'link':
      return `link:${r.netns}/${r.name}`;
    case 'process':
      return `process:${r.pidFile}`;
  }
}

const LOCK_TIMEOUT_MS = 15_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class SandboxState {
  private constructor(
    readonly file: string,
    private current: SandboxData,
  ) {}

  static path(dir: string): string {
    return path.join(path.resolve(dir), STATE_FILE);
  }

  static exists(dir: string): boolean {
    return existsSync(SandboxState.path(dir));
  }

  /**
   * Start a new state file in `dir` (created if missing, and then recorded as ours).
   * Fails if a sandbox already lives there.
   */
  static create(dir: string, tag: string): SandboxState {
    const abs = path.resolve(dir);
    const createdDir = !existsSync(abs);
    mkdirSync(abs, { recursive: true });
    const file = SandboxState.path(abs);
    const data: SandboxData = {
      version: 1,
      tag,
      dir: abs,
      createdAt: new Date().toISOString(),
      createdDir,
      resources: [],
      chassis: [],
      vms: [],
      processes: [],
      nextVmIndex: 1,
    };
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch {
      throw new SandboxStateError(`a sandbox already exists in ${abs} (run: wyvern sandbox down --dir ${abs})`);
    }
    writeSync(fd, JSON.stringify(data, null, 2) + '\n');
    closeSync(fd);
    return new SandboxState(file, data);
  }

  /** Load the state of the sandbox in `dir`, or undefined when there is none. */
  static load(dir: string): SandboxState | undefined {
    const file = SandboxState.path(dir);
    if (!existsSync(file)) return undefined;
    return new SandboxState(file, SandboxState.read(file));
  }

  private static read(file: string): SandboxData {
    let data: SandboxData;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as SandboxData;
    } catch (err) {
      throw new SandboxStateError(`unreadable sandbox state ${file}: ${(err as Error).message}`);
    }
    if (data.version !== 1) throw new SandboxStateError(`unknown sandbox state version in ${file}`);
    return data;
  }

  /** The state as last read or written by this process. */
  get data(): Readonly<SandboxData> {
    return this.current;
  }

  get dir(): string {
    return this.current.dir;
  }

  get tag(): string {
    return this.current.tag;
  }

  /** Re-read the file (another process may have changed it). */
  refresh(): Readonly<SandboxData> {
    this.current = SandboxState.read(this.file);
    return this.current;
  }

  /** Under the lock: re-read, apply `change`, write atomically. Returns what `change` returns. */
  update<T>(change: (data: SandboxData) => T): T {
    const unlock = this.lock();
    try {
      const data = SandboxState.read(this.file);
      const result = change(data);
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
      renameSync(tmp, this.file);
      this.current = data;
      return result;
    } finally {
      unlock();
    }
  }

  /** Record a resource before creating it (no-op if already recorded). */
  record(resource: Resource): void {
    const key = resourceKey(resource);
    this.update((d) => {
      if (!d.resources.some((r) => resourceKey(r) === key)) d.resources.push(resource);
    });
  }

  /** Forget a resource once it is gone. */
  forget(resource: Resource): void {
    const key = resourceKey(resource);
    this.update((d) => {
      d.resources = d.resources.filter((r) => resourceKey(r) !== key);
    });
  }

  /** Remove the state file itself (the very last step of `down`). */
  delete(): void {
    rmSync(this.file, { force: true });
    rmSync(`${this.file}.lock`, { force: true });
  }

  private lock(): () => void {
    const lockFile = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    while (true) {
      try {
        const fd = openSync(lockFile, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => rmSync(lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A lock left by a process that died is stale: take it over.
      let holder = 0;
      try {
        holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      } catch {
        // released between our open and read: try again
      }
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new SandboxStateError(`sandbox state is locked by pid ${holder} (${lockFile})`);
      sleepSync(5);
    }
  }
}
