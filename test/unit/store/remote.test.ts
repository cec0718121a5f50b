import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidStoreRequestError, StoreUnavailableError } from '../../../src/store/errors.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { openStore } from '../../../src/store/open.js';
import { RemoteStore } from '../../../src/store/remote.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { storeConformance } from './conformance.js';
import { StoreServer } from './store-server.js';
import { WatchRecorder, waitFor } from './watch-recorder.js';
import { resourceKey } from '../../../src/model/keys.js';
import { encodeRecord } from '../../../src/model/record-codec.js';
import { STORE_ROUTES, nbSubjects } from '../../../src/model/subjects.js';

const dir = mkdtempSync(join(tmpdir(), 'wyvern-remote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let backing: SqliteStore;
let server: StoreServer;
storeConformance('remote over sqlite', {
  open: async () => {
    backing = SqliteStore.open(join(dir, 'remote.db'));
    server = new StoreServer(backing, { heartbeatMs: 200 });
    await server.start();
    return openStore(server.url);
  },
  teardown: async () => {
    await server.stop();
    await backing.close();
  },
  disrupt: async () => server.restart(300),
});

describe('remote store specifics', () => {
  it('reconnects a silent watch stream (no heartbeats) without losing or repeating events', async () => {
    const mem = new MemoryStore();
    const srv = new StoreServer(mem, { heartbeatMs: 60_000 });
    await srv.start();
    const remote = new RemoteStore(srv.url, { heartbeatTimeoutMs: 150 });
    const rec = new WatchRecorder(remote, '/s/', (await mem.revision()) + 1);
    const put = async (key: string): Promise<number> => (await mem.txn({ compare: [], success: [{ type: 'put', key: `/s/${key}`, value: key }] })).revision;
    const revs: number[] = [];
    // No heartbeats: each silence longer than the timeout must make the client drop its stream
    // (the service sees it close) and open a new one. One write lands on a live stream, one in
    // the gap between two streams: both must arrive, once each.
    for (let round = 0; round < 3; round++) {
      await waitFor(() => srv.watchStreamsOpened > round, 5_000, () => `stream ${round + 1} never opened`);
      revs.push(await put(`live${round}`));
      await rec.until(() => rec.batches.length === revs.length);
      await waitFor(() => srv.watchStreamsClosed > round, 5_000, () => `silent stream ${round + 1} was never dropped`);
      revs.push(await put(`gap${round}`));
    }
    await waitFor(() => srv.watchStreamsOpened >= 4, 5_000, () => 'no stream after the last drop');
    // Positive end marker: everything before it was delivered (in order) once it arrives.
    revs.push(await put('end'));
    await rec.until(() => rec.batches.some((b) => b.revision === revs.at(-1)));
    expect(rec.batches.map((b) => b.revision)).toEqual(revs);
    expect(srv.watchStreamsOpened).toBeGreaterThanOrEqual(4);
    expect(rec.error).toBeUndefined();
    await remote.close();
    await srv.stop();
    await mem.close();
  });

  it('maps failures to typed errors: unreachable → recoverable StoreUnavailableError, bad input → InvalidStoreRequestError', async () => {
    const gone = new RemoteStore('http://127.0.0.1:1', { requestTimeoutMs: 2000 });
    const err = await gone.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).recoverable).toBe(true);
    const mem = new MemoryStore();
    const srv = new StoreServer(mem);
    await srv.start();
    const remote = new RemoteStore(srv.url);
    await expect(remote.txn({ compare: [], success: [{ type: 'put', key: '', value: 'x' }] })).rejects.toBeInstanceOf(InvalidStoreRequestError);
    const res = await fetch(`${srv.url}/wyvern/store/v1/txn`, { method: 'POST', body: '{not json' });
    expect(res.status).toBe(400);
    expect((await fetch(`${srv.url}/v2.0/networks`)).status).toBe(404);
    await remote.close();
    await srv.stop();
    await mem.close();
  });
});

describe('remote leases', () => {
  it('reports a kept lease lost when the server stays unreachable past the TTL', async () => {
    const mem = new MemoryStore();
    const srv = new StoreServer(mem);
    await srv.start();
    const remote = new RemoteStore(srv.url, { requestTimeoutMs: 500 });
    const lease = await remote.grantLease(1);
    const lost = new Promise<Error>((r) => lease.onLost(r));
    await srv.stop();
    const err = await lost;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    await remote.close();
    await mem.close();
  });
});

