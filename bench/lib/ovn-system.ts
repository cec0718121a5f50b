/**
 * OVN 23.03 (Debian's ovn-central + ovn-host) on one chassis, for the side-by-side benchmark:
 * NB and SB ovsdb-servers, ovn-northd, and a private ovsdb-server + ovs-vswitchd (dummy
 * datapath, as OVN's own test suite runs it) with ovn-controller, all in one directory and
 * stopped by their pid files.
 *
 * The topology and the ports are written to the NB database the way Neutron's OVN driver does
 * (ovsdbapp: JSON-RPC transactions on a long-lived connection): a Logical_Router with one
 * Logical_Router_Port per network, a Logical_Switch per network with its router port, DHCP_Options
 * per subnet, the default security group as a Port_Group with Neutron's four allow-related ACLs
 * (egress IPv4/IPv6, ingress from the group itself via northd's `$pg_ip4/$pg_ip6` address sets),
 * `neutron_pg_drop` with its two drop ACLs, and per port a Logical_Switch_Port with
 * addresses/port_security "MAC IP", requested-chassis and dhcpv4_options, added to both groups.
 * Ports are bound by plugging their Interface (iface-id) in one OVSDB transaction; "installed"
 * is ovn-controller's `external_ids:ovn-installed=true` on that Interface, which it writes once
 * the port's flows are in ovs-vswitchd (after its OpenFlow barrier).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { run, startOvs, stopPid, type OvsInstance } from '../../src/ovs/daemons.js';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { namedUuid, uuid } from '../../src/ovsdb/datum.js';
import type { Operation } from '../../src/ovsdb/operations.js';
import { Vswitch } from '../../src/ovsdb/vswitch.js';
import type { InterfaceRow, RowChange } from '../../src/ovsdb/replica.js';
import { CleanupScope } from './cleanup.js';
import { countFlows, Marks, subnetOf, until, type SystemUnderTest } from './sut.js';
import { plug, type Vif } from './vif-plug.js';

const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
const CHASSIS = 'hv1';

/** Why OVN cannot run here, or undefined when it can. */
export async function ovnMissing(): Promise<string | undefined> {
  for (const f of [NB_SCHEMA, SB_SCHEMA]) if (!existsSync(f)) return `${f} not found (apt-get install ovn-central ovn-host)`;
  for (const bin of ['ovn-northd', 'ovn-controller', 'ovn-nbctl', 'ovn-appctl']) {
    try {
      await run('sh', ['-c', `command -v ${bin}`]);
    } catch {
      return `${bin} not found (apt-get install ovn-central ovn-host)`;
    }
  }
  return undefined;
}

export async function ovnVersion(): Promise<string> {
  return (await run('ovn-controller', ['--version'])).split('\n')[0].trim();
}

export class OvnSystem implements SystemUnderTest {
  readonly name = 'ovn' as const;
  readonly switchLost = 0;
  private security = true;
  private readonly marks = new Marks();
  private readonly ofports = new Marks();
  private lsUuid: string[] = [];
  private dhcpUuid: string[] = [];
  private nextOfport = 10;
  private nextMac = 1;
  private readonly nextHost = new Map<number, number>();

