import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import type { Compare, Op, Store, TxnRequest, WatchEvent } from '../../../src/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'wyvern-agree-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = fc.constantFrom('/a', '/a/1', '/a/2', '/b', '/b/1');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key, value: fc.constantFrom('x', 'y', 'z') }),
  fc.record({ type: fc.constant('delete' as const), key }),
  fc.record({ type: fc.constant('deletePrefix' as const), prefix: fc.constantFrom('/a', '/a/', '/b') }),
);
const compare: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({ key, target: fc.constant('value' as const), op: fc.constantFrom('=', '!=', '<', '>'), value: fc.constantFrom('x', 'y', 'z') }),
  fc.record({ key, target: fc.constantFrom('version', 'createRevision', 'modRevision'), op: fc.constantFrom('=', '!=', '<', '>'), value: fc.integer({ min: 0, max: 6 }) }),
);
const txn: fc.Arbitrary<TxnRequest> = fc.record({
  compare: fc.array(compare, { maxLength: 2 }),
  success: fc.array(op, { maxLength: 3 }),
  failure: fc.array(op, { maxLength: 2 }),
});

async function run(store: Store, txns: readonly TxnRequest[]): Promise<unknown> {
  const events: Array<[number, readonly WatchEvent[]]> = [];
  const start = (await store.revision()) + 1;
  const results = [];
  for (const t of txns) results.push(await store.txn(t));
  const final = await store.range('/');
  const w = store.watch('/', start, { onEvents: (e, r) => events.push([r, e]) });
  await new Promise((r) => setTimeout(r, 5));
  await w.cancel();
  await store.close();
  return { results, final, events };
}

it('memory and sqlite give identical results, state and watch history for random transactions', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(txn, { maxLength: 12 }), async (txns) => {
      const mem = await run(new MemoryStore(), txns);
      const sql = await run(SqliteStore.open(join(dir, `agree-${n++}.db`)), txns);
      expect(sql).toEqual(mem);
    }),
    { numRuns: 60 },
  );
});
