/**
 * `wyvern status` without a cloud: the judgement from records, the controller's status
 * publisher (writes on change only, "behind" after a while), the server registration, and the
 * command itself against a sqlite store (exit status, JSON, --forget).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { statusCommand } from '../../../src/cli/status.js';
import type { ControllerProbe } from '../../../src/controller/probe.js';
import { BEHIND_AFTER_MS, StatusPublisher } from '../../../src/controller/status-publisher.js';
import { chassisKey, type ChassisRecord } from '../../../src/model/chassis.js';
import { chassisStatusKey, serverLiveKey, serverStatusKey, type ChassisStatusRecord } from '../../../src/model/status.js';
import { collectStatus, judge, type StatusInputs } from '../../../src/status/collect.js';
import { publicStoreUrl, registerServer, serverId } from '../../../src/status/server-registration.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import type { KeyValue } from '../../../src/store/types.js';

const kv = (key: string, value: unknown): KeyValue => ({ key, value: JSON.stringify(value), createRevision: 1, modRevision: 1, version: 1 });

const REG: ChassisRecord = {
  name: 'hv1',
  hostname: 'h',
  tunnel_ip: '192.0.2.1',
  encap: ['geneve'],
  bridge_mappings: {},
  gateway: false,
  l3_mode: 'proactive',
  version: '1.2.3',
  started_at: '2026-01-01T00:00:00.000Z',
};

function statusRecord(over: Partial<ChassisStatusRecord> = {}): ChassisStatusRecord {
  return {
    name: 'hv1',
    version: '1.2.3',
    hostname: 'h',
    gateway: false,
    l3_mode: 'proactive',
    lease_ttl_seconds: 10,
    applied_revision: 40,
    seen_revision: 42,
    behind_since: null,
    local_ports: 2,
    installed_flows: 120,
    groups: 3,
    openflow: 'connected',
    ovsdb: 'connected',
    metrics_url: 'http://127.0.0.1:1/metrics',
    started_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:01.000Z',
    ...over,
  };
}

function inputs(over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    nb: 'sqlite:/x',
    kind: 'sqlite',
    revision: 50,
    registrations: [kv(chassisKey('hv1'), REG)],
    statusRecords: [kv(chassisStatusKey('hv1'), statusRecord())],
    serverRecords: [],
    serverLive: [],
    activePorts: new Map([['hv1', 2]]),
    now: new Date('2026-01-01T00:01:00Z'),
    ...over,
  };
}

describe('judge', () => {
  it('a registered chassis with a good record is healthy and shows its numbers', () => {
    const r = judge(inputs());
    expect(r.healthy).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.chassis).toHaveLength(1);
    expect(r.chassis[0]).toMatchObject({ name: 'hv1', alive: true, version: '1.2.3', applied_revision: 40, lag: 2, ports_bound: 2, flows: 120, groups: 3, gateway: false });
  });

  it('a chassis whose registration is gone is down (its record remembers it)', () => {
    const r = judge(inputs({ registrations: [] }));
    expect(r.healthy).toBe(false);
    expect(r.chassis[0].alive).toBe(false);
    expect(r.problems[0]).toMatch(/^chassis hv1: down/);
  });

  it('a registered chassis without a record yet is fine; connections and lag are judged from the record', () => {
    expect(judge(inputs({ statusRecords: [] })).healthy).toBe(true);
    const bad = judge(inputs({ statusRecords: [kv(chassisStatusKey('hv1'), statusRecord({ openflow: 'connecting', ovsdb: 'backoff', behind_since: '2026-01-01T00:00:00.000Z' }))] }));
    expect(bad.healthy).toBe(false);
    expect(bad.chassis[0].problems).toEqual(['OpenFlow connection connecting', 'OVSDB connection backoff', 'switch behind the store since 2026-01-01T00:00:00.000Z']);
  });

  it('servers are down without their liveness key; etcd without a leader is unhealthy', () => {
    const server = { id: 'a:1', url: 'http://a:1', version: 'v', hostname: 'h', pid: 1, store: 'etcd:http://e:2379', metrics_url: 'http://a:1/metrics', started_at: 't' };
    const up = judge(inputs({ serverRecords: [kv(serverStatusKey('a:1'), server)], serverLive: [kv(serverLiveKey('a:1'), {})] }));
    expect(up.healthy).toBe(true);
    expect(up.store.backends).toEqual(['etcd:http://e:2379']);
    const down = judge(inputs({ serverRecords: [kv(serverStatusKey('a:1'), server)] }));
    expect(down.problems).toEqual([expect.stringMatching(/^server a:1: down/)]);
    const noLeader = judge(inputs({ etcd: { endpoints: ['http://e:2379'], members: [{ name: 'm', id: '1', clientUrls: [], reachable: true, isLeader: false }] } }));
    expect(noLeader.problems).toEqual(['store: etcd: no leader the members agree on']);
  });

  it('ignores records it cannot read', () => {
    const r = judge(inputs({ statusRecords: [{ ...kv(chassisStatusKey('hv1'), 0), value: '{not json' }] }));
    expect(r.healthy).toBe(true);
    expect(r.chassis[0].flows).toBeUndefined();
  });
});

describe('StatusPublisher', () => {
  let probe: ControllerProbe;
  const base = (): ControllerProbe => ({
    chassis: 'hv1',
    gateway: false,
    version: 'v',
    l3Mode: 'proactive',
    appliedRevision: 10,
    seenRevision: 10,
    openflow: 'connected',
    ovsdb: 'connected',
    openflowReconnects: 0,
    ovsdbReconnects: 0,
    leaseLosses: 0,
    installed: undefined,
    stats: { syncs: 1, flowModsSent: 0, groupModsSent: 0, desiredFlows: 0, installedFlows: 0, packetIns: 0, punts: {}, reactiveFlowsInstalled: 0, dhcpReplies: 0, dhcpRateLimited: 0, localPorts: 1, networks: 1 },
  });

  it('writes on change, not for revisions alone; reports a switch that stays behind', async () => {
    const store = new MemoryStore();
    probe = base();
    const txn = vi.spyOn(store, 'txn');
    const pub = new StatusPublisher({ store, probe: () => probe, intervalMs: 1000, leaseTtlSeconds: 10, log: () => {} });
    const read = async (): Promise<ChassisStatusRecord> => JSON.parse((await store.get(chassisStatusKey('hv1')))!.value) as ChassisStatusRecord;
    let t = 1_000_000;
    await pub.tick(t);
    expect(txn).toHaveBeenCalledTimes(1);
    expect(await read()).toMatchObject({ applied_revision: 10, local_ports: 1, behind_since: null });

    probe = { ...base(), appliedRevision: 11, seenRevision: 11 };
    await pub.tick((t += 1000));
    expect(txn).toHaveBeenCalledTimes(1); // revisions only: not yet

    probe = { ...base(), appliedRevision: 11, seenRevision: 12 };
    await pub.tick((t += 1000));
    expect(txn).toHaveBeenCalledTimes(1); // behind, but not for long
    await pub.tick((t += BEHIND_AFTER_MS));
    expect(txn).toHaveBeenCalledTimes(2);
    expect((await read()).behind_since).toBe(new Date(t - BEHIND_AFTER_MS).toISOString());

    probe = { ...base(), appliedRevision: 12, seenRevision: 12, openflow: 'connecting' };
    await pub.tick((t += 1000));
    expect(txn).toHaveBeenCalledTimes(3);
    expect(await read()).toMatchObject({ behind_since: null, openflow: 'connecting', applied_revision: 12 });
    await store.close();
  });
});

describe('server registration and collectStatus', () => {
  it('registers, is seen alive, and disappears on a clean stop', async () => {
    const store = new MemoryStore();
    const reg = await registerServer(store, { url: 'http://127.0.0.1:9696', storeUrl: 'etcd:http://u:p@e:2379', version: '1' });
    expect(reg.id).toBe(serverId('http://127.0.0.1:9696'));
    const r = await collectStatus(store, 'memory:');
    expect(r.servers).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9696', alive: true, store: 'etcd:http://e:2379' })]);
    await reg.stop();
    expect((await collectStatus(store, 'memory:')).servers).toEqual([]);
    await store.close();
  });

  it('publicStoreUrl drops credentials', () => {
    expect(publicStoreUrl('etcd:http://a:b@h1:2379,https://c@h2:2379')).toBe('etcd:http://h1:2379,https://h2:2379');
    expect(publicStoreUrl('sqlite:/var/lib/nb.db')).toBe('sqlite:/var/lib/nb.db');
  });
});

describe('wyvern status command', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('exits 0 when healthy, 1 with a down chassis, and --forget removes its record', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-status-'));
    const file = path.join(dir, 'nb.sqlite');
    const store = SqliteStore.open(file);
    const lease = await store.grantLease(10);
    await store.txn({
      compare: [],
      success: [
        { type: 'put', key: chassisKey('hv1'), value: JSON.stringify(REG), lease: lease.id },
        { type: 'put', key: chassisStatusKey('hv1'), value: JSON.stringify(statusRecord()) },
        { type: 'put', key: chassisStatusKey('hv2'), value: JSON.stringify(statusRecord({ name: 'hv2' })) },
      ],
    });
    await store.close();
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    try {
      const nb = `sqlite:${file}`;
      expect(await statusCommand.run(['--nb', nb])).toBe(1);
      expect(out.join('')).toMatch(/hv2\s+DOWN/);
      expect(out.join('')).toMatch(/UNHEALTHY: 1 problem\n\s+chassis hv2: down/);
      out.length = 0;
      expect(await statusCommand.run(['--nb', nb, '--json', '--forget', 'hv2'])).toBe(0);
      const report = JSON.parse(out.join('')) as { healthy: boolean; chassis: { name: string }[] };
      expect(report.healthy).toBe(true);
      expect(report.chassis.map((c) => c.name)).toEqual(['hv1']);
    } finally {
      write.mockRestore();
    }
  });
});
