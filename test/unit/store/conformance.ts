import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseNotFoundError, StoreUnavailableError } from '../../../src/store/errors.js';
import type { Compare, CompareOp, CompareTarget, Store } from '../../../src/store/types.js';
import { WatchRecorder, waitFor } from './watch-recorder.js';

export interface ConformanceTarget {
  /** Open the store under test (called once per suite). */
  open(): Promise<Store>;
  /** Tear down whatever `open` started, after the store is closed. */
  teardown?(): Promise<void>;
  /** Break the connection under the store (restart the server); drivers must resume watches. */
  disrupt?(): Promise<void>;
  /** Smallest lease TTL the backend honours (etcd rounds short TTLs up). */
  minLeaseTtl?: number;
}

let unique = 0;

/**
 * Write a marker key under `prefix` and return its revision. Watches deliver in revision order,
 * so once a watcher has the marker it has everything before it: "nothing else arrived" can be
 * checked then, without sleeping and hoping.
 */
async function writeMarker(store: Store, prefix: string): Promise<number> {
  for (;;) {
    try {
      return (await store.txn({ compare: [], success: [{ type: 'put', key: `${prefix}~marker`, value: 'marker' }] })).revision;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      await new Promise((res) => setTimeout(res, 100)); // a disrupted remote store: retry
    }
  }
}
const prefixFor = (name: string): string => `/conf/${Date.now().toString(36)}-${unique++}/${name}/`;

