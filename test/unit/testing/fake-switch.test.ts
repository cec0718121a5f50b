/**
 * The fake OpenFlow switch and fake SwitchDb used by the scale benchmark: a real OpenFlowChannel
 * talks to the fake switch over a unix socket (handshake, bundles, barrier, stats, TLV table);
 * a LocalController runs against both and installs a plugged port's flows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalController } from '../../../src/controller/controller.js';
import { OpenFlowChannel } from '../../../src/openflow/channel.js';
import type { OfMessage } from '../../../src/openflow/types.js';
import { flowMod, type FlowModMessage } from '../../../src/pipeline/reconcile.js';
import { NeutronApi } from '../../../src/server/app.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeSwitch } from '../../../src/testing/fake-switch.js';
import { FakeSwitchDb } from '../../../src/testing/fake-switch-db.js';

function flow(tableId: number, priority: number, inPort: number, out: number): FlowModMessage {
  return flowMod('add', {
    tableId,
    priority,
    cookie: 7n,
    match: { in_port: inPort },
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: out }] }],
  });
}

describe('FakeSwitch', () => {
  let dir: string;
  let sw: FakeSwitch;
  let ch: OpenFlowChannel;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-fakesw-'));
    sw = new FakeSwitch({ datapathId: 0x42n });
    await sw.listen(path.join(dir, 'br-int.mgmt'));
    ch = OpenFlowChannel.connect(`unix:${path.join(dir, 'br-int.mgmt')}`, { reconnect: false });
  });

  afterEach(async () => {
    ch.close();
    await sw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('handshakes as an OpenFlow 1.3 switch with its datapath id', async () => {
    const info = await ch.ready();
    expect(info.datapathId).toBe(0x42n);
    expect(sw.connections).toBe(1);
  });

  it('applies a bundle at commit and reports it; stats read the table back', async () => {
    await ch.ready();
    const commits: (readonly OfMessage[])[] = [];
    sw.on('commit', (m) => commits.push(m));
    await ch.bundle([flow(0, 100, 1, 2), flow(0, 100, 2, 1), flow(3, 50, 1, 9)]);
    expect(sw.flows.size).toBe(3);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toHaveLength(3);
    expect(sw.received.get('bundle_add')).toBe(3);
    const dumped = await ch.dumpFlows();
    expect(dumped.map((f) => [f.tableId, f.match.in_port]).sort()).toEqual([[0, 1], [0, 2], [3, 1]]);
    expect((await ch.dumpFlows({ tableId: 3 })).length).toBe(1);
  });

  it('deletes strictly, and non-strictly by cookie', async () => {
    await ch.ready();
    await ch.bundle([flow(0, 100, 1, 2), flow(0, 90, 1, 2), flow(1, 100, 5, 6)]);
    const del = { ...flowMod('delete_strict', { tableId: 0, priority: 90, cookie: 7n, match: { in_port: 1 }, instructions: [] }) };
    await ch.bundle([del]);
    expect(sw.flows.size).toBe(2);
    await ch.sendBatch([{ ...flowMod('delete', { tableId: 0xff, priority: 0, cookie: 7n, match: {}, instructions: [] }, { cookieMask: ~0n & 0xffffffffffffffffn }) }]);
    expect(sw.flows.size).toBe(0);
  });

  it('splits large flow stats replies into parts', async () => {
    await ch.ready();
    await ch.bundle(Array.from({ length: 130 }, (_, i) => flow(0, 100, i + 1, 1)));
    expect((await ch.dumpFlows()).length).toBe(130);
  });

  it('keeps groups and the TLV table', async () => {
    await ch.ready();
    await ch.bundle([{ type: 'group_mod', command: 'add', groupId: 5, groupType: 'all', buckets: [] }]);
    expect((await ch.dumpGroups()).map((g) => g.groupId)).toEqual([5]);
    await ch.sendAsync({ type: 'tlv_table_mod', command: 'add', mappings: [{ optClass: 0x102, optType: 0x80, optLen: 4, index: 0 }] });
    await ch.barrier();
    const reply = await ch.request({ type: 'tlv_table_request' });
    expect(reply.mappings).toEqual([{ optClass: 0x102, optType: 0x80, optLen: 4, index: 0 }]);
  });
});

describe('FakeSwitchDb', () => {
  it('assigns ofports and announces plugged interfaces', async () => {
    const db = new FakeSwitchDb();
    await db.ensureTunnelPort({ bridge: 'br-int', name: 'wyv-geneve', type: 'geneve', options: {} });
    expect(await db.waitForOfport('wyv-geneve')).toBe(1);
    let events = 0;
    db.on('interface', () => events++);
    expect(db.plug([{ name: 'tap1', ifaceId: 'p1' }, { name: 'tap2', ifaceId: 'p2', ofport: 10 }])).toEqual([2, 10]);
    expect(events).toBe(1);
    expect(db.interfaces().filter((i) => i.ifaceId).map((i) => [i.ifaceId, i.ofport])).toEqual([['p1', 2], ['p2', 10]]);
    db.unplug(['tap1']);
    expect(db.interfaces().map((i) => i.name)).toEqual(['wyv-geneve', 'tap2']);
    await expect(db.waitForOfport('nope')).rejects.toThrow();
  });
});

describe('LocalController against the fakes', () => {
  interface Rig {
    readonly sw: FakeSwitch;
    readonly db: FakeSwitchDb;
    readonly ctrl: LocalController;
    /** Create network + subnet + a port bound to hv1; returns the port id. */
    port(): Promise<string>;
  }

  /** A started controller on a fake switch and fake OVSDB, with a Neutron API on a memory store. */
  async function withController(body: (rig: Rig) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-fakectl-'));
    const store = new MemoryStore();
    const { server, url } = await new NeutronApi(store, { onError: () => {} }).listen('127.0.0.1', 0);
    const sw = new FakeSwitch();
    await sw.listen(path.join(dir, 'sw.sock'));
    const db = new FakeSwitchDb();
    const ctrl = new LocalController({
      chassis: 'hv1',
      nb: 'memory:',
      store,
      switchDb: db,
      ovsdb: 'unix:/nonexistent',
      openflow: `unix:${path.join(dir, 'sw.sock')}`,
      tunnelIp: '192.0.2.1',
      datapathType: 'dummy',
    });
    const post = async (kind: string, b: Record<string, unknown>): Promise<{ id: string }> => {
      const res = await fetch(`${url}/v2.0/${kind}s`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-project-id': 'p', 'x-roles': 'admin' },
        body: JSON.stringify({ [kind]: b }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as Record<string, { id: string }>)[kind];
    };
    const port = async (): Promise<string> => {
      const net = await post('network', { name: 'n' });
      await post('subnet', { network_id: net.id, cidr: '10.0.0.0/24', ip_version: 4 });
      return (await post('port', { network_id: net.id, 'binding:host_id': 'hv1' })).id;
    };
    try {
      await ctrl.start();
      await body({ sw, db, ctrl, port });
    } finally {
      await ctrl.stop();
      await sw.close();
      server.closeAllConnections();
      server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('installs a plugged port: classification flow for its ofport, acknowledged', async () => {
    await withController(async ({ sw, db, ctrl, port }) => {
      db.plug([{ name: 'tap1', ifaceId: await port(), ofport: 7 }]);
      // The switch commits a bundle before the controller reads the reply and counts it as
      // installed: wait for both, then compare.
      const settled = (): boolean => [...sw.flows.values()].some((f) => f.match.in_port === 7) && sw.flows.size === ctrl.stats().installedFlows;
      for (let i = 0; i < 200 && !settled(); i++) await new Promise((r) => setTimeout(r, 25));
      expect([...sw.flows.values()].some((f) => f.match.in_port === 7)).toBe(true);
      expect(sw.flows.size).toBe(ctrl.stats().installedFlows);
      expect(sw.received.get('undecodable') ?? 0).toBe(0);
    });
  });

  it('stopping while a bundle is unanswered ends quietly: no error event, no rejection left behind', async () => {
    const errors: Error[] = [];
    await withController(async ({ sw, db, ctrl, port }) => {
      ctrl.on('error', (e) => errors.push(e));
      sw.stallCommits = true;
      const stalled = new Promise<number>((resolve) => sw.once('stalled', resolve));
      db.plug([{ name: 'tap1', ifaceId: await port(), ofport: 7 }]);
      expect(await stalled).toBeGreaterThan(0);
      expect([...sw.flows.values()].some((f) => f.match.in_port === 7)).toBe(false);
      await ctrl.stop(); // the pass in flight now fails with ChannelClosedError
      await new Promise((r) => setTimeout(r, 50));
      expect(ctrl.stats().syncs).toBeGreaterThan(0);
    });
    expect(errors).toEqual([]);
  });
});
