import { afterEach, describe, expect, it, vi } from 'vitest';
import { NbCache } from '../../../src/controller/nb-cache.js';
import { resourceKey } from '../../../src/model/keys.js';
import { encodeRecord } from '../../../src/model/record-codec.js';
import { DEVICE_OWNER_ROUTER_INTERFACE } from '../../../src/model/records.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { groupRec, networkRec, portRec, routerRec, ruleRec, subnetRec } from '../../support/nb-records.js';

type Coll = 'networks' | 'subnets' | 'ports' | 'routers' | 'security-groups' | 'security-group-rules';

const put = async (store: MemoryStore, coll: Coll, rec: Record<string, unknown>, text = encodeRecord(rec)): Promise<void> => {
  await store.txn({ compare: [], success: [{ type: 'put', key: resourceKey(coll, rec.id as string), value: text }] });
};
const port = (id: string, network_id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ...portRec(id, network_id), ...extra });

/** Wait until the cache reflects `revision` (all watch events up to it applied). */
async function caughtUp(cache: NbCache, store: MemoryStore): Promise<void> {
  const want = await store.revision();
  for (let i = 0; i < 200 && cache.revision() < want; i++) await new Promise((r) => setTimeout(r, 5));
  expect(cache.revision()).toBeGreaterThanOrEqual(want);
}

