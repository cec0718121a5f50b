/**
 * High-level Open_vSwitch database helpers on top of transact and a typed replica.
 *
 * Each helper is one transaction. Preconditions the helper relied on (a bridge exists, a port
 * does not, a bridge's controller set is what the replica said) are asserted inside the
 * transaction with `wait` (timeout 0), so a concurrent writer makes the transaction fail
 * cleanly instead of clobbering its change; the helper then retries from the fresh replica.
 *
 * Events: 'interface' (c: RowChange<InterfaceRow>), 'ofport' (name: string, ofport: number) when
 * ovs-vswitchd assigns (or changes) an Interface's OpenFlow port number.
 */
import { EventEmitter } from 'node:events';
import { OvsdbClient, type OvsdbClientOptions } from './client.js';
import { namedUuid, uuid, type Atom } from './datum.js';
import { OvsdbError, OvsdbTransactError } from './errors.js';
import type { Condition, Operation, RowInput, TransactResult } from './operations.js';
import { OvsdbReplica, type InterfaceRow, type ReplicaTables, type RowChange, type VswitchTables } from './replica.js';

export const VSWITCH_DB = 'Open_vSwitch';

/** The columns the replica monitors (Interface statistics deliberately left out: they churn). */
export const VSWITCH_COLUMNS: ReplicaTables = {
  Open_vSwitch: ['bridges', 'cur_cfg', 'next_cfg', 'external_ids', 'other_config', 'ovs_version', 'datapath_types', 'iface_types'],
  Bridge: ['name', 'ports', 'controller', 'fail_mode', 'protocols', 'datapath_type', 'datapath_id', 'other_config', 'external_ids'],
  Port: ['name', 'interfaces', 'tag', 'other_config', 'external_ids'],
  Interface: [
    'name',
    'type',
    'options',
    'external_ids',
    'other_config',
    'ofport',
    'ofport_request',
    'mac_in_use',
    'error',
    'admin_state',
    'link_state',
  ],
  Controller: ['target', 'is_connected', 'role', 'connection_mode', 'other_config', 'external_ids'],
};

/** A precondition or lookup failure of a helper (bridge missing, port exists, ofport failed...). */
export class VswitchError extends OvsdbError {}

export interface EnsureBridgeOptions {
  readonly name: string;
  /** e.g. 'system', 'netdev'; left unchanged when undefined (OVS default: system). */
  readonly datapathType?: string;
  readonly failMode?: 'secure' | 'standalone';
  readonly protocols?: readonly string[];
  /** `punix:PATH`, `unix:PATH`, `tcp:IP:PORT`, `ptcp:PORT`...; the bridge's controller set becomes exactly these. */
  readonly controller?: string | readonly string[];
  /** Keys merged into other_config (other keys are kept). */
  readonly otherConfig?: Record<string, string>;
  /** Keys merged into external_ids (other keys are kept). */
  readonly externalIds?: Record<string, string>;
}

export interface AddPortOptions {
  readonly bridge: string;
  readonly name: string;
  /** Interface type: '' (system), 'internal', 'geneve', 'vxlan', 'patch', ... */
  readonly type?: string;
  readonly options?: Record<string, string>;
  /** Interface external_ids (e.g. `{'iface-id': neutronPortId}`). */
  readonly externalIds?: Record<string, string>;
}

export interface EnsureTunnelPortOptions {
  readonly bridge: string;
  readonly name: string;
  /** A tunnel port, or a patch port (options `{peer: NAME}`). */
  readonly type: 'geneve' | 'vxlan' | 'patch';
  /** e.g. `{remote_ip: 'flow', key: 'flow', local_ip: '192.0.2.1'}` */
  readonly options: Record<string, string>;
}

export interface InterfaceInfo {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  /** `external_ids:iface-id` (the Neutron port id), if set. */
  readonly ifaceId: string | undefined;
  /** The OpenFlow port number, once ovs-vswitchd has assigned one (undefined before; -1 on failure). */
  readonly ofport: number | undefined;
  readonly externalIds: Record<string, string>;
  readonly error: string | undefined;
}

