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
import { WatchRecorder } from './watch-recorder.js';

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
    await new Promise((r) => setTimeout(r, 100));
    const revs: number[] = [];
    for (let i = 0; i < 10; i++) {
      revs.push((await mem.txn({ compare: [], success: [{ type: 'put', key: `/s/${i}`, value: String(i) }] })).revision);
      await new Promise((r) => setTimeout(r, 60));
    }
    await rec.until(() => rec.batches.length >= 10);
    await new Promise((r) => setTimeout(r, 400));
    expect(rec.batches.map((b) => b.revision)).toEqual(revs);
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