describe('NbCache: what a chassis holds', () => {
  let store: MemoryStore;
  let cache: NbCache;
  afterEach(async () => {
    await cache?.close();
    await store?.close();
    vi.restoreAllMocks();
  });

  async function cloud(): Promise<void> {
    store = new MemoryStore();
    for (const n of ['A', 'B', 'C']) {
      await put(store, 'networks', { ...networkRec(n) });
      await put(store, 'subnets', { ...subnetRec(`s${n}`, n) });
    }
    await put(store, 'routers', { ...routerRec('R') });
    await put(store, 'ports', port('local', 'A'));
    await put(store, 'ports', port('riA', 'A', { device_owner: DEVICE_OWNER_ROUTER_INTERFACE, device_id: 'R' }));
    await put(store, 'ports', port('riC', 'C', { device_owner: DEVICE_OWNER_ROUTER_INTERFACE, device_id: 'R' }));
    await put(store, 'ports', port('c1', 'C'));
    await put(store, 'ports', port('b1', 'B'));
    cache = new NbCache(store);
    await cache.start();
    await cache.setLocalPorts(new Set(['local']));
  }

  it('holds the local ports\' networks closed over routers, and nothing else', async () => {
    await cloud();
    const snap = cache.snapshot();
    expect([...snap.networks.keys()].sort()).toEqual(['A', 'C']);
    expect([...snap.subnets.keys()].sort()).toEqual(['sA', 'sC']);
    expect([...snap.ports.keys()].sort()).toEqual(['c1', 'local', 'riA', 'riC']);
    expect([...snap.routers.keys()]).toEqual(['R']);
  });

  it('passes over events about networks it does not hold without parsing them, and reports them idle', async () => {
    await cloud();
    const changes = vi.fn();
    const idle = vi.fn();
    cache.on('change', changes);
    cache.on('idle', idle);
    const parse = vi.spyOn(JSON, 'parse');
    for (let i = 0; i < 50; i++) await put(store, 'ports', port(`b${i + 2}`, 'B'));
    await put(store, 'subnets', { ...subnetRec('sB2', 'B', '10.1.0.0/24') });
    await put(store, 'networks', { ...networkRec('B'), name: 'renamed' });
    await caughtUp(cache, store);
    expect(parse).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
    expect(idle).toHaveBeenCalled();
    expect(cache.sizes().ports).toBe(4);
    // A port on a held network is parsed and kept.
    await put(store, 'ports', port('c2', 'C'));
    await caughtUp(cache, store);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(cache.snapshot().ports.has('c2')).toBe(true);
  });

  it('reads records in the older layout (no header) correctly, by parsing them', async () => {
    await cloud();
    // Nested routing names first, as another writer could store it.
    const legacy = { 'binding:profile': { network_id: 'B' }, ...port('c3', 'C') };
    await put(store, 'ports', legacy, JSON.stringify(legacy));
    const movedAway = port('c1', 'B');
    await put(store, 'ports', movedAway, JSON.stringify({ name: 'x', ...movedAway }));
    await caughtUp(cache, store);
    expect(cache.snapshot().ports.has('c3')).toBe(true);
    expect(cache.snapshot().ports.has('c1')).toBe(false);
  });

  it('follows a router interface to a new network and drops it when the interface goes', async () => {
    await cloud();
    await put(store, 'ports', port('riB', 'B', { device_owner: DEVICE_OWNER_ROUTER_INTERFACE, device_id: 'R' }));
    for (let i = 0; i < 100 && !cache.snapshot().networks.has('B'); i++) await new Promise((r) => setTimeout(r, 5));
    expect([...cache.snapshot().networks.keys()].sort()).toEqual(['A', 'B', 'C']);
    expect(cache.snapshot().ports.has('b1')).toBe(true);
    await store.txn({ compare: [], success: [{ type: 'delete', key: resourceKey('ports', 'riB') }] });
    for (let i = 0; i < 100 && cache.snapshot().networks.has('B'); i++) await new Promise((r) => setTimeout(r, 5));
    expect([...cache.snapshot().networks.keys()].sort()).toEqual(['A', 'C']);
    expect(cache.snapshot().ports.has('b1')).toBe(false);
  });

  /** Waits until `check` holds (the cache applies watch events asynchronously). */
  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(check()).toBe(true);
  }

  it('holds the local ports\' groups with their rules, and of a remote group only its record and members', async () => {
    await cloud();
    const upd = async (rec: Record<string, unknown>): Promise<void> => put(store, 'ports', rec);
    await put(store, 'security-groups', { ...groupRec('G') });
    await put(store, 'security-groups', { ...groupRec('RG') });
    await put(store, 'security-groups', { ...groupRec('other') });
    await put(store, 'security-group-rules', { ...ruleRec('g1', 'G', { remote_group_id: 'RG' }) });
    await put(store, 'security-group-rules', { ...ruleRec('rg1', 'RG') });
    await put(store, 'security-group-rules', { ...ruleRec('o1', 'other') });
    await put(store, 'ports', port('m1', 'B', { security_groups: ['RG'] }));
    await put(store, 'ports', port('m2', 'B', { security_groups: ['other'] }));
    await caughtUp(cache, store);
    expect(cache.snapshot().securityGroups.size).toBe(0);
    // The local port joins G: G, its rule, RG's record and RG's member (not network B, not RG's rules).
    await upd(port('local', 'A', { security_groups: ['G'] }));
    await until(() => cache.snapshot().ports.has('m1'));
    const snap = cache.snapshot();
    expect([...snap.securityGroups.keys()].sort()).toEqual(['G', 'RG']);
    expect([...snap.securityGroupRules.keys()]).toEqual(['g1']);
    expect(snap.networks.has('B')).toBe(false);
    expect(snap.ports.has('m2')).toBe(false);
    expect(cache.subjects()).toEqual(expect.arrayContaining(['sg:G', 'sgm:RG']));
    // A member joining is seen; one leaving is dropped.
    await put(store, 'ports', port('m2', 'B', { security_groups: ['other', 'RG'] }));
    await until(() => cache.snapshot().ports.has('m2'));
    await put(store, 'ports', port('m1', 'B', { security_groups: [] }));
    await until(() => !cache.snapshot().ports.has('m1'));
    // The rule goes: the remote group and its members go with it.
    await store.txn({ compare: [], success: [{ type: 'delete', key: resourceKey('security-group-rules', 'g1') }] });
    await until(() => !cache.snapshot().ports.has('m2'));
    expect([...cache.snapshot().securityGroups.keys()]).toEqual(['G']);
    expect(cache.subjects()).not.toContain('sgm:RG');
  });

  it('refuses a record that does not decode, says why, and holds nothing for it', async () => {
    await cloud();
    const invalid = vi.fn();
    cache.on('invalid', invalid);
    // A port on a held network whose fixed_ips is not a list.
    await put(store, 'ports', port('bad', 'A', { fixed_ips: 'oops' }));
    await caughtUp(cache, store);
    expect(cache.snapshot().ports.has('bad')).toBe(false);
    expect(invalid).toHaveBeenCalledWith(resourceKey('ports', 'bad'), expect.stringContaining('fixed_ips'));
    // Mended: kept.
    await put(store, 'ports', port('bad', 'A'));
    await until(() => cache.snapshot().ports.has('bad'));
  });
});