  private constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly ovs: OvsInstance,
    private readonly nb: OvsdbClient,
    private readonly vswitch: Vswitch,
    private readonly daemonPids: Readonly<Record<string, number>>,
    private readonly scope: CleanupScope,
  ) {
    vswitch.on('ofport', (name: string, ofport: number) => {
      if (ofport > 0) this.ofports.mark(name, performance.now());
    });
    vswitch.on('interface', (c: RowChange<InterfaceRow>) => {
      const ids = c.new?.external_ids;
      if (ids?.['ovn-installed'] === 'true' && ids['iface-id']) this.marks.mark(ids['iface-id'], performance.now());
    });
  }

  /** With `security` false: no port security, no security group (no Port_Group, no ACL). */
  static async start(dir: string, opts: { security?: boolean } = {}): Promise<OvnSystem> {
    const scope = new CleanupScope();
    try {
      const sys = await OvnSystem.startIn(dir, scope);
      sys.security = opts.security ?? true;
      return sys;
    } catch (err) {
      await scope.run();
      throw err;
    }
  }

  private static async startIn(dir: string, scope: CleanupScope): Promise<OvnSystem> {
    mkdirSync(dir, { recursive: true });
    const ovsDir = path.join(dir, 'ovs');
    const env: NodeJS.ProcessEnv = { ...process.env, OVN_RUNDIR: dir, OVN_LOGDIR: dir, OVN_DBDIR: dir, OVN_SYSCONFDIR: dir, OVS_RUNDIR: ovsDir };
    const pids: Record<string, number> = {};
    /** Start a daemon (--detach: returns once it is up) and register its stop by pid. */
    const daemon = async (role: string, file: string, args: string[]): Promise<void> => {
      const pidFile = path.join(dir, `${role}.pid`);
      await run(file, ['--detach', '--no-chdir', `--pidfile=${pidFile}`, `--log-file=${path.join(dir, `${role}.log`)}`, ...args], { env });
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      pids[role] = pid;
      scope.add(`ovn ${role} (pid ${pid})`, () => stopPid(pid));
    };
    for (const [db, schema] of [['nb', NB_SCHEMA], ['sb', SB_SCHEMA]] as const) {
      await run('ovsdb-tool', ['create', path.join(dir, `${db}.db`), schema], { env });
      await daemon(`ovsdb-${db}`, 'ovsdb-server', [`--unixctl=${path.join(dir, `ovsdb-${db}.ctl`)}`, `--remote=punix:${path.join(dir, `${db}.sock`)}`, path.join(dir, `${db}.db`)]);
    }
    const nbSock = path.join(dir, 'nb.sock');
    const sbSock = path.join(dir, 'sb.sock');
    await daemon('northd', 'ovn-northd', [`--unixctl=${path.join(dir, 'northd.ctl')}`, `--ovnnb-db=unix:${nbSock}`, `--ovnsb-db=unix:${sbSock}`]);
    const ovs = await startOvs({ dir: ovsDir, dummy: true });
    scope.add('ovn ovs', () => ovs.stop());
    await ovs.vsctl(
      'set', 'open', '.',
      `external_ids:system-id=${CHASSIS}`,
      `external_ids:hostname=${CHASSIS}`,
      `external_ids:ovn-remote=unix:${sbSock}`,
      'external_ids:ovn-encap-type=geneve',
      'external_ids:ovn-encap-ip=127.0.0.1',
      'external_ids:ovn-bridge-datapath-type=dummy',
    );
    // ovn-controller 23.03 takes no --unixctl: its socket is OVN_RUNDIR/ovn-controller.PID.ctl.
    await daemon('ovn-controller', 'ovn-controller', [`unix:${ovs.dbSocket}`]);
    const ctl = path.join(dir, `ovn-controller.${pids['ovn-controller']}.ctl`);
    const nb = await OvsdbClient.connect(`unix:${nbSock}`);
    scope.add('ovn nb client', () => nb.close());
    const vswitch = await Vswitch.connect(ovs.dbTarget);
    scope.add('ovn vswitch client', () => vswitch.close());
    const sys = new OvnSystem(dir, env, ovs, nb, vswitch, pids, scope);
    await until(() => vswitch.bridge('br-int') !== undefined, 30_000, 'ovn-controller creates br-int');
    await until(
      async () => (await run('ovn-appctl', ['-t', ctl, 'connection-status'], { env })).trim() === 'connected',
      30_000,
      'ovn-controller connects to the SB',
    );
    await sys.nbctl('--wait=hv', 'sync');
    return sys;
  }

  private nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', [`--db=unix:${path.join(this.dir, 'nb.sock')}`, '--timeout=120', ...args], { env: this.env, timeoutMs: 130_000 });
  }

  async buildTopology(networks: number): Promise<void> {
    const ops: Operation[] = [];
    const lrps = [];
    for (let i = 0; i < networks; i++) {
      const s = subnetOf(i);
      const hex = i.toString(16).padStart(2, '0');
      ops.push({ op: 'insert', table: 'Logical_Router_Port', uuidName: `lrp${i}`, row: { name: `lrp-net${i}`, mac: `fa:16:3e:00:01:${hex}`, networks: [`${s.gateway}/24`] } });
      lrps.push(namedUuid(`lrp${i}`));
      ops.push({
        op: 'insert',
        table: 'Logical_Switch_Port',
        uuidName: `rp${i}`,
        row: { name: `rp-net${i}`, type: 'router', addresses: ['router'], options: { 'router-port': `lrp-net${i}` } },
      });
      ops.push({ op: 'insert', table: 'Logical_Switch', uuidName: `ls${i}`, row: { name: `net${i}`, ports: [namedUuid(`rp${i}`)] } });
      ops.push({
        op: 'insert',
        table: 'DHCP_Options',
        uuidName: `dhcp${i}`,
        row: {
          cidr: s.cidr,
          options: { lease_time: '43200', mtu: '1442', router: s.gateway, server_id: s.gateway, server_mac: `fa:16:3e:00:02:${hex}` },
        },
      });
    }
    ops.push({ op: 'insert', table: 'Logical_Router', row: { name: 'r1', ports: lrps } });
    const acl = (name: string, direction: string, priority: number, match: string, action: string): Operation => ({
      op: 'insert',
      table: 'ACL',
      uuidName: name,
      row: { direction, priority, match, action },
    });
    if (this.security) ops.push(
      acl('a1', 'from-lport', 1002, 'inport == @pg_default && ip4', 'allow-related'),
      acl('a2', 'from-lport', 1002, 'inport == @pg_default && ip6', 'allow-related'),
      acl('a3', 'to-lport', 1002, 'outport == @pg_default && ip4 && ip4.src == $pg_default_ip4', 'allow-related'),
      acl('a4', 'to-lport', 1002, 'outport == @pg_default && ip6 && ip6.src == $pg_default_ip6', 'allow-related'),
      { op: 'insert', table: 'Port_Group', row: { name: 'pg_default', acls: ['a1', 'a2', 'a3', 'a4'].map(namedUuid) } },
      acl('d1', 'from-lport', 1001, 'inport == @neutron_pg_drop && ip', 'drop'),
      acl('d2', 'to-lport', 1001, 'outport == @neutron_pg_drop && ip', 'drop'),
      { op: 'insert', table: 'Port_Group', row: { name: 'neutron_pg_drop', acls: ['d1', 'd2'].map(namedUuid) } },
    );
    const res = await this.nb.transact('OVN_Northbound', ops);
    this.lsUuid = Array.from({ length: networks }, (_, i) => res.namedUuids[`ls${i}`]);
    this.dhcpUuid = Array.from({ length: networks }, (_, i) => res.namedUuids[`dhcp${i}`]);
    await this.nbctl('--wait=hv', 'sync');
  }

  async createPorts(networks: readonly number[]): Promise<Vif[]> {
    const vifs: Vif[] = [];
    for (let b = 0; b < networks.length; b += 500) {
      const batch = networks.slice(b, b + 500);
      const ops: Operation[] = [];
      const byNet = new Map<number, string[]>();
      const names: string[] = [];
      batch.forEach((net, k) => {
        const id = randomUUID();
        const n = this.nextMac++;
        const mac = `fa:16:3e:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
        const host = this.nextHost.get(net) ?? 10;
        this.nextHost.set(net, host + 1);
        const ip = `${subnetOf(net).prefix}${host}`;
        ops.push({
          op: 'insert',
          table: 'Logical_Switch_Port',
          uuidName: `l${k}`,
          row: {
            name: id,
            addresses: [`${mac} ${ip}`],
            ...(this.security ? { port_security: [`${mac} ${ip}`] } : {}),
            options: { 'requested-chassis': CHASSIS },
            dhcpv4_options: uuid(this.dhcpUuid[net]),
            external_ids: { 'neutron:device_owner': 'compute:nova', 'neutron:cidrs': `${ip}/24` },
          },
        });
        byNet.set(net, [...(byNet.get(net) ?? []), `l${k}`]);
        names.push(`l${k}`);
        vifs.push({ name: `tap${id.slice(0, 11)}`, ifaceId: id, mac, ofport: this.nextOfport++ });
      });
      for (const [net, ls] of byNet) {
        ops.push({ op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', uuid(this.lsUuid[net])]], mutations: [['ports', 'insert', ls.map(namedUuid)]] });
      }
      for (const pg of this.security ? ['pg_default', 'neutron_pg_drop'] : []) {
        ops.push({ op: 'mutate', table: 'Port_Group', where: [['name', '==', pg]], mutations: [['ports', 'insert', names.map(namedUuid)]] });
      }
      await this.nb.transact('OVN_Northbound', ops);
    }
    return vifs;
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
    return countFlows(await run('ovs-ofctl', ['dump-flows', `unix:${this.ovs.mgmtSocket('br-int')}`], { env: this.env }));
  }

  pids(): Readonly<Record<string, number>> {
    const p = this.daemonPids;
    return { controller: p['ovn-controller'], northd: p.northd, nbDb: p['ovsdb-nb'], sbDb: p['ovsdb-sb'], vswitchd: this.ovs.vswitchd.pid };
  }

  /** Stop every daemon (by pid) and close the connections, last started first. */
  async stop(): Promise<void> {
    await this.scope.run();
  }
}
