/**
 * An API server's status record and liveness key (model/status.ts), written by `wyvern server`
 * at start: the record without a lease (a server that died stays known), the liveness key under
 * a lease the server keeps alive. A clean stop removes both; a crash leaves the record, and
 * `wyvern status` reports that server down once its lease expires.
 */
import os from 'node:os';
import type { Lease, Store } from '../store/types.js';
import { serverLiveKey, serverStatusKey, type ServerStatusRecord } from '../model/status.js';

/** `sqlite:PATH`, `etcd:URL,...` with any `user:password@` taken out of its URLs. */
export function publicStoreUrl(url: string): string {
  return url.replace(/\/\/[^/@,]*@/g, '//');
}

/** The id of a server: its listen address, with characters a key should not hold replaced. */
export function serverId(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.:_-]/g, '_');
}

export interface ServerRegistration {
  readonly id: string;
  /** Revoke the lease and delete the record (a clean stop). */
  stop(): Promise<void>;
}

export async function registerServer(
  store: Store,
  o: { readonly url: string; readonly storeUrl: string; readonly version: string; readonly ttlSeconds?: number; readonly log?: (line: string) => void },
): Promise<ServerRegistration> {
  const id = serverId(o.url);
  const record: ServerStatusRecord = {
    id,
    url: o.url,
    version: o.version,
    hostname: os.hostname(),
    pid: process.pid,
    store: publicStoreUrl(o.storeUrl),
    metrics_url: `${o.url}/metrics`,
    started_at: new Date().toISOString(),
  };
  let stopped = false;
  let lease: Lease | undefined;
  const register = async (): Promise<void> => {
    const l = await store.grantLease(o.ttlSeconds ?? 10);
    lease = l;
    await store.txn({
      compare: [],
      success: [
        { type: 'put', key: serverStatusKey(id), value: JSON.stringify(record) },
        { type: 'put', key: serverLiveKey(id), value: JSON.stringify({ id, lease_ttl_seconds: l.ttlSeconds }), lease: l.id },
      ],
    });
    l.onLost((err) => {
      if (stopped || lease !== l) return;
      o.log?.(`server lease lost (${err.message}); registering again`);
      const retry = (delay: number): void => {
        setTimeout(() => {
          if (!stopped) register().catch(() => retry(Math.min(delay * 2, 5_000)));
        }, delay).unref();
      };
      retry(100);
    });
  };
  await register();
  return {
    id,
    async stop() {
      stopped = true;
      await store.txn({ compare: [], success: [{ type: 'delete', key: serverStatusKey(id) }] }).catch(() => undefined);
      await lease?.revoke().catch(() => undefined);
    },
  };
}
