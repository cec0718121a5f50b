/**
 * Plumbing for bench/dataplane.ts outside the sandbox: a private "chassis-like" OVS (userspace
 * datapath, its own namespace) with a bridge switched by `NORMAL`, namespaces standing in for
 * VMs, a Linux namespace router, and iperf3 runs. Every name carries the run's tag; `close()`
 * removes exactly what was made.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startOvs, type OvsInstance } from '../../src/ovs/daemons.js';

const execFileP = promisify(execFile);

export async function sh(cmd: string, args: readonly string[], netns?: string, timeoutMs = 60_000): Promise<string> {
  const [c, a] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, [...args]];
  const { stdout } = await execFileP(c, a, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export interface IperfResult {
  readonly gbps: number;
  readonly retransmits: number;
}

/** One iperf3 TCP run from namespace `from` (source address `bind` if given) to `toIp` (a server must listen there). */
export async function iperf(from: string, toIp: string, seconds: number, bind?: string): Promise<IperfResult> {
  const args = ['-c', toIp, '-t', String(seconds), '-J', '--connect-timeout', '3000', ...(bind ? ['-B', bind] : [])];
  const out = await sh('iperf3', args, from, (seconds + 30) * 1000);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } } };
  return { gbps: Math.round(j.end.sum_received.bits_per_second / 1e7) / 100, retransmits: j.end.sum_sent.retransmits ?? 0 };
}

export class PlainNet {
  readonly ovsNs: string;
  private readonly namespaces: string[] = [];
  private readonly servers: ChildProcess[] = [];
  ovs?: OvsInstance;

  constructor(
    readonly tag: string,
    private readonly dir: string,
    private readonly mtu: number,
  ) {
    this.ovsNs = `${tag}-ovs`;
  }

  private async netns(name: string): Promise<string> {
    this.namespaces.push(name);
    await sh('ip', ['netns', 'add', name]);
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** The OVS namespace, its daemons and bridge br0 (datapath netdev, fail-mode standalone: NORMAL). */
  async start(): Promise<void> {
    await this.netns(this.ovsNs);
    mkdirSync(this.dir, { recursive: true });
    this.ovs = await startOvs({ dir: this.dir, netns: this.ovsNs });
    await this.ovs.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'protocols=OpenFlow10,OpenFlow13');
    await this.ovs.ofctl('add-flow', 'br0', 'priority=0,actions=NORMAL');
  }

  /** A veth `inner` (in `ns`) ↔ `outer` (port of br0), offload off on both ends, MTU set. */
  async plug(ns: string, inner: string, outer: string): Promise<void> {
    await sh('ip', ['-n', ns, 'link', 'add', inner, 'type', 'veth', 'peer', 'name', outer, 'netns', this.ovsNs]);
    for (const [n, i] of [[ns, inner], [this.ovsNs, outer]] as const) {
      await sh('ip', ['-n', n, 'link', 'set', i, 'mtu', String(this.mtu), 'up']);
      await sh('ethtool', ['-K', i, 'tx', 'off'], n);
    }
    await this.ovs!.vsctl('add-port', 'br0', outer);
  }

  /** A "VM": namespace with eth0 on br0, address `cidr`, default route via `gw` if given. */
  async vm(name: string, cidr: string, gw?: string): Promise<string> {
    const ns = await this.netns(`${this.tag}-${name}`);
    await this.plug(ns, 'eth0', `${this.tag}${name}`);
    await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    if (gw) await sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', gw]);
    return ns;
  }

  /** A DVR-style Linux router: a namespace with one leg per subnet on br0, ip_forward=1. */
  async router(name: string, legs: readonly string[]): Promise<string> {
    const ns = await this.netns(`${this.tag}-${name}`);
    for (const [i, cidr] of legs.entries()) {
      await this.plug(ns, `leg${i}`, `${this.tag}${name}${i}`);
      await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', `leg${i}`]);
    }
    await sh('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], ns);
    return ns;
  }

  /** iperf3 server in `ns` (stopped by close()). */
  iperfServer(ns: string): void {
    const p = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s'], { stdio: 'ignore' });
    this.servers.push(p);
  }

  async close(): Promise<void> {
    for (const p of this.servers) if (p.exitCode === null) p.kill('SIGTERM');
    await this.ovs?.vsctl('--if-exists', 'del-br', 'br0').catch(() => undefined);
    await this.ovs?.stop().catch(() => undefined);
    for (const ns of this.namespaces.reverse()) await sh('ip', ['netns', 'delete', ns]).catch(() => undefined);
  }
}

export function ovsDirOf(root: string): string {
  return path.join(root, 'plain-ovs');
}
