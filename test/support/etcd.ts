/**
 * Private etcd (Debian's /usr/bin/etcd, or $ETCD_BIN) for tests and benchmarks: one member or a
 * cluster, each member with its own temp data directory and free client/peer ports. Members are
 * stopped through their own child handles, never by process name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdMember {
  private child: ChildProcess | undefined;
  private stderr = '';

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly dataDir: string,
    private readonly binary: string,
    private readonly initialCluster: string,
    private readonly token: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }
  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  spawn(): void {
    const child = spawn(
      this.binary,
      [
        '--name', this.name,
        '--data-dir', this.dataDir,
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', this.peerUrl,
        '--initial-advertise-peer-urls', this.peerUrl,
        '--initial-cluster', this.initialCluster,
        '--initial-cluster-token', this.token,
        '--initial-cluster-state', 'new',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.child = child;
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`etcd ${this.name} exited: ${this.stderr}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not ready yet
      }
      if (Date.now() > deadline) throw new Error(`etcd ${this.name} did not become healthy: ${this.stderr}`);
      await sleep(100);
    }
  }

  /** Member id and the leader id it reports (grpc-gateway `maintenance/status`). */
  async status(): Promise<{ memberId: string; leader: string }> {
    const res = await fetch(`${this.url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
    const s = (await res.json()) as { header: { member_id: string }; leader: string };
    return { memberId: s.header.member_id, leader: s.leader };
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  }
}

export class EtcdCluster {
  private constructor(
    readonly members: readonly EtcdMember[],
    private readonly root: string,
  ) {}

  static async start(size = 3, binary = process.env.ETCD_BIN ?? '/usr/bin/etcd'): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'wyvern-etcd-'));
    const ports: Array<[number, number]> = [];
    for (let i = 0; i < size; i++) ports.push([await freePort(), await freePort()]);
    const initial = ports.map(([, peer], i) => `m${i}=http://127.0.0.1:${peer}`).join(',');
    const token = `wyvern-${process.pid}-${Date.now()}`;
    const members = ports.map(([client, peer], i) => new EtcdMember(`m${i}`, client, peer, join(root, `m${i}`), binary, initial, token));
    const cluster = new EtcdCluster(members, root);
    try {
      for (const m of members) m.spawn();
      await Promise.all(members.map((m) => m.waitHealthy()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  /** The current leader among running members. */
  async leader(): Promise<EtcdMember> {
    for (const m of this.members.filter((x) => x.running)) {
      const s = await m.status().catch(() => undefined);
      if (s !== undefined && s.leader !== '0') {
        for (const c of this.members.filter((x) => x.running)) {
          const cs = await c.status().catch(() => undefined);
          if (cs?.memberId === s.leader) return c;
        }
      }
    }
    throw new Error('no etcd leader');
  }

  /** Restart a stopped member on its ports and data. */
  async restart(member: EtcdMember, downMs = 0): Promise<void> {
    await member.kill();
    if (downMs > 0) await sleep(downMs);
    member.spawn();
    await member.waitHealthy();
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill('SIGTERM')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A single-member etcd. */
export class EtcdProcess {
  private constructor(private readonly cluster: EtcdCluster) {}

  static async start(binary?: string): Promise<EtcdProcess> {
    return new EtcdProcess(await EtcdCluster.start(1, binary));
  }

  get url(): string {
    return this.cluster.members[0].url;
  }
  get pid(): number | undefined {
    return this.cluster.members[0].pid;
  }

  /** Kill -9 and start again on the same ports and data (clients see a disconnect). */
  async restart(downMs = 0): Promise<void> {
    await this.cluster.restart(this.cluster.members[0], downMs);
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
  }
}
