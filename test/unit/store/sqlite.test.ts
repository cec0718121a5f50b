import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreClosedError } from '../../../src/store/errors.js';
import { openStore } from '../../../src/store/open.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { storeConformance } from './conformance.js';
import { WatchRecorder } from './watch-recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'wyvern-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeConformance('sqlite', { open: async () => openStore(`sqlite:${join(dir, 'conformance.db')}`) });

describe('sqlite store specifics', () => {
  it('keeps data, revision and watch history across a reopen', async () => {
    const path = join(dir, 'reopen.db');
    const a = SqliteStore.open(path);
    const r1 = await a.txn({ compare: [], success: [{ type: 'put', key: '/k/1', value: 'one' }] });
    const r2 = await a.txn({ compare: [], success: [{ type: 'put', key: '/k/2', value: 'two' }] });
    await a.close();
    const b = SqliteStore.open(path);
    expect(await b.revision()).toBe(r2.revision);
    expect((await b.range('/k/')).kvs.map((kv) => kv.value)).toEqual(['one', 'two']);
    const rec = new WatchRecorder(b, '/k/', r1.revision);
    await rec.until(() => rec.batches.length === 2);
    expect(rec.batches.map((x) => x.revision)).toEqual([r1.revision, r2.revision]);
    await b.close();
  });

  it('compacts old history automatically, keeping the last N revisions', async () => {
    const s = SqliteStore.open(join(dir, 'auto-compact.db'), { historyRevisions: 20 });
    let last = 0;
    for (let i = 0; i < 100; i++) last = (await s.txn({ compare: [], success: [{ type: 'put', key: '/c', value: String(i) }] })).revision;
    // Compaction runs in steps (every historyRevisions/10 writes), so it lags by up to 2 here.
    const compacted = async (from: number): Promise<number | undefined> => {
      const rec = new WatchRecorder(s, '/', from);
      await rec.until(() => rec.compacted !== undefined || rec.batches.length > 0);
      await rec.watch.cancel();
      return rec.compacted;
    };
    const old = await compacted(2);
    expect(old, 'history before the last N revisions is gone').toBeGreaterThanOrEqual(last - 21);
    expect(old, 'the last N revisions are kept').toBeLessThanOrEqual(last - 19);
    expect(await compacted(last - 22), 'more than N + 2 revisions back is compacted').toBeDefined();
    const recent = new WatchRecorder(s, '/', last - 19);
    await recent.until(() => recent.batches.length === 20 || recent.compacted !== undefined);
    expect(recent.compacted).toBeUndefined();
    expect(recent.batches.map((b) => b.revision)).toEqual(Array.from({ length: 20 }, (_, i) => last - 19 + i));
    expect(recent.events.map((e) => e.value)).toEqual(Array.from({ length: 20 }, (_, i) => String(80 + i)));
    await recent.watch.cancel();
    await s.close();
  });

  it('gives leases a fresh TTL after a restart instead of expiring them at once', async () => {
    const path = join(dir, 'lease-restart.db');
    const a = SqliteStore.open(path);
    const info = await a.leaseControl.grant(1);
    await a.txn({ compare: [], success: [{ type: 'put', key: '/chassis/hv1', value: 'x', lease: info.id }] });
    await a.close();
    await new Promise((r) => setTimeout(r, 1200)); // the lease's TTL passes while the server is down
    const b = SqliteStore.open(path);
    expect(await b.get('/chassis/hv1')).toBeDefined();
    await b.leaseControl.keepAlive(info.id);
    await b.close();
  });

  it('commits concurrent transactions in one group, each with its own revision', async () => {
    const s = SqliteStore.open(join(dir, 'group.db'));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.txn({ compare: [], success: [{ type: 'put', key: `/g/${i}`, value: String(i) }] })));
    expect(new Set(results.map((r) => r.revision)).size).toBe(50);
    await s.close();
  });
});

describe('sqlite store after close', () => {
  it('rejects operations with StoreClosedError', async () => {
    const s = SqliteStore.open(join(dir, 'closed.db'));
    const pending = s.txn({ compare: [], success: [{ type: 'put', key: '/p', value: '1' }] });
    await s.close();
    expect((await pending).succeeded).toBe(true); // queued before close: committed by close
    await expect(s.txn({ compare: [], success: [] })).rejects.toBeInstanceOf(StoreClosedError);
    await expect(s.get('/p')).rejects.toBeInstanceOf(StoreClosedError);
  });
});
