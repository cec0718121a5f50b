/**
 * Wyvern on one chassis, for the side-by-side benchmark: `wyvern server` (its own process, sqlite
 * store, Neutron API over HTTP, the store service for controllers), a private ovsdb-server +
 * ovs-vswitchd (dummy datapath) and the controller in its own process
 * (wyvern-controller-child.ts, `--nb http://SERVER`), all in one directory.
 *
 * Topology and ports go through the Neutron API (one bulk POST per ≤ 500 ports; one POST per
 * port when paced); ports are bound by plugging their Interface (iface-id) in one OVSDB
 * transaction; "installed" is the controller's bundle commit + acknowledgement of the batch that
 * holds the port's classification flow (what bench/convergence.ts measures in-process).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOvs, stopPid, type OvsInstance } from '../../src/ovs/daemons.js';
import { Vswitch } from '../../src/ovsdb/vswitch.js';
import { Api, type ApiObject } from './bench-util.js';
import { CleanupScope } from './cleanup.js';
import { countFlows, Marks, subnetOf, type SystemUnderTest } from './sut.js';
import { plug, type Vif } from './vif-plug.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CHASSIS = 'hv1';

export interface WyvernOptions {
  /** Write a V8 CPU profile of the controller process into this directory (node --cpu-prof). */
  readonly cpuProfDir?: string;
  /** false: ports with port_security_enabled false (no security group, no port security). */
  readonly security?: boolean;
}

async function startServer(dir: string, scope: CleanupScope): Promise<{ proc: ChildProcess; url: string }> {
  const log = openSync(path.join(dir, 'server.log'), 'a');
  const proc = spawn(
    process.execPath,
    [...process.execArgv, path.join(ROOT, 'src/cli/main.ts'), 'server', '--listen', '127.0.0.1:0', '--store', `sqlite:${path.join(dir, 'nb.sqlite')}`, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', log], cwd: ROOT },
  );
  closeSync(log);
  scope.add(`wyvern server (pid ${proc.pid})`, () => stopPid(proc.pid!));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`wyvern server did not start (see ${dir}/server.log)`)), 60_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`wyvern server exited (${code}); see ${dir}/server.log`)));
  });
  proc.stdout!.resume();
  return { proc, url };
}

export class WyvernSystem implements SystemUnderTest {
  readonly name = 'wyvern' as const;
  private readonly marks = new Marks();
  private readonly ofports = new Marks();
  private readonly ofportIface = new Map<number, string>();
  private nets: ApiObject[] = [];
  private nextOfport = 10;
  /** Batches the controller had acknowledged, and flow/group mods in them. */
  batches = 0;
  mods = 0;
  /** Times the controller lost its OpenFlow connection to ovs-vswitchd. */
  switchLost = 0;
  private security = true;

  private constructor(
    private readonly api: Api,
    private readonly server: ChildProcess,
    private readonly ctrl: ChildProcess,
    private readonly ovs: OvsInstance,
    private readonly vswitch: Vswitch,
    private readonly scope: CleanupScope,
  ) {
    vswitch.on('ofport', (name: string, ofport: number) => {
      if (ofport > 0) this.ofports.mark(name, performance.now());
    });
    ctrl.on('message', (m: { type: string; at?: number; ofports?: number[]; mods?: number; message?: string }) => {
      if (m.type === 'acked') {
        const t = m.at! - performance.timeOrigin;
        this.batches++;
        this.mods += m.mods ?? 0;
        for (const o of m.ofports ?? []) {
          const id = this.ofportIface.get(o);
          if (id) this.marks.mark(id, t);
        }
      } else if (m.type === 'switch-lost') this.switchLost++;
      else if (m.type === 'error') process.stderr.write(`wyvern controller: ${m.message}\n`);
    });
  }

  static async start(dir: string, opts: WyvernOptions = {}): Promise<WyvernSystem> {
    const scope = new CleanupScope();
    try {
      const sys = await WyvernSystem.startIn(dir, opts, scope);
      sys.security = opts.security ?? true;
      return sys;
    } catch (err) {
      await scope.run();
      throw err;
    }
  }

