import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdStore } from '../../../src/store/etcd.js';
import type { WatchEvent } from '../../../src/store/types.js';
import { EtcdCluster } from '../../support/etcd.js';
import { waitFor } from '../../unit/store/watch-recorder.js';

let cluster: EtcdCluster;
beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
});
afterAll(async () => {
  await cluster?.stop();
});

it('3-member etcd: killing the leader under write load loses no acknowledged write and the watch has no gap', async () => {
  const store = await EtcdStore.connect({ hosts: cluster.urls, prefix: '/leader-kill/' });
  const start = (await store.revision()) + 1;
  const seen: Array<{ revision: number; events: readonly WatchEvent[] }> = [];
  const watch = store.watch('/w/', start, { onEvents: (events, revision) => seen.push({ revision, events }) });
  const acked = new Map<string, number>();
  let failures = 0;
  let stop = false;
  let n = 0;
  const writer = async (): Promise<void> => {
    while (!stop) {
      const key = `/w/${n++}`;
      try {
        const r = await store.txn({ compare: [{ key, target: 'createRevision', op: '=', value: 0 }], success: [{ type: 'put', key, value: key }] });
        if (r.succeeded) acked.set(key, r.revision);
      } catch {
        failures++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const writers = Array.from({ length: 8 }, writer);
  await waitFor(() => acked.size >= 200, 30_000);
  const leader = await cluster.leader();
  await leader.kill();
  const atKill = acked.size;
  await waitFor(() => acked.size >= atKill + 300, 60_000);
  stop = true;
  await Promise.all(writers);

  const present = new Map((await store.range('/w/')).kvs.map((kv) => [kv.key, kv.modRevision]));
  for (const [key, revision] of acked) expect(present.get(key)).toBe(revision);
  await waitFor(() => seen.length > 0 && seen[seen.length - 1].revision >= Math.max(...present.values()), 30_000);
  const revisions = seen.map((b) => b.revision);
  expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
  const watched = new Map(seen.flatMap((b) => b.events.map((e) => [e.key, e.revision] as const)));
  expect(watched).toEqual(present); // every committed write seen once, including unacknowledged ones that landed
  console.log(`leader-kill: ${acked.size} acknowledged, ${failures} failed attempts, ${present.size} present`);
  await watch.cancel();
  await store.close();
}, 120_000);