function toInfo(r: InterfaceRow): InterfaceInfo {
  return {
    uuid: r._uuid,
    name: r.name,
    type: r.type,
    ifaceId: r.external_ids['iface-id'],
    ofport: r.ofport,
    externalIds: r.external_ids,
    error: r.error,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Merge keys into a map column: delete the keys, then insert the new pairs (mutate semantics). */
function mergeMap(table: string, where: readonly Condition[], column: string, kv: Record<string, string>): Operation[] {
  const keys = Object.keys(kv);
  if (keys.length === 0) return [];
  return [
    { op: 'mutate', table, where, mutations: [[column, 'delete', keys]] },
    { op: 'mutate', table, where, mutations: [[column, 'insert', kv]] },
  ];
}

export class Vswitch extends EventEmitter {
  readonly client: OvsdbClient;
  readonly replica: OvsdbReplica<VswitchTables>;
  private readonly ownsClient: boolean;

  private constructor(client: OvsdbClient, replica: OvsdbReplica<VswitchTables>, ownsClient: boolean) {
    super();
    this.client = client;
    this.replica = replica;
    this.ownsClient = ownsClient;
    replica.on('change', (c: RowChange) => {
      if (c.table !== 'Interface') return;
      const ic = c as RowChange<InterfaceRow>;
      this.emit('interface', ic);
      const now = ic.new?.ofport;
      if (ic.new && now !== undefined && now !== ic.old?.ofport) this.emit('ofport', ic.new.name, now);
    });
  }

  /** Connect to `unix:PATH` / `tcp:IP:PORT` and start the replica. */
  static async connect(target: string, opts: OvsdbClientOptions = {}): Promise<Vswitch> {
    const client = await OvsdbClient.connect(target, opts);
    try {
      return await Vswitch.attach(client, true);
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /** Start the replica on an existing client. */
  static async attach(client: OvsdbClient, ownsClient = false): Promise<Vswitch> {
    const replica = await OvsdbReplica.start<VswitchTables>(client, VSWITCH_DB, VSWITCH_COLUMNS);
    return new Vswitch(client, replica, ownsClient);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
    else await this.replica.stop();
  }

  transact(ops: readonly Operation[]): Promise<TransactResult> {
    return this.client.transact(VSWITCH_DB, ops);
  }

  bridge(name: string) {
    return this.replica.find('Bridge', 'name', name);
  }

  port(name: string) {
    return this.replica.find('Port', 'name', name);
  }

  interface(name: string): InterfaceInfo | undefined {
    const r = this.replica.find('Interface', 'name', name);
    return r ? toInfo(r) : undefined;
  }

  interfaces(): InterfaceInfo[] {
    return this.replica.rows('Interface').map(toInfo);
  }

  /** Retry ensureBridge when its `wait` precondition failed because of a concurrent writer. */
  private async retrying<R>(fn: () => Promise<R>): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // A `wait` precondition failed: someone else changed the bridge; retry from the replica.
        if (attempt < 4 && err instanceof OvsdbTransactError && err.error === 'timed out') {
          await sleep(50 * (attempt + 1));
          continue;
        }
        throw err;
      }
    }
  }

  /** Create the bridge if missing, else bring it to the given settings. One transaction. */
  ensureBridge(o: EnsureBridgeOptions): Promise<{ uuid: string; created: boolean }> {
    return this.retrying(() => this.ensureBridgeOnce(o));
  }

  private async ensureBridgeOnce(o: EnsureBridgeOptions): Promise<{ uuid: string; created: boolean }> {
    const targets = o.controller === undefined ? undefined : typeof o.controller === 'string' ? [o.controller] : [...o.controller];
    const failMode = o.failMode ?? 'secure';
    const protocols = o.protocols ?? ['OpenFlow13'];
    const br = this.bridge(o.name);
    const byName = [['name', '==', o.name]] as [string, '==', Atom][];
    if (!br) {
      const ops: Operation[] = [
        { op: 'wait', table: 'Bridge', where: byName, columns: ['name'], until: '==', rows: [], timeout: 0 },
        { op: 'insert', table: 'Interface', row: { name: o.name, type: 'internal' }, uuidName: 'iface' },
        { op: 'insert', table: 'Port', row: { name: o.name, interfaces: [namedUuid('iface')] }, uuidName: 'port' },
      ];
      (targets ?? []).forEach((target, i) =>
        ops.push({ op: 'insert', table: 'Controller', row: { target }, uuidName: `ctl${i}` }),
      );
      const row: Record<string, RowInput[string]> = {
        name: o.name,
        ports: [namedUuid('port')],
        fail_mode: failMode,
        protocols: [...protocols],
        controller: (targets ?? []).map((_, i) => namedUuid(`ctl${i}`)),
      };
      if (o.datapathType !== undefined) row.datapath_type = o.datapathType;
      if (o.otherConfig) row.other_config = o.otherConfig;
      if (o.externalIds) row.external_ids = o.externalIds;
      ops.push({ op: 'insert', table: 'Bridge', row, uuidName: 'br' });
      ops.push({ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', [namedUuid('br')]]] });
      ops.push({ op: 'comment', comment: `wyvern: ensure bridge ${o.name}` });
      const res = await this.transact(ops);
      return { uuid: res.namedUuids.br, created: true };
    }
    const byUuid = [['_uuid', '==', uuid(br._uuid)]] as [string, '==', Atom][];
    const row: Record<string, RowInput[string]> = { fail_mode: failMode, protocols: [...protocols] };
    if (o.datapathType !== undefined) row.datapath_type = o.datapathType;
    const ops: Operation[] = [{ op: 'update', table: 'Bridge', where: byUuid, row }];
    if (targets) {
      const current = br.controller.map((u) => this.replica.get('Controller', u));
      const keep = current.filter((c) => c && targets.includes(c.target)).map((c) => c!._uuid);
      const have = new Set(current.filter((c) => c && targets.includes(c.target)).map((c) => c!.target));
      const missing = targets.filter((t) => !have.has(t));
      if (missing.length > 0 || keep.length !== br.controller.length) {
        ops.unshift({
          op: 'wait',
          table: 'Bridge',
          where: byUuid,
          columns: ['controller'],
          until: '==',
          rows: [{ controller: br.controller.map(uuid) }],
          timeout: 0,
        });
        missing.forEach((target, i) => ops.push({ op: 'insert', table: 'Controller', row: { target }, uuidName: `ctl${i}` }));
        ops.push({
          op: 'update',
          table: 'Bridge',
          where: byUuid,
          row: { controller: [...keep.map(uuid), ...missing.map((_, i) => namedUuid(`ctl${i}`))] },
        });
      }
    }
    ops.push(...mergeMap('Bridge', byUuid, 'other_config', o.otherConfig ?? {}));
    ops.push(...mergeMap('Bridge', byUuid, 'external_ids', o.externalIds ?? {}));
    await this.transact(ops);
    return { uuid: br._uuid, created: false };
  }

  /** Add a port with one interface of the same name to a bridge. Fails if the bridge is missing or the port exists. */
  async addPort(o: AddPortOptions): Promise<{ port: string; interface: string }> {
    const ops = this.addPortOps(o);
    try {
      const res = await this.transact(ops);
      return { port: res.namedUuids.port, interface: res.namedUuids.iface };
    } catch (err) {
      if (err instanceof OvsdbTransactError && err.error === 'timed out') {
        if (err.opIndex === 0) throw new VswitchError(`bridge ${o.bridge} does not exist`);
        if (err.opIndex === 1) throw new VswitchError(`port ${o.name} already exists`);
      }
      throw err;
    }
  }

  private addPortOps(o: AddPortOptions): Operation[] {
    const iface: Record<string, RowInput[string]> = { name: o.name };
    if (o.type !== undefined) iface.type = o.type;
    if (o.options) iface.options = o.options;
    if (o.externalIds) iface.external_ids = o.externalIds;
    return [
      { op: 'wait', table: 'Bridge', where: [['name', '==', o.bridge]], columns: ['name'], until: '!=', rows: [], timeout: 0 },
      { op: 'wait', table: 'Port', where: [['name', '==', o.name]], columns: ['name'], until: '==', rows: [], timeout: 0 },
      { op: 'insert', table: 'Interface', row: iface, uuidName: 'iface' },
      { op: 'insert', table: 'Port', row: { name: o.name, interfaces: [namedUuid('iface')] }, uuidName: 'port' },
      { op: 'mutate', table: 'Bridge', where: [['name', '==', o.bridge]], mutations: [['ports', 'insert', [namedUuid('port')]]] },
    ];
  }

  /** Add a Geneve/VXLAN port, or set the type and options of the existing one. */
  async ensureTunnelPort(o: EnsureTunnelPortOptions): Promise<{ port: string; interface: string; created: boolean }> {
    const port = this.port(o.name);
    const iface = this.replica.find('Interface', 'name', o.name);
    if (!port || !iface) {
      const r = await this.addPort({ bridge: o.bridge, name: o.name, type: o.type, options: o.options });
      return { ...r, created: true };
    }
    await this.transact([
      { op: 'wait', table: 'Port', where: [['name', '==', o.name]], columns: ['name'], until: '!=', rows: [], timeout: 0 },
      { op: 'update', table: 'Interface', where: [['name', '==', o.name]], row: { type: o.type, options: o.options } },
    ]);
    return { port: port._uuid, interface: iface._uuid, created: false };
  }

  /** Remove a port from a bridge (its Port and Interface rows are garbage-collected). Returns false if there was none. */
  async deletePort(o: { bridge: string; name: string }): Promise<boolean> {
    const port = this.port(o.name);
    if (!port) return false;
    const res = await this.transact([
      { op: 'mutate', table: 'Bridge', where: [['name', '==', o.bridge]], mutations: [['ports', 'delete', [uuid(port._uuid)]]] },
    ]);
    if (res.results[0]?.count !== 1) throw new VswitchError(`bridge ${o.bridge} does not exist`);
    return true;
  }

  /** Set keys of an Interface's external_ids (others kept). False if there is no such interface. */
  async setInterfaceExternalIds(name: string, ids: Record<string, string>): Promise<boolean> {
    if (!this.interface(name)) return false;
    const res = await this.transact(mergeMap('Interface', [['name', '==', name]], 'external_ids', ids));
    return (res.results[0]?.count ?? 0) > 0;
  }

  /** Resolve with the Interface's ofport once ovs-vswitchd has assigned it (> 0). */
  waitForOfport(name: string, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.interface(name);
        if (i?.ofport !== undefined && i.ofport > 0) {
          done();
          resolve(i.ofport);
          return true;
        }
        if (i?.ofport === -1) {
          done();
          reject(new VswitchError(`interface ${name} failed: ${i.error ?? 'ofport -1'}`));
          return true;
        }
        return false;
      };
      const onChange = (c: RowChange) => {
        if (c.table === 'Interface') check();
      };
      const timer = setTimeout(() => {
        done();
        reject(new VswitchError(`interface ${name}: no ofport after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.replica.off('change', onChange);
      };
      this.replica.on('change', onChange);
      check();
    });
  }
}
