import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startOvs, startOvsdbServer, type DaemonHandle, type OvsInstance } from '../../../src/ovs/daemons.js';
import { OvsdbClient } from '../../../src/ovsdb/client.js';
import { decodeDatum, namedUuid } from '../../../src/ovsdb/datum.js';
import { OvsdbError, OvsdbTransactError } from '../../../src/ovsdb/errors.js';
import type { RowChange } from '../../../src/ovsdb/replica.js';
import { Vswitch, VSWITCH_DB } from '../../../src/ovsdb/vswitch.js';

const sorted = (v: unknown): unknown => (Array.isArray(v) ? [...(v as unknown[])].sort() : v);

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** `ovs-vsctl get` with the quotes OVS puts around strings removed. */
async function vget(ovs: OvsInstance, ...args: string[]): Promise<string> {
  return (await ovs.vsctl('get', ...args)).trim().replace(/^"(.*)"$/, '$1');
}

describe('OVSDB client against real ovsdb-server + ovs-vswitchd (dummy datapath)', () => {
  let dir: string;
  let ovs: OvsInstance;
  let restarted: DaemonHandle | undefined;
  let vs: Vswitch;
  const changes: RowChange[] = [];
  const clientErrors: OvsdbError[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-ovsdb-'));
    ovs = await startOvs({ dir, dummy: true });
    vs = await Vswitch.connect(ovs.dbTarget, { backoffInitialMs: 50, backoffMaxMs: 500, echoIntervalMs: 1000 });
    vs.replica.on('change', (c: RowChange) => changes.push(c));
    vs.client.on('error', (e: OvsdbError) => clientErrors.push(e));
  });
  afterAll(async () => {
    await vs?.close();
    await ovs?.vswitchd.stop();
    await ovs?.ovsdb.stop();
    await restarted?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('list_dbs and get_schema', async () => {
    expect(await vs.client.listDbs()).toContain('Open_vSwitch');
    const schema = await vs.client.getSchema(VSWITCH_DB);
    expect(schema.name).toBe('Open_vSwitch');
    expect(schema.tables.Interface.columns.ofport.type).toMatchObject({ key: { type: 'integer' }, min: 0, max: 1 });
    expect(schema.tables.Bridge.columns.ports.type.max).toBe(Infinity);
    expect(vs.replica.rows('Open_vSwitch')).toHaveLength(1);
  });

  it('uses monitor_cond_since on OVS 3.1', () => {
    expect(vs.replica.monitor?.method).toBe('monitor_cond_since');
  });

  it('ensureBridge creates br-int with fail_mode secure, OpenFlow13 and the controller', async () => {
    const target = `punix:${path.join(dir, 'br-int.ctl')}`;
    const r = await vs.ensureBridge({
      name: 'br-int',
      datapathType: 'system',
      failMode: 'secure',
      protocols: ['OpenFlow13'],
      controller: target,
      otherConfig: { 'disable-in-band': 'true' },
      externalIds: { owner: 'wyvern' },
    });
    expect(r.created).toBe(true);
    expect(await vget(ovs, 'Bridge', 'br-int', 'fail_mode')).toBe('secure');
    expect(await vget(ovs, 'Bridge', 'br-int', 'datapath_type')).toBe('system');
    expect(await vget(ovs, 'Bridge', 'br-int', 'protocols')).toBe('[OpenFlow13]');
    expect((await ovs.vsctl('get-controller', 'br-int')).trim()).toBe(target);
    expect(await vget(ovs, 'Bridge', 'br-int', 'other_config:disable-in-band')).toBe('true');
    // The replica sees it, decoded.
    await until(() => vs.bridge('br-int') !== undefined);
    const br = vs.bridge('br-int')!;
    expect(br.fail_mode).toBe('secure');
    expect(br.protocols).toEqual(['OpenFlow13']);
    expect(br.external_ids).toEqual({ owner: 'wyvern' });
    expect(br.controller.map((u) => vs.replica.get('Controller', u)?.target)).toEqual([target]);
    // The bridge's internal interface gets an ofport (LOCAL = 65534).
    expect(await vs.waitForOfport('br-int')).toBe(65534);

    // Idempotent, and converges an existing bridge.
    const target2 = 'tcp:127.0.0.1:6653';
    const again = await vs.ensureBridge({ name: 'br-int', controller: [target, target2], externalIds: { x: 'y' } });
    expect(again).toEqual({ uuid: r.uuid, created: false });
    expect((await ovs.vsctl('get-controller', 'br-int')).trim().split('\n').sort()).toEqual([target, target2].sort());
    expect(await vget(ovs, 'Bridge', 'br-int', 'external_ids:owner')).toBe('wyvern');
    expect(await vget(ovs, 'Bridge', 'br-int', 'external_ids:x')).toBe('y');
    await vs.ensureBridge({ name: 'br-int', controller: target });
    expect((await ovs.vsctl('get-controller', 'br-int')).trim()).toBe(target);
  });

  it('adds a geneve tunnel port and VM ports; the monitor sees iface-id and ofport', async () => {
    const tun = await vs.ensureTunnelPort({
      bridge: 'br-int',
      name: 'tun0',
      type: 'geneve',
      options: { remote_ip: 'flow', key: 'flow', local_ip: '192.0.2.10' },
    });
    expect(tun.created).toBe(true);
    expect(await vget(ovs, 'Interface', 'tun0', 'type')).toBe('geneve');
    expect(await vget(ovs, 'Interface', 'tun0', 'options:remote_ip')).toBe('flow');
    expect(await vget(ovs, 'Interface', 'tun0', 'options:local_ip')).toBe('192.0.2.10');
    const again = await vs.ensureTunnelPort({
      bridge: 'br-int',
      name: 'tun0',
      type: 'geneve',
      options: { remote_ip: 'flow', key: 'flow', local_ip: '192.0.2.11' },
    });
    expect(again.created).toBe(false);
    expect(await vget(ovs, 'Interface', 'tun0', 'options:local_ip')).toBe('192.0.2.11');
    await vs.ensureTunnelPort({ bridge: 'br-int', name: 'vx0', type: 'vxlan', options: { remote_ip: 'flow', key: 'flow' } });
    expect(await vget(ovs, 'Interface', 'vx0', 'type')).toBe('vxlan');

    const ofportEvents: [string, number][] = [];
    vs.on('ofport', (name: string, ofport: number) => ofportEvents.push([name, ofport]));
    await vs.addPort({ bridge: 'br-int', name: 'vm1', type: 'internal', externalIds: { 'iface-id': 'port-1' } });
    await vs.addPort({ bridge: 'br-int', name: 'vm2', type: 'internal', externalIds: { 'iface-id': 'port-2' } });
    const ofport1 = await vs.waitForOfport('vm1');
    const ofport2 = await vs.waitForOfport('vm2');
    expect(ofport1).toBeGreaterThan(0);
    expect(ofport2).toBeGreaterThan(0);
    expect(ofport1).not.toBe(ofport2);
    expect(vs.interface('vm1')).toMatchObject({ ifaceId: 'port-1', ofport: ofport1 });
    expect(Number(await vget(ovs, 'Interface', 'vm1', 'ofport'))).toBe(ofport1);
    expect(await vget(ovs, 'Interface', 'vm2', 'external_ids:iface-id')).toBe('port-2');
    expect(ofportEvents).toContainEqual(['vm1', ofport1]);
    expect(await vs.waitForOfport('tun0')).toBeGreaterThan(0);
    expect(changes.some((c) => c.type === 'insert' && c.table === 'Interface' && c.new?.name === 'vm1')).toBe(true);
  });

  it('addPort refuses a missing bridge or a duplicate port with a typed error', async () => {
    await expect(vs.addPort({ bridge: 'br-nope', name: 'x1' })).rejects.toThrow(/bridge br-nope does not exist/);
    await expect(vs.addPort({ bridge: 'br-int', name: 'vm1' })).rejects.toThrow(/port vm1 already exists/);
  });

  it('deletePort: the monitor sees the port and interface go', async () => {
    const gone: string[] = [];
    vs.on('interface', (c: RowChange) => {
      if (c.type === 'delete') gone.push(String(c.old?.name));
    });
    expect(await vs.deletePort({ bridge: 'br-int', name: 'vm2' })).toBe(true);
    await until(() => vs.interface('vm2') === undefined && vs.port('vm2') === undefined);
    expect(gone).toContain('vm2');
    expect((await ovs.vsctl('list-ports', 'br-int')).split('\n')).not.toContain('vm2');
    expect(await vs.deletePort({ bridge: 'br-int', name: 'vm2' })).toBe(false);
  });

  it('transaction errors come back typed', async () => {
    // Two bridges with the same name in one transaction: a commit-time constraint violation
    // (Bridge's name index). RFC 7047 reports it as an extra result after the operations.
    const err = await vs
      .transact([
        { op: 'insert', table: 'Bridge', row: { name: 'dup' }, uuidName: 'b1' },
        { op: 'insert', table: 'Bridge', row: { name: 'dup' }, uuidName: 'b2' },
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', [namedUuid('b1'), namedUuid('b2')]]] },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbTransactError);
    const te = err as OvsdbTransactError;
    expect(te.error).toBe('constraint violation');
    expect(te.opIndex).toBe(3);
    expect(te.op).toBeUndefined();
    expect(te.details).toMatch(/dup/);

    // A per-operation error names its operation.
    const bad = await vs
      .transact([
        { op: 'comment', comment: 'ok' },
        { op: 'insert', table: 'Bridge', row: { name: 'b', fail_mode: 'bogus' } },
      ])
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OvsdbTransactError);
    expect((bad as OvsdbTransactError).opIndex).toBe(1);
    expect((bad as OvsdbTransactError).error).toBe('constraint violation');
    expect((bad as OvsdbTransactError).op).toMatchObject({ op: 'insert', table: 'Bridge' });
  });

  it('is safe with a concurrent writer: two clients ensure the same bridge at once', async () => {
    const other = await Vswitch.connect(ovs.dbTarget, { reconnect: false });
    try {
      const [a, b] = await Promise.all([
        vs.ensureBridge({ name: 'br-race', externalIds: { by: 'a' } }),
        other.ensureBridge({ name: 'br-race', externalIds: { by2: 'b' } }),
      ]);
      expect(a.uuid).toBe(b.uuid);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      expect((await ovs.vsctl('list-br')).split('\n').filter((x) => x === 'br-race')).toHaveLength(1);
      expect(await vget(ovs, 'Bridge', 'br-race', 'external_ids:by')).toBe('a');
      expect(await vget(ovs, 'Bridge', 'br-race', 'external_ids:by2')).toBe('b');
      // Concurrent port additions to the same bridge do not clobber each other (mutate insert).
      await Promise.all([
        vs.addPort({ bridge: 'br-race', name: 'r1', type: 'internal' }),
        other.addPort({ bridge: 'br-race', name: 'r2', type: 'internal' }),
      ]);
      expect((await ovs.vsctl('list-ports', 'br-race')).trim().split('\n').sort()).toEqual(['r1', 'r2']);
      await ovs.vsctl('del-br', 'br-race');
    } finally {
      await other.close();
    }
  });

  it('connects over tcp:IP:PORT', async () => {
    const port = await freePort();
    await run('ovs-appctl', ['-t', path.join(dir, 'ovsdb-server.ctl'), 'ovsdb-server/add-remote', `ptcp:${port}:127.0.0.1`]);
    const c = await OvsdbClient.connect(`tcp:127.0.0.1:${port}`, { reconnect: false });
    try {
      expect(await c.listDbs()).toContain('Open_vSwitch');
    } finally {
      await c.close();
    }
  });

  it('answers the server echo and sends its own', async () => {
    await expect(vs.client.echo()).resolves.toBeUndefined();
    // Server → client: a TCP manager with a 1 s inactivity probe. ovsdb-server echoes an idle
    // client and drops it when the echo goes unanswered; a raw socket that never answers is the
    // control (it must be probed and dropped), our client with its own echo off must stay.
    const port = await freePort();
    const ctl = path.join(dir, 'ovsdb-server.ctl');
    await ovs.vsctl('--', '--id=@m', 'create', 'Manager', `target="ptcp:${port}:127.0.0.1"`, 'inactivity_probe=1000',
      '--', 'add', 'Open_vSwitch', '.', 'manager_options', '@m');
    await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/add-remote', 'db:Open_vSwitch,Open_vSwitch,manager_options']);
    const answering = await OvsdbClient.connect(`tcp:127.0.0.1:${port}`, { reconnect: false, echoIntervalMs: 0 });
    let answeringDrops = 0;
    answering.on('disconnect', () => answeringDrops++);
    const silent = net.connect(port, '127.0.0.1');
    let silentHeard = '';
    silent.on('data', (d: Buffer) => (silentHeard += d.toString()));
    try {
      const silentClosedAfter = await new Promise<number>((resolve, reject) => {
        const t0 = Date.now();
        silent.on('close', () => resolve(Date.now() - t0));
        silent.on('error', reject);
      });
      expect(silentHeard, 'the server probed the silent client').toMatch(/"method":"echo"/);
      expect(silentClosedAfter).toBeLessThan(10_000);
      // The answering client was idle just as long: still connected, and still served.
      expect(answeringDrops, 'the server dropped our client: its echo went unanswered').toBe(0);
      expect(answering.state).toBe('connected');
      expect(await answering.listDbs()).toContain('Open_vSwitch');
    } finally {
      silent.destroy();
      await answering.close();
      await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/remove-remote', 'db:Open_vSwitch,Open_vSwitch,manager_options']);
      await ovs.vsctl('del-manager');
    }
    // Client → server: over the unix socket the server never probes; a client echoing every
    // 200 ms drops its own connection after 400 ms without input, unless its echoes are answered.
    const echoing = await OvsdbClient.connect(ovs.dbTarget, { reconnect: false, echoIntervalMs: 200 });
    let echoingDrops = 0;
    echoing.on('disconnect', () => echoingDrops++);
    echoing.on('error', () => undefined);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // idle: the behaviour under test is timing
      expect(echoingDrops, 'our client dropped itself: its echoes got no answer').toBe(0);
      expect(echoing.state).toBe('connected');
    } finally {
      await echoing.close();
    }
  });

  it('reconnects after ovsdb-server restarts; the monitor is back and the replica equals the db', async () => {
    let connects = 0;
    let disconnects = 0;
    vs.client.on('connect', () => connects++);
    vs.client.on('disconnect', () => disconnects++);
    const before = changes.length;
    await ovs.ovsdb.stop();
    await until(() => disconnects === 1);
    // A write while the server is down: done directly on the db file is not possible while
    // ovsdb-server owns it, so restart first, then write through ovs-vsctl.
    restarted = (await startOvsdbServer({ dir })).handle;
    await until(() => connects === 1);
    // The replica is rebuilt from the fresh initial state and listeners get the difference, not
    // a flush: no row was deleted or re-inserted, and the only modifications are of ephemeral
    // columns (not persisted by ovsdb-server, e.g. Bridge.datapath_id, until vswitchd rewrites them).
    const after = changes.slice(before);
    expect(after.filter((c) => c.type !== 'modify')).toEqual([]);
    const schema = vs.replica.state.schema;
    for (const c of after) {
      const norm = (v: unknown) => JSON.stringify(Array.isArray(v) ? [...v].sort() : v);
      const changed = Object.keys(c.new!).filter((k) => norm(c.new![k]) !== norm(c.old![k]));
      for (const k of changed) expect(schema.tables[c.table].columns[k]?.ephemeral, `${c.table}.${k}`).toBe(true);
    }

    await vs.addPort({ bridge: 'br-int', name: 'vm3', type: 'internal', externalIds: { 'iface-id': 'port-3' } });
    await ovs.vsctl('add-port', 'br-int', 'vm4', '--', 'set', 'Interface', 'vm4', 'type=internal', 'external_ids:iface-id=port-4');
    await until(() => vs.interface('vm4') !== undefined);
    expect(vs.interface('vm4')?.ifaceId).toBe('port-4');
    expect(clientErrors.every((e) => e.name === 'OvsdbConnectionError')).toBe(true);
    expect(await vs.waitForOfport('vm3')).toBeGreaterThan(0);
    expect(await vs.waitForOfport('vm4')).toBeGreaterThan(0);

    // The replica equals the database contents (compare with a fresh select over a new client).
    const fresh = await OvsdbClient.connect(ovs.dbTarget, { reconnect: false });
    try {
      for (const table of ['Bridge', 'Port', 'Interface', 'Controller']) {
        const cols = vs.replica.state.columnsOf(table).filter((c) => !['ofport', 'link_state', 'admin_state', 'mac_in_use', 'is_connected'].includes(c));
        const { results } = await fresh.transact(VSWITCH_DB, [{ op: 'select', table, where: [], columns: ['_uuid', ...cols] }]);
        const dbRows = results[0].rows!;
        const mine = vs.replica.state.wireRows(table);
        expect([...mine.keys()].sort()).toEqual(dbRows.map((r) => (r._uuid as [string, string])[1]).sort());
        for (const r of dbRows) {
          const u = (r._uuid as [string, string])[1];
          const decodedDb = vs.replica.state.get(table, u)!;
          for (const c of cols) {
            const schemaType = vs.replica.state.schema.tables[table].columns[c].type;
            expect(sorted(decodeDatum(r[c], schemaType)), `${table}.${c}`).toEqual(sorted(decodedDb[c]));
          }
        }
      }
    } finally {
      await fresh.close();
    }
  });
});
