import { InvalidStoreRequestError } from './errors.js';
import { MemoryStore } from './memory.js';
import type { Store } from './types.js';

/**
 * Open a store from its URL:
 * - `memory:` — in-process, nothing persisted;
 * - `sqlite:PATH` — embedded, durable (WAL, synchronous=FULL);
 * - `etcd:URL[,URL...]` — an etcd v3 cluster; keys live under `/wyvern/` unless `?prefix=` says otherwise;
 * - `http://HOST:PORT` — a Wyvern server's embedded store over HTTP.
 */
export async function openStore(url: string): Promise<Store> {
  if (url === 'memory:' || url === 'memory') return new MemoryStore();
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new InvalidStoreRequestError('sqlite: needs a path');
    const { SqliteStore } = await import('./sqlite.js');
    return SqliteStore.open(path);
  }
  if (url.startsWith('etcd:')) {
    const { EtcdStore } = await import('./etcd.js');
    return EtcdStore.connect(url);
  }
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const { RemoteStore } = await import('./remote.js');
    return new RemoteStore(url);
  }
  throw new InvalidStoreRequestError(`unknown store URL ${url} (memory:, sqlite:PATH, etcd:URL[,URL], http://HOST:PORT)`);
}
