import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsdbClient, parseTarget } from '../../../src/ovsdb/client.js';
import { OvsdbConnectionError, OvsdbError, OvsdbRpcError, OvsdbTransactError } from '../../../src/ovsdb/errors.js';
import { JsonSplitter } from '../../../src/ovsdb/framing.js';
import { OvsdbReplica, type RowChange } from '../../../src/ovsdb/replica.js';

type Msg = { method?: string; params?: unknown[]; id?: unknown; result?: unknown; error?: unknown };

/** A scriptable fake ovsdb-server on a unix socket. */
class FakeServer {
  readonly server: net.Server;
  readonly sockets: net.Socket[] = [];
  readonly received: Msg[] = [];
  connections = 0;
  handler: (m: Msg, reply: (result: unknown, error?: unknown) => void, sock: net.Socket) => void = (_m, reply) => reply({});
  constructor(readonly socketPath: string) {
    this.server = net.createServer((sock) => {
      this.connections++;
      this.sockets.push(sock);
      const sp = new JsonSplitter();
      sock.on('error', () => {});
      sock.on('data', (d) => {
        for (const r of sp.push(d)) {
          if (r.type !== 'message') continue;
          const m = r.value as Msg;
          this.received.push(m);
          if (m.method !== undefined && m.id !== null) {
            this.handler(m, (result, error = null) => sock.write(JSON.stringify({ id: m.id, result, error })), sock);
          }
        }
      });
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socketPath, r));
  }
  get last(): net.Socket {
    return this.sockets[this.sockets.length - 1];
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const SCHEMA = {
  name: 'Open_vSwitch',
  version: '1',
  tables: { Interface: { columns: { name: { type: 'string' }, ofport: { type: { key: 'integer', min: 0, max: 1 } } } } },
};
const I1 = '22222222-2222-4222-8222-222222222222';
const I2 = '33333333-3333-4333-8333-333333333333';

describe('OvsdbClient against a fake server', () => {
  let dir: string;
  let srv: FakeServer;
  let client: OvsdbClient | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-ovsdb-unit-'));
    srv = new FakeServer(path.join(dir, 'db.sock'));
    await srv.listen();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const connect = async (opts = {}) => {
    client = await OvsdbClient.connect(`unix:${srv.socketPath}`, { backoffInitialMs: 10, backoffMaxMs: 50, echoIntervalMs: 0, ...opts });
    return client;
  };

  it('parses targets', () => {
    expect(parseTarget('unix:/run/db.sock')).toEqual({ kind: 'unix', path: '/run/db.sock' });
    expect(parseTarget('tcp:127.0.0.1:6640')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6640 });
    expect(parseTarget('tcp:[::1]:6640')).toEqual({ kind: 'tcp', host: '::1', port: 6640 });
    expect(() => parseTarget('ssl:1.2.3.4:6640')).toThrow(OvsdbError);
    expect(() => parseTarget('tcp:1.2.3.4:0')).toThrow(OvsdbError);
  });

  it('sends JSON-RPC 1.0 requests and correlates replies by id', async () => {
    srv.handler = (m, reply) => setTimeout(() => reply(m.method === 'list_dbs' ? ['A', 'B'] : null), m.method === 'list_dbs' ? 20 : 0);
    const c = await connect();
    const [dbs] = await Promise.all([c.listDbs(), c.echo()]);
    expect(dbs).toEqual(['A', 'B']);
    expect(srv.received[0]).toEqual({ method: 'list_dbs', params: [], id: expect.any(Number) });
  });

  it('answers the server’s echo requests', async () => {
    const c = await connect();
    srv.last.write(JSON.stringify({ method: 'echo', params: ['ping', 1], id: 'echo' }));
    await until(() => srv.received.some((m) => m.id === 'echo'));
    expect(srv.received.find((m) => m.id === 'echo')).toEqual({ id: 'echo', result: ['ping', 1], error: null });
    expect(c.state).toBe('connected');
  });

  it('decodes transaction errors into OvsdbTransactError and rpc errors into OvsdbRpcError', async () => {
    srv.handler = (m, reply) => {
      if (m.params?.[0] === 'nope') reply(null, { error: 'unknown database', details: 'nope' });
      else if (m.params?.length === 3) reply([{ uuid: ['uuid', I1] }, {}, { error: 'constraint violation', details: 'dup' }]);
      else reply([{ count: 1 }, { error: 'timed out' }, null]);
    };
    const c = await connect();
    const e1 = await c
      .transact('db', [
        { op: 'insert', table: 'T', row: {}, uuidName: 'a' },
        { op: 'comment', comment: 'x' },
      ])
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OvsdbTransactError);
    expect(e1).toMatchObject({ opIndex: 2, op: undefined, error: 'constraint violation', details: 'dup' });
    const ops = [
      { op: 'delete', table: 'T', where: [] },
      { op: 'wait', table: 'T', where: [], columns: ['a'], until: '==', rows: [], timeout: 0 },
      { op: 'comment', comment: 'x' },
    ] as const;
    const e2 = await c.transact('db', ops).catch((e: unknown) => e);
    expect(e2).toMatchObject({ opIndex: 1, op: ops[1], error: 'timed out', details: undefined });
    const e3 = await c.transact('nope', []).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(OvsdbRpcError);
    expect((e3 as OvsdbRpcError).error).toBe('unknown database');
  });

  it('returns named uuids of a successful transaction', async () => {
    srv.handler = (_m, reply) => reply([{ uuid: ['uuid', I1] }, { count: 2 }]);
    const c = await connect();
    const r = await c.transact('db', [
      { op: 'insert', table: 'T', row: {}, uuidName: 'x' },
      { op: 'mutate', table: 'T', where: [], mutations: [] },
    ]);
    expect(r).toEqual({ results: [{ uuid: I1 }, { count: 2 }], namedUuids: { x: I1 } });
  });

  it('survives malformed input: typed error event, connection reset, reconnect', async () => {
    const c = await connect();
    const errors: OvsdbError[] = [];
    c.on('error', (e: OvsdbError) => errors.push(e));
    for (const bad of ['garbage', '{"id":', '"str"', '{"id":"nope","result":1,"error":null}', '{"foo":1}', '[1,2]']) {
      const before = srv.connections;
      if (bad === '{"id":') {
        srv.last.write(bad);
        srv.last.end('}');
      } else srv.last.write(bad);
      await until(() => srv.connections === before + 1 && c.state === 'connected');
    }
    expect(errors.filter((e) => !(e instanceof OvsdbConnectionError)).length).toBeGreaterThanOrEqual(5);
    srv.handler = (_m, reply) => reply(['ok']);
    expect(await c.listDbs()).toEqual(['ok']);
  });

  it('does not crash without an error listener', async () => {
    const c = await connect();
    srv.last.write('}}}');
    await until(() => srv.connections === 2 && c.state === 'connected');
  });

  it('rejects outstanding requests when the connection drops', async () => {
    srv.handler = () => {};
    const c = await connect();
    const p = c.listDbs();
    await until(() => srv.received.length === 1);
    srv.last.destroy();
    await expect(p).rejects.toBeInstanceOf(OvsdbConnectionError);
    await c.close();
    await expect(c.listDbs()).rejects.toBeInstanceOf(OvsdbConnectionError);
  });

  it('detects a dead peer with its own echo and reconnects', async () => {
    srv.handler = (m, reply) => {
      if (m.method !== 'echo') reply({});
      // echo requests are never answered: the peer is "dead"
    };
    const c = await connect({ echoIntervalMs: 40 });
    const drops: unknown[] = [];
    c.on('disconnect', (e) => drops.push(e));
    await until(() => drops.length >= 1 && srv.connections >= 2, 3000);
    expect(srv.received.some((m) => m.method === 'echo')).toBe(true);
  });

  it('falls back to monitor_cond when monitor_cond_since is unknown, and to monitor after that', async () => {
    const seen: string[] = [];
    srv.handler = (m, reply) => {
      seen.push(m.method!);
      if (m.method === 'monitor_cond_since' || (m.method === 'monitor_cond' && m.params?.[1] === 'force-plain')) reply(null, 'unknown method');
      else reply({ Interface: { [I1]: m.method === 'monitor' ? { new: { name: 'vm1' } } : { initial: { name: 'vm1' } } } });
    };
    const c = await connect();
    const evs: unknown[] = [];
    const h = await c.monitor('Open_vSwitch', { Interface: { columns: ['name'], where: [['name', '==', 'vm1']] } }, (e) => evs.push(e));
    expect(h.method).toBe('monitor_cond');
    expect(seen).toEqual(['monitor_cond_since', 'monitor_cond']);
    expect(srv.received[1].params).toEqual(['Open_vSwitch', h.id, { Interface: { columns: ['name'], where: [['name', '==', 'vm1']] } }]);
    expect(evs).toEqual([{ kind: 'initial', format: 2, full: true, method: 'monitor_cond', updates: { Interface: { [I1]: { initial: { name: 'vm1' } } } } }]);
    srv.last.write(JSON.stringify({ method: 'update2', params: [h.id, { Interface: { [I1]: { modify: { name: 'x' } } } }], id: null }));
    await until(() => evs.length === 2);
    expect(evs[1]).toEqual({ kind: 'update', format: 2, updates: { Interface: { [I1]: { modify: { name: 'x' } } } } });
    const h2 = await c.monitor('Open_vSwitch', { Interface: {} }, (e) => evs.push(e), { method: 'monitor' });
    expect(h2.method).toBe('monitor');
    await h.cancel();
    expect(srv.received.at(-1)).toMatchObject({ method: 'monitor_cancel', params: [h.id] });
  });

  it('resumes monitor_cond_since from the last txn id after a reconnect; listeners get only the changes', async () => {
    const sinceParams: unknown[] = [];
    let round = 0;
    srv.handler = (m, reply) => {
      if (m.method === 'get_schema') return reply(SCHEMA);
      if (m.method !== 'monitor_cond_since') return reply({});
      sinceParams.push(m.params?.[3]);
      round++;
      if (round === 1) reply([false, 'txn-1', { Interface: { [I1]: { initial: { name: 'vm1' } } } }]);
      else if (round === 2) reply([true, 'txn-3', { Interface: { [I2]: { insert: { name: 'vm2', ofport: 7 } } } }]);
      // round 3: the server lost its history: full state again
      else reply([false, 'txn-9', { Interface: { [I2]: { initial: { name: 'vm2', ofport: 8 } } } }]);
    };
    const c = await connect();
    const replica = await OvsdbReplica.start(c, 'Open_vSwitch', { Interface: undefined });
    const changes: RowChange[] = [];
    replica.on('change', (ch: RowChange) => changes.push(ch));
    expect(replica.monitor?.lastTxnId).toBe('txn-1');
    srv.last.write(JSON.stringify({ method: 'update3', params: [replica.monitor!.id, 'txn-2', { Interface: { [I1]: { modify: { ofport: 3 } } } }], id: null }));
    await until(() => changes.length === 1);
    expect(replica.monitor?.lastTxnId).toBe('txn-2');

    srv.last.destroy();
    await until(() => round === 2 && c.state === 'connected');
    expect(sinceParams).toEqual(['00000000-0000-0000-0000-000000000000', 'txn-2']);
    expect(changes.map((x) => `${x.type} ${x.uuid}`)).toEqual([`modify ${I1}`, `insert ${I2}`]);
    expect(replica.rows('Interface')).toHaveLength(2);

    srv.last.destroy();
    await until(() => round === 3 && c.state === 'connected');
    expect(sinceParams[2]).toBe('txn-3');
    expect(changes.slice(2).map((x) => `${x.type} ${x.uuid}`).sort()).toEqual([`delete ${I1}`, `modify ${I2}`].sort());
    expect(replica.rows('Interface')).toEqual([{ _uuid: I2, name: 'vm2', ofport: 8 }]);
  });
});
