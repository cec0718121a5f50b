/**
 * Fault: `kill -9` of the API server during a stream of creates (issue 14, step 5), on sqlite
 * and on etcd. After a restart every acknowledged create is there, with what was acknowledged,
 * and nothing is half made: every address, MAC and port-key claim belongs to a port that exists
 * and holds it, and every port holds claims for its address, MAC and key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { IPAM_PREFIX, ipKey, macKey, PORT_KEY_PREFIX, PORTS_PREFIX, portKeyKey } from '../../../src/model/keys.js';
import type { PortRecord } from '../../../src/model/records.js';
import { tsxLoader } from '../../../src/sandbox/launch.js';
import { openStore } from '../../../src/store/open.js';
import { EtcdProcess } from '../../support/etcd.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
/** Creates acknowledged before the kill; with 8 in flight, several are cut short by it. */
const ACKED_BEFORE_KILL = 150;
const IN_FLIGHT = 8;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

function startServer(storeUrl: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', tsxLoader(), MAIN, 'server', '--listen', '127.0.0.1:0', '--store', storeUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited ${code ?? signal}: ${out}`));
    });
  });
}

async function call(url: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, Record<string, unknown>> }> {
  const res = await fetch(url + p, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Project-Id': 'p1' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const killed = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

for (const kind of ['sqlite', 'etcd'] as const) {
  describe(`fault: kill -9 of the API server during creates (${kind})`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `wyvern-fault-api-${kind}-`));
    let etcd: EtcdProcess | undefined;
    let server: Server | undefined;

    afterAll(async () => {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGTERM');
        await killed(server.child);
      }
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every acknowledged port, and leaves nothing half made', async () => {
      let storeUrl = `sqlite:${path.join(dir, 'nb.sqlite')}`;
      if (kind === 'etcd') {
        etcd = await EtcdProcess.start();
        storeUrl = `etcd:${etcd.url}`;
      }
      server = await startServer(storeUrl);
      const net = await call(server.url, 'POST', '/v2.0/networks', { network: { name: 'n' } });
      expect(net.status).toBe(201);
      const networkId = net.body.network.id as string;
      expect((await call(server.url, 'POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: '10.8.0.0/20' } })).status).toBe(201);

      // A stream of creates, IN_FLIGHT at a time; kill -9 once enough are acknowledged.
      const acked = new Map<string, Record<string, unknown>>();
      const victim = server;
      let stop = false;
      const worker = async (): Promise<void> => {
        while (!stop) {
          try {
            const r = await call(victim.url, 'POST', '/v2.0/ports', { port: { network_id: networkId, device_owner: 'compute:nova' } });
            if (r.status === 201) acked.set(r.body.port.id as string, r.body.port);
            if (acked.size >= ACKED_BEFORE_KILL && !victim.child.killed) victim.child.kill('SIGKILL');
          } catch {
            stop = true; // the server is gone: this create was not acknowledged
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()));
      await killed(victim.child);
      expect(victim.child.signalCode).toBe('SIGKILL');
      expect(acked.size).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);

      // Restarted on the same store: every acknowledged port is there as it was acknowledged.
      server = await startServer(storeUrl);
      const listed = await call(server.url, 'GET', `/v2.0/ports?network_id=${networkId}`);
      const ports = new Map((listed.body.ports as unknown as Array<Record<string, unknown>>).map((p) => [p.id as string, p]));
      const missing = [...acked.keys()].filter((id) => !ports.has(id));
      expect(missing, 'acknowledged ports missing after the restart').toEqual([]);
      for (const [id, p] of acked) {
        expect(ports.get(id)!.fixed_ips, `port ${id}`).toEqual(p.fixed_ips);
        expect(ports.get(id)!.mac_address, `port ${id}`).toBe(p.mac_address);
      }
      console.log(`${kind}: ${acked.size} creates acknowledged before kill -9, ${ports.size} ports after the restart`);

      // Nothing half made, read straight from the store.
      const store = await openStore(storeUrl);
      try {
        const records = (await store.range(PORTS_PREFIX)).kvs.map((kv) => JSON.parse(kv.value) as PortRecord);
        // The claims a port create makes: its addresses, its MAC, its OpenFlow key.
        const claimPrefixes = [`${IPAM_PREFIX}ip/`, `${IPAM_PREFIX}mac/`, PORT_KEY_PREFIX];
        const claims = new Map(
          (await store.range(IPAM_PREFIX)).kvs.filter((kv) => claimPrefixes.some((x) => kv.key.startsWith(x))).map((kv) => [kv.key, kv.value]),
        );
        const expected = new Map<string, string>();
        for (const p of records) {
          for (const f of p.fixed_ips) expected.set(ipKey(f.subnet_id, f.ip_address), p.id);
          expected.set(macKey(p.network_id, p.mac_address), p.id);
          expected.set(portKeyKey(p.key), p.id);
        }
        const orphanClaims = [...claims].filter(([k, v]) => expected.get(k) !== v);
        const unclaimed = [...expected].filter(([k, v]) => claims.get(k) !== v);
        expect(orphanClaims, 'claims held by no port (or by another port)').toEqual([]);
        expect(unclaimed, 'port fields without their claim').toEqual([]);
        expect(records.length).toBe(ports.size);
      } finally {
        await store.close();
      }
    }, 180_000);
  });
}
