import { afterEach, describe, expect, it } from 'vitest';
import { resourceKey } from '../../../src/model/keys.js';
import { encodeRecord } from '../../../src/model/record-codec.js';
import { DEVICE_OWNER_ROUTER_INTERFACE } from '../../../src/model/records.js';
import { nbSubjects } from '../../../src/model/subjects.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Watch } from '../../../src/store/types.js';
import { PROGRESS_COALESCE_MS } from '../../../src/store/watch-hub.js';

type Seen = Array<{ revision: number; keys: string[] }>;

const port = (id: string, network_id: string, extra: Record<string, unknown> = {}): string =>
  encodeRecord({ id, network_id, device_owner: 'compute:nova', device_id: '', security_groups: [], ...extra });
const put = async (store: MemoryStore, key: string, value: string): Promise<number> =>
  (await store.txn({ compare: [], success: [{ type: 'put', key, value }] })).revision;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, PROGRESS_COALESCE_MS * 3));

describe('routed watches (in-process hub): each change reaches the watchers that hold its subject', () => {
  let store: MemoryStore;
  afterEach(async () => store?.close());

  async function watcher(subjects?: string[]): Promise<{ seen: Seen; watch: Watch }> {
    const seen: Seen = [];
    const watch = store.watch('/nb/', (await store.revision()) + 1, {
      onEvents: (events, revision) => seen.push({ revision, keys: events.map((e) => e.key) }),
    });
    if (subjects) watch.setInterest!(nbSubjects, new Set(subjects));
    return { seen, watch };
  }

  it('delivers by network, port and router; the others learn the revision from one progress batch', async () => {
    store = new MemoryStore();
    const a = await watcher(['net:A']);
    const b = await watcher(['net:B', 'port:p9']);
    const r = await watcher(['router:R']);
    const all = await watcher();
    const p1 = resourceKey('ports', 'p1');
    const rev1 = await put(store, p1, port('p1', 'A'));
    const rev2 = await put(store, resourceKey('ports', 'p9'), port('p9', 'C')); // b holds the port itself
    const ri = resourceKey('ports', 'ri');
    const rev3 = await put(store, ri, port('ri', 'C', { device_owner: DEVICE_OWNER_ROUTER_INTERFACE, device_id: 'R' }));
    await settle();
    expect(a.seen).toEqual([{ revision: rev1, keys: [p1] }, { revision: rev3, keys: [] }]);
    expect(b.seen).toEqual([{ revision: rev2, keys: [resourceKey('ports', 'p9')] }, { revision: rev3, keys: [] }]);
    expect(r.seen).toEqual([{ revision: rev3, keys: [ri] }]);
    expect(all.seen.map((s) => s.revision)).toEqual([rev1, rev2, rev3]);
  });

  it('a record leaving a subject reaches the holders of the old one; a delete, those of the last value', async () => {
    store = new MemoryStore();
    const p1 = resourceKey('ports', 'p1');
    await put(store, p1, port('p1', 'A'));
    const ri = resourceKey('ports', 'ri');
    await put(store, ri, port('ri', 'C', { device_owner: DEVICE_OWNER_ROUTER_INTERFACE, device_id: 'R' }));
    const a = await watcher(['net:A']);
    const b = await watcher(['net:B']);
    const r = await watcher(['router:R']);
    const moved = await put(store, p1, port('p1', 'B'));
    const detached = await put(store, ri, port('ri', 'C')); // no longer R's interface
    const deleted = (await store.txn({ compare: [], success: [{ type: 'delete', key: p1 }] })).revision;
    await settle();
    expect(a.seen.filter((s) => s.keys.length > 0).map((s) => s.revision)).toEqual([moved]);
    expect(b.seen.filter((s) => s.keys.length > 0).map((s) => s.revision)).toEqual([moved, deleted]);
    expect(r.seen.filter((s) => s.keys.length > 0)).toEqual([{ revision: detached, keys: [ri] }]);
  });

  it('what it cannot place goes to everyone; keys outside the routed collections to no routed watcher', async () => {
    store = new MemoryStore();
    const a = await watcher(['net:A']);
    const g = await watcher(['sg:s1']);
    const odd = resourceKey('ports', 'odd');
    const unknown = await put(store, odd, 'not json');
    const fip = await put(store, resourceKey('floatingips', 'f1'), encodeRecord({ id: 'f1' }));
    const sgKey = resourceKey('security-groups', 's1');
    const sg = await put(store, sgKey, encodeRecord({ id: 's1' }));
    await settle();
    expect(a.seen).toEqual([{ revision: unknown, keys: [odd] }, { revision: sg, keys: [] }]);
    // A security group reaches the holders of its subject only.
    expect(g.seen.filter((x) => x.keys.length > 0)).toEqual([{ revision: unknown, keys: [odd] }, { revision: sg, keys: [sgKey] }]);
    expect(g.seen.some((x) => x.revision >= fip && x.keys.length > 0 && x.keys.includes(resourceKey('floatingips', 'f1')))).toBe(false);
  });

  it('progress is coalesced; routing can be switched off again', async () => {
    store = new MemoryStore();
    const b = await watcher(['net:B']);
    let last = 0;
    for (let i = 0; i < 10; i++) last = await put(store, resourceKey('ports', `p${i}`), port(`p${i}`, 'A'));
    await settle();
    expect(b.seen).toEqual([{ revision: last, keys: [] }]);
    b.watch.setInterest!(nbSubjects, undefined);
    const next = await put(store, resourceKey('ports', 'px'), port('px', 'A'));
    await settle();
    expect(b.seen.at(-1)).toEqual({ revision: next, keys: [resourceKey('ports', 'px')] });
    await b.watch.cancel();
    await put(store, resourceKey('ports', 'py'), port('py', 'B'));
    await settle();
    expect(b.seen.at(-1)?.revision).toBe(next);
  });
});