  private static async startIn(dir: string, opts: WyvernOptions, scope: CleanupScope): Promise<WyvernSystem> {
    mkdirSync(dir, { recursive: true });
    const { proc: server, url } = await startServer(dir, scope);
    const ovs = await startOvs({ dir: path.join(dir, 'ovs'), dummy: true });
    scope.add('wyvern ovs', () => ovs.stop());
    const log = openSync(path.join(dir, 'controller.log'), 'a');
    const ctrl = fork(path.join(HERE, 'wyvern-controller-child.ts'), [], {
      cwd: ROOT,
      execArgv: [...process.execArgv, ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [])],
      stdio: ['ignore', log, log, 'ipc'],
      env: {
        ...process.env,
        WYVERN_BENCH_CONTROLLER: JSON.stringify({ chassis: CHASSIS, nb: url, ovsdb: ovs.dbTarget, tunnelIp: '127.0.0.1', datapathType: 'dummy', statusIntervalMs: 2000 }),
      },
    });
    closeSync(log);
    scope.add(`wyvern controller (pid ${ctrl.pid})`, () => stopChild(ctrl));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wyvern controller not ready (see ${dir}/controller.log)`)), 60_000);
      ctrl.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      ctrl.on('exit', (code) => reject(new Error(`wyvern controller exited (${code}); see ${dir}/controller.log`)));
    });
    const vswitch = await Vswitch.connect(ovs.dbTarget);
    scope.add('wyvern vswitch client', () => vswitch.close());
    return new WyvernSystem(new Api(url), server, ctrl, ovs, vswitch, scope);
  }

  async buildTopology(networks: number): Promise<void> {
    const router = await this.api.create('router', { name: 'r1' });
    for (let i = 0; i < networks; i++) {
      const s = subnetOf(i);
      const net = await this.api.create('network', { name: `net${i}` });
      const sub = await this.api.create('subnet', { network_id: net.id, cidr: s.cidr, gateway_ip: s.gateway, ip_version: 4 });
      await this.api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sub.id });
      this.nets.push(net);
    }
  }

  async createPorts(networks: readonly number[]): Promise<Vif[]> {
    const body = (net: number): Record<string, unknown> => ({
      network_id: this.nets[net].id,
      'binding:host_id': CHASSIS,
      device_owner: 'compute:nova',
      device_id: randomUUID(),
      ...(this.security ? {} : { port_security_enabled: false }),
    });
    const made: ApiObject[] = [];
    if (networks.length === 1) made.push(await this.api.create('port', body(networks[0])));
    else for (let b = 0; b < networks.length; b += 500) made.push(...(await this.api.createMany('port', networks.slice(b, b + 500).map(body))));
    return made.map((p) => {
      const ofport = this.nextOfport++;
      this.ofportIface.set(ofport, p.id);
      return { name: `tap${p.id.slice(0, 11)}`, ifaceId: p.id, mac: (p.mac_address as string).toLowerCase(), ofport };
    });
  }

  plug(vifs: readonly Vif[]): Promise<void> {
    return plug(this.vswitch, 'br-int', vifs);
  }

  ofportAt(vif: Vif): Promise<number> {
    return this.ofports.when(vif.name);
  }

  installedAt(vif: Vif): Promise<number> {
    return this.marks.when(vif.ifaceId);
  }

  async flowCount(): Promise<number> {
    return countFlows(await this.ovs.ofctl('dump-flows', 'br-int'));
  }

  pids(): Readonly<Record<string, number>> {
    return { controller: this.ctrl.pid!, server: this.server.pid!, vswitchd: this.ovs.vswitchd.pid };
  }

  /** Stop the controller, the server, OVS, last started first (by pid). */
  async stop(): Promise<void> {
    await this.scope.run();
  }
}

/** Ask the controller to stop (it writes its CPU profile then), SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  if (child.connected) child.send({ type: 'stop' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
