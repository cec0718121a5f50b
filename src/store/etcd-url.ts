import { InvalidStoreRequestError } from './errors.js';

export interface EtcdStoreOptions {
  readonly hosts: readonly string[];
  /** Every key is stored under this prefix (default `/wyvern/`). */
  readonly prefix?: string;
}

/** `etcd:URL[,URL...][?prefix=/p/]` → options. Bare `host:port` gets `http://`. */
export function parseEtcdUrl(url: string): EtcdStoreOptions {
  if (!url.startsWith('etcd:')) throw new InvalidStoreRequestError(`not an etcd URL: ${url}`);
  let rest = url.slice('etcd:'.length);
  let prefix: string | undefined;
  const q = rest.indexOf('?');
  if (q >= 0) {
    prefix = new URLSearchParams(rest.slice(q + 1)).get('prefix') ?? undefined;
    rest = rest.slice(0, q);
  }
  const hosts = rest
    .split(',')
    .map((h) => h.trim().replace(/^\/\//, ''))
    .filter((h) => h !== '')
    .map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`));
  if (hosts.length === 0) throw new InvalidStoreRequestError('etcd: needs at least one URL');
  return { hosts, ...(prefix !== undefined ? { prefix } : {}) };
}