/** Register the driver conformance tests: every driver must pass all of them. */
export function storeConformance(name: string, target: ConformanceTarget): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    const ttl = target.minLeaseTtl ?? 1;

    beforeAll(async () => {
      store = await target.open();
    });
    afterAll(async () => {
      await store?.close();
      await target.teardown?.();
    });

    it('get on a missing key is undefined; put creates, rewrites bump version and modRevision', async () => {
      const p = prefixFor('get');
      expect(await store.get(`${p}a`)).toBeUndefined();
      const r1 = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: 'one' }] });
      expect(r1.succeeded).toBe(true);
      expect(await store.get(`${p}a`)).toEqual({ key: `${p}a`, value: 'one', createRevision: r1.revision, modRevision: r1.revision, version: 1 });
      const r2 = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: 'two' }] });
      expect(r2.revision).toBeGreaterThan(r1.revision);
      expect(await store.get(`${p}a`)).toEqual({ key: `${p}a`, value: 'two', createRevision: r1.revision, modRevision: r2.revision, version: 2 });
      await store.txn({ compare: [], success: [{ type: 'delete', key: `${p}a` }] });
      expect(await store.get(`${p}a`)).toBeUndefined();
      const r4 = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: 'again' }] });
      expect(await store.get(`${p}a`)).toMatchObject({ createRevision: r4.revision, version: 1 });
    });

    it('range returns exactly the prefix, sorted by key, at a revision covering the writes', async () => {
      const p = prefixFor('range');
      const keys = ['b', 'a/x', 'c', 'a'].map((k) => p + k);
      let last = 0;
      for (const key of keys) last = (await store.txn({ compare: [], success: [{ type: 'put', key, value: key }] })).revision;
      await store.txn({ compare: [], success: [{ type: 'put', key: p.slice(0, -1) + 'X', value: 'outside' }] });
      const r = await store.range(p);
      expect(r.kvs.map((kv) => kv.key)).toEqual([...keys].sort());
      expect(r.revision).toBeGreaterThanOrEqual(last);
      expect((await store.range(`${p}a`)).kvs.map((kv) => kv.key)).toEqual([`${p}a`, `${p}a/x`]);
      expect((await store.range(`${p}zzz`)).kvs).toEqual([]);
    });

    it('txn compares every target with every op, on present and missing keys, as etcd does', async () => {
      const p = prefixFor('compare');
      const k = `${p}k`;
      const c1 = (await store.txn({ compare: [], success: [{ type: 'put', key: k, value: 'm' }] })).revision;
      const m2 = (await store.txn({ compare: [], success: [{ type: 'put', key: k, value: 'm' }] })).revision;
      const present: Record<CompareTarget, [string | number, string | number, string | number]> = {
        value: ['m', 'a', 'z'],
        version: [2, 1, 3],
        createRevision: [c1, c1 - 1, c1 + 1],
        modRevision: [m2, m2 - 1, m2 + 1],
      };
      const check = async (key: string, target: CompareTarget, op: CompareOp, value: string | number, want: boolean): Promise<void> => {
        const cmp: Compare = { key, target, op, value };
        const r = await store.txn({ compare: [cmp], success: [] });
        expect({ cmp, succeeded: r.succeeded }).toEqual({ cmp, succeeded: want });
      };
      for (const target of Object.keys(present) as CompareTarget[]) {
        const [same, lower, higher] = present[target];
        await check(k, target, '=', same, true);
        await check(k, target, '=', lower, false);
        await check(k, target, '!=', same, false);
        await check(k, target, '!=', higher, true);
        await check(k, target, '<', higher, true);
        await check(k, target, '<', same, false);
        await check(k, target, '>', lower, true);
        await check(k, target, '>', same, false);
      }
      const missing = `${p}missing`;
      for (const target of ['version', 'createRevision', 'modRevision'] as const) {
        await check(missing, target, '=', 0, true);
        await check(missing, target, '!=', 0, false);
        await check(missing, target, '<', 1, true);
        await check(missing, target, '>', 0, false);
      }
      for (const op of ['=', '!=', '<', '>'] as const) await check(missing, 'value', op, 'x', false);
      await check(missing, 'value', '=', '', false);
    });

    it('txn runs success or failure ops atomically in one revision; a no-op txn keeps the revision', async () => {
      const p = prefixFor('atomic');
      const before = await store.revision();
      const rec = new WatchRecorder(store, p, before + 1);
      const r = await store.txn({
        compare: [{ key: `${p}guard`, target: 'version', op: '=', value: 0 }],
        success: [
          { type: 'put', key: `${p}c`, value: '3' },
          { type: 'put', key: `${p}a`, value: '1' },
          { type: 'put', key: `${p}b`, value: '2' },
          { type: 'put', key: `${p}guard`, value: 'g' },
        ],
        failure: [{ type: 'put', key: `${p}failed`, value: 'x' }],
      });
      expect(r.succeeded).toBe(true);
      const kvs = (await store.range(p)).kvs;
      expect(kvs.map((kv) => kv.key)).toEqual([`${p}a`, `${p}b`, `${p}c`, `${p}guard`]);
      expect(new Set(kvs.map((kv) => kv.modRevision))).toEqual(new Set([r.revision]));
      await rec.until(() => rec.batches.length === 1);
      expect(rec.batches[0].revision).toBe(r.revision);
      expect(rec.batches[0].events.map((e) => e.key)).toEqual([`${p}a`, `${p}b`, `${p}c`, `${p}guard`]);

      const f = await store.txn({
        compare: [{ key: `${p}guard`, target: 'version', op: '=', value: 0 }],
        success: [{ type: 'put', key: `${p}a`, value: 'overwritten' }],
        failure: [{ type: 'put', key: `${p}failed`, value: 'x' }, { type: 'delete', key: `${p}c` }],
      });
      expect(f.succeeded).toBe(false);
      expect((await store.get(`${p}a`))?.value).toBe('1');
      expect((await store.get(`${p}failed`))?.modRevision).toBe(f.revision);
      expect(await store.get(`${p}c`)).toBeUndefined();

      const noop = await store.txn({ compare: [{ key: `${p}guard`, target: 'value', op: '=', value: 'nope' }], success: [{ type: 'put', key: `${p}a`, value: 'z' }] });
      expect(noop.succeeded).toBe(false);
      expect((await store.get(`${p}a`))?.value).toBe('1');
      await rec.watch.cancel();
    });

    it('delete and deletePrefix remove keys; deleting a missing key changes nothing', async () => {
      const p = prefixFor('delete');
      for (const k of ['x/1', 'x/2', 'y']) await store.txn({ compare: [], success: [{ type: 'put', key: p + k, value: k }] });
      const r = await store.txn({ compare: [], success: [{ type: 'deletePrefix', prefix: `${p}x/` }] });
      expect((await store.range(p)).kvs.map((kv) => kv.key)).toEqual([`${p}y`]);
      const again = await store.txn({ compare: [], success: [{ type: 'delete', key: `${p}nothing` }] });
      expect(again.revision).toBeGreaterThanOrEqual(r.revision);
      const rec = new WatchRecorder(store, p, r.revision);
      // Deleting a missing key wrote no event: the batch after the deletePrefix is the marker.
      const marker = await writeMarker(store, p);
      await rec.until(() => rec.batches.some((b) => b.revision === marker));
      expect(rec.batches.map((b) => b.revision)).toEqual([r.revision, marker]);
      expect(rec.batches[0]).toEqual({ revision: r.revision, events: [{ type: 'delete', key: `${p}x/1`, revision: r.revision }, { type: 'delete', key: `${p}x/2`, revision: r.revision }] });
      await rec.watch.cancel();
    });

    it('the revision only moves forward, one step per writing txn seen by this client', async () => {
      const p = prefixFor('monotonic');
      let prev = await store.revision();
      for (let i = 0; i < 20; i++) {
        const r = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k`, value: String(i) }] });
        expect(r.revision).toBeGreaterThan(prev);
        expect(await store.revision()).toBeGreaterThanOrEqual(r.revision);
        prev = r.revision;
      }
    });

    it('watch from a past revision replays history in order, then follows live, once each', async () => {
      const p = prefixFor('watch');
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k${i % 2}`, value: String(i) }] })).revision);
      const rec = new WatchRecorder(store, p, revs[1]);
      for (let i = 5; i < 10; i++) revs.push((await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k${i % 2}`, value: String(i) }] })).revision);
      await store.txn({ compare: [], success: [{ type: 'put', key: `/conf-other${p}`, value: 'not mine' }] });
      const marker = await writeMarker(store, p);
      await rec.until(() => rec.batches.some((b) => b.revision === marker));
      expect(rec.batches.map((b) => b.revision)).toEqual([...revs.slice(1), marker]);
      expect(rec.events.slice(0, -1).map((e) => e.value)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(rec.events.every((e) => e.type === 'put')).toBe(true);
      await rec.watch.cancel();
      // After cancel nothing more. The control, a second watch, shows the write was deliverable;
      // it may travel on another connection, so give the cancelled one as long again to show up.
      const control = new WatchRecorder(store, p, marker + 1);
      const t0 = Date.now();
      const after = (await store.txn({ compare: [], success: [{ type: 'put', key: `${p}late`, value: 'x' }] })).revision;
      await control.until(() => control.batches.some((b) => b.revision === after));
      await new Promise((res) => setTimeout(res, Math.max(100, Date.now() - t0)));
      expect(rec.batches.map((b) => b.revision)).not.toContain(after);
      await control.watch.cancel();
    });

    it('watch from revision 0 starts after the current revision', async () => {
      const p = prefixFor('watch-now');
      await store.txn({ compare: [], success: [{ type: 'put', key: `${p}old`, value: 'x' }] });
      const old = await store.revision();
      const rec = new WatchRecorder(store, p, 0);
      // Established once it delivers something (a remote driver pins "now" at its first round
      // trip, so earlier writes may rightly be missed): write probes until one arrives.
      await waitFor(async () => {
        await store.txn({ compare: [], success: [{ type: 'put', key: `${p}probe`, value: 'p' }] });
        return rec.batches.length > 0;
      }, 10_000, () => 'the watch from 0 never delivered a probe');
      const r = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}new`, value: 'y' }] });
      await rec.until(() => rec.batches.some((b) => b.revision === r.revision));
      expect(rec.batches[0].revision).toBeGreaterThan(old);
      expect(rec.events.filter((e) => e.key !== `${p}probe`)).toEqual([{ type: 'put', key: `${p}new`, value: 'y', revision: r.revision }]);
      expect(rec.batches.at(-1)!.revision).toBe(r.revision);
      await rec.watch.cancel();
    });

    it('watch from a compacted revision reports onCompacted', async () => {
      const p = prefixFor('compact');
      const r1 = (await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k`, value: '1' }] })).revision;
      const r2 = (await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k`, value: '2' }] })).revision;
      expect(store.compact).toBeDefined();
      await store.compact!(r2);
      const rec = new WatchRecorder(store, p, r1);
      await rec.until(() => rec.compacted !== undefined);
      expect(rec.compacted).toBeGreaterThanOrEqual(r2);
      expect(rec.batches).toEqual([]);
      const ok = new WatchRecorder(store, p, r2);
      await ok.until(() => ok.batches.length === 1);
      expect(ok.batches[0].revision).toBe(r2);
      await ok.watch.cancel();
    });

    // Only drivers that can lose their connection have a reconnect to test.
    if (target.disrupt) it('a watch resumes across a reconnect with no gap and no duplicate', async () => {
      const p = prefixFor('reconnect');
      const start = (await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k`, value: '0' }] })).revision;
      const rec = new WatchRecorder(store, p, start);
      const written: number[] = [start];
      const write = async (i: number): Promise<void> => {
        for (;;) {
          try {
            written.push((await store.txn({ compare: [], success: [{ type: 'put', key: `${p}k`, value: String(i) }] })).revision);
            return;
          } catch {
            await new Promise((res) => setTimeout(res, 100));
          }
        }
      };
      for (let i = 1; i < 5; i++) await write(i);
      await rec.until(() => rec.batches.length === 5);
      await target.disrupt!();
      for (let i = 5; i < 10; i++) await write(i);
      await rec.until(() => rec.batches.length >= 10, 30_000);
      const marker = await writeMarker(store, p);
      await rec.until(() => rec.batches.some((b) => b.revision === marker));
      expect(rec.batches.map((b) => b.revision)).toEqual([...written, marker]);
      expect(rec.events.slice(0, -1).map((e) => e.value)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(rec.error).toBeUndefined();
      await rec.watch.cancel();
    }, 60_000);

    it('a revoked lease deletes its keys (one delete event each) and a kept lease stays alive', async () => {
      const p = prefixFor('lease');
      const lease = await store.grantLease(ttl);
      const lost: Error[] = [];
      lease.onLost((e) => lost.push(e));
      const r = await store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: '1', lease: lease.id }, { type: 'put', key: `${p}b`, value: '2', lease: lease.id }, { type: 'put', key: `${p}c`, value: 'free' }] });
      expect((await store.get(`${p}a`))?.lease).toBe(lease.id);
      const rec = new WatchRecorder(store, p, r.revision + 1);
      await new Promise((res) => setTimeout(res, ttl * 2000 + 500)); // kept alive beyond its TTL
      expect((await store.range(p)).kvs).toHaveLength(3);
      await lease.revoke();
      expect((await store.range(p)).kvs.map((kv) => kv.key)).toEqual([`${p}c`]);
      await rec.until(() => rec.events.length === 2);
      expect(rec.events.map((e) => [e.type, e.key])).toEqual([['delete', `${p}a`], ['delete', `${p}b`]]);
      expect(rec.batches).toHaveLength(1);
      expect(lost).toEqual([]);
      await rec.watch.cancel();
    }, 30_000);

    it('a lease that is not kept alive expires and deletes its keys', async () => {
      const p = prefixFor('expire');
      const info = await store.leaseControl!.grant(ttl);
      await store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: '1', lease: info.id }] });
      const rec = new WatchRecorder(store, p, (await store.revision()) + 1);
      await waitFor(async () => (await store.get(`${p}a`)) === undefined, ttl * 1000 + 8000);
      await rec.until(() => rec.events.length === 1);
      expect(rec.events[0]).toMatchObject({ type: 'delete', key: `${p}a` });
      await expect(store.leaseControl!.keepAlive(info.id)).rejects.toBeInstanceOf(LeaseNotFoundError);
      await rec.watch.cancel();
    }, 30_000);

    it('onLost fires when the lease is revoked elsewhere; puts on unknown leases fail', async () => {
      const p = prefixFor('lost');
      const lease = await store.grantLease(ttl);
      const lost = new Promise<Error>((res) => lease.onLost(res));
      await store.leaseControl!.revoke(lease.id);
      const err = await lost;
      expect(err).toBeInstanceOf(LeaseNotFoundError);
      await expect(store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: '1', lease: lease.id }] })).rejects.toBeInstanceOf(LeaseNotFoundError);
    }, 30_000);

    it('200 concurrent creates of one key with createRevision=0: exactly one succeeds', async () => {
      const p = prefixFor('race');
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.txn({ compare: [{ key: `${p}k`, target: 'createRevision', op: '=', value: 0 }], success: [{ type: 'put', key: `${p}k`, value: String(i) }] }),
        ),
      );
      const winners = results.filter((r) => r.succeeded);
      expect(winners).toHaveLength(1);
      expect((await store.get(`${p}k`))?.modRevision).toBe(winners[0].revision);
    }, 30_000);
  });
}