describe('remote routed watches', () => {
  const portRec = (id: string, net: string): string => encodeRecord({ id, network_id: net, device_owner: '', device_id: '', security_groups: [] });
  const putPort = async (mem: MemoryStore, id: string, net: string): Promise<number> =>
    (await mem.txn({ compare: [], success: [{ type: 'put', key: resourceKey('ports', id), value: portRec(id, net) }] })).revision;

  it('the service sends only the subjects asked for, progress for the rest, and routes again after a reconnect', async () => {
    const mem = new MemoryStore();
    const srv = new StoreServer(mem, { heartbeatMs: 200, routes: STORE_ROUTES });
    await srv.start();
    const remote = new RemoteStore(srv.url, { heartbeatTimeoutMs: 1000 });
    const got: Array<{ revision: number; keys: string[] }> = [];
    const w = remote.watch('/nb/', (await mem.revision()) + 1, { onEvents: (evs, revision) => got.push({ revision, keys: evs.map((e) => e.key) }) });
    await w.setInterest!(nbSubjects, new Set(['net:A']));
    const a1 = await putPort(mem, 'a1', 'A');
    const b1 = await putPort(mem, 'b1', 'B');
    const until = (rev: number): Promise<void> => waitFor(() => got.some((g) => g.revision >= rev), 5_000, () => `revision ${rev} not seen: ${JSON.stringify(got)}`);
    await until(b1);
    expect(got.filter((g) => g.keys.length > 0)).toEqual([{ revision: a1, keys: [resourceKey('ports', 'a1')] }]);
    expect(got.at(-1)).toEqual({ revision: b1, keys: [] });
    // The service restarts: the new stream resumes from the next revision, unrouted (everything:
    // safe) until the client has routed it again. Write B ports until one arrives as progress.
    const streamsBefore = srv.watchStreamsOpened;
    await srv.restart(100);
    let routedAt: number | undefined;
    for (let i = 0; i < 100 && routedAt === undefined; i++) {
      const b = await putPort(mem, `b${i + 2}`, 'B');
      await until(b);
      if (got.at(-1)?.revision === b && got.at(-1)?.keys.length === 0) routedAt = b;
    }
    expect(srv.watchStreamsOpened, 'a new watch stream after the restart').toBeGreaterThan(streamsBefore);
    expect(routedAt, `routing came back on the new stream: ${JSON.stringify(got.slice(-5))}`).toBeDefined();
    // Routed from then on: more B ports arrive as progress only, the next A port with its event.
    for (let i = 0; i < 5; i++) await putPort(mem, `late-b${i}`, 'B');
    const a2 = await putPort(mem, 'a2', 'A');
    await until(a2);
    expect(got.filter((g) => g.revision > routedAt! && g.keys.length > 0)).toEqual([{ revision: a2, keys: [resourceKey('ports', 'a2')] }]);
    const withEvents = got.filter((g) => g.keys.length > 0).map((g) => g.keys[0]);
    expect(withEvents[0]).toBe(resourceKey('ports', 'a1'));
    expect(got.at(-1)).toEqual({ revision: a2, keys: [resourceKey('ports', 'a2')] });
    // Revisions only ever grow: nothing twice, nothing out of order.
    expect(got.map((g) => g.revision)).toEqual([...got.map((g) => g.revision)].sort((x, y) => x - y));
    expect(new Set(got.map((g) => g.revision)).size).toBe(got.length);
    await remote.close();
    await srv.stop();
    await mem.close();
  });

  it('a service that does not route leaves the watch unrouted: every event still arrives', async () => {
    const mem = new MemoryStore();
    const srv = new StoreServer(mem); // no routes
    await srv.start();
    const remote = new RemoteStore(srv.url);
    const keys: string[] = [];
    const w = remote.watch('/nb/', (await mem.revision()) + 1, { onEvents: (evs) => keys.push(...evs.map((e) => e.key)) });
    await w.setInterest!(nbSubjects, new Set(['net:A']));
    await putPort(mem, 'b1', 'B');
    for (let i = 0; i < 100 && keys.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(keys).toEqual([resourceKey('ports', 'b1')]);
    await remote.close();
    await srv.stop();
    await mem.close();
  });
});
