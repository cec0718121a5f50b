/**
 * /metrics on the API server and on a controller (fake switch and OVSDB): the exposition parses
 * strictly, and the series move with API calls, store transactions, watches and sync passes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalController } from '../../../src/controller/controller.js';
import { controllerMetrics } from '../../../src/metrics/controller-metrics.js';
import { serveMetrics } from '../../../src/metrics/http.js';
import { createRegistry } from '../../../src/metrics/registry.js';
import { instrumentServer } from '../../../src/metrics/server-metrics.js';
import { resourceLabel } from '../../../src/metrics/api-metrics.js';
import { NeutronApi } from '../../../src/server/app.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeSwitch } from '../../../src/testing/fake-switch.js';
import { FakeSwitchDb } from '../../../src/testing/fake-switch-db.js';
import { sampleSum, scrape } from '../../support/prom-text.js';

const HEADERS = { 'content-type': 'application/json', 'x-project-id': 'p', 'x-roles': 'admin' };

async function startApi(store: MemoryStore): Promise<{ url: string; close: () => Promise<void>; api: NeutronApi; inst: ReturnType<typeof instrumentServer> }> {
  const inst = instrumentServer(store, createRegistry({ process: true }));
  const api = new NeutronApi(inst.store, { onError: () => {}, onResponse: inst.onResponse, preHandlers: [inst.handler] });
  inst.attach(api);
  const { server, url } = await api.listen('127.0.0.1', 0);
  return {
    url,
    api,
    inst,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('resourceLabel', () => {
  const isCollection = (c: string): boolean => ['ports', 'routers'].includes(c);
  const isAction = (c: string, a: string): boolean => c === 'routers' && a === 'add_router_interface';
  it.each([
    ['/', 'versions'],
    ['/v2.0', 'resources'],
    ['/v2.0/', 'resources'],
    ['/v2.0/extensions/foo', 'extensions'],
    ['/v2.0/ports', 'ports'],
    ['/v2.0/ports.json?name=x', 'ports'],
    ['/v2.0/ports/abc', 'ports'],
    ['/v2.0/ports/abc/tags/t', 'ports/tags'],
    ['/v2.0/routers/r/add_router_interface', 'routers/add_router_interface'],
    ['/v2.0/routers/r/whatever', 'other'],
    ['/v2.0/nonsense-12345', 'other'],
    ['/favicon.ico', 'other'],
  ])('%s → %s', (url, label) => {
    expect(resourceLabel(url, isCollection, isAction)).toBe(label);
  });
});

describe('API server /metrics', () => {
  it('counts requests by resource, method and status; times store transactions and watch deliveries', async () => {
    const store = new MemoryStore();
    const { url, close, inst } = await startApi(store);
    // A watcher through the measured store (as the store's HTTP service opens them).
    let delivered = 0;
    const w = inst.store.watch('/nb/', 0, { onEvents: (evs) => void (delivered += evs.length) });
    try {
      const before = await scrape(`${url}/metrics`);
      expect(sampleSum(before, 'wyvern_api_requests_total')).toBe(0);
      expect(before.get('wyvern_api_request_duration_seconds')?.type).toBe('histogram');
      expect(before.get('process_cpu_seconds_total')?.type).toBe('counter');

      const post = await fetch(`${url}/v2.0/networks`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ network: { name: 'n1' } }) });
      expect(post.status).toBe(201);
      expect((await fetch(`${url}/v2.0/networks`, { headers: HEADERS })).status).toBe(200);
      expect((await fetch(`${url}/v2.0/networks/nope`, { headers: HEADERS })).status).toBe(404);
      expect((await fetch(`${url}/v2.0/bogus`, { headers: HEADERS })).status).toBe(404);
      for (let i = 0; i < 50 && delivered === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(delivered).toBeGreaterThan(0);

      const after = await scrape(`${url}/metrics`);
      expect(sampleSum(after, 'wyvern_api_requests_total', { resource: 'networks', method: 'POST', status: '201' })).toBe(1);
      expect(sampleSum(after, 'wyvern_api_requests_total', { resource: 'networks', method: 'GET', status: '200' })).toBe(1);
      expect(sampleSum(after, 'wyvern_api_requests_total', { resource: 'networks', method: 'GET', status: '404' })).toBe(1);
      expect(sampleSum(after, 'wyvern_api_requests_total', { resource: 'other', status: '404' })).toBe(1);
      expect(sampleSum(after, 'wyvern_api_request_duration_seconds_count', { resource: 'networks', method: 'GET' })).toBe(2);
      expect(sampleSum(after, 'wyvern_store_txn_duration_seconds_count', { driver: 'memory', outcome: 'committed' })).toBeGreaterThanOrEqual(1);
      expect(sampleSum(after, 'wyvern_store_watch_lag_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(sampleSum(after, 'wyvern_store_watches')).toBe(1);
      expect(sampleSum(after, 'wyvern_store_revision')).toBe(await store.revision());

      // Scrapes themselves are not API requests.
      const again = await scrape(`${url}/metrics`);
      expect(sampleSum(again, 'wyvern_api_requests_total')).toBe(sampleSum(after, 'wyvern_api_requests_total'));
      await w.cancel();
      expect(sampleSum(await scrape(`${url}/metrics`), 'wyvern_store_watches')).toBe(0);
    } finally {
      await w.cancel();
      await close();
      await store.close();
    }
  });
});

describe('controller /metrics', () => {
  it('shows applied revision, flows by stage, bundles, connections and packet-in reasons', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-metrics-'));
    const store = new MemoryStore();
    const { url, close } = await startApi(store);
    const sw = new FakeSwitch();
    await sw.listen(path.join(dir, 'sw.sock'));
    const db = new FakeSwitchDb();
    const registry = createRegistry();
    const metrics = controllerMetrics(registry);
    const ctrl = new LocalController({
      chassis: 'hv1',
      nb: 'memory:',
      store,
      switchDb: db,
      ovsdb: 'unix:/nonexistent',
      openflow: `unix:${path.join(dir, 'sw.sock')}`,
      tunnelIp: '192.0.2.1',
      datapathType: 'dummy',
      version: '9.9.9',
      observer: metrics.observer,
    });
    metrics.attach(() => ctrl.probe());
    const served = await serveMetrics(registry, '127.0.0.1', 0);
    try {
      // Before start: the endpoint answers (nothing applied yet).
      const early = await scrape(served.url);
      expect(sampleSum(early, 'wyvern_controller_applied_revision')).toBe(0);
      await ctrl.start();
      const post = async (kind: string, b: Record<string, unknown>): Promise<{ id: string }> => {
        const res = await fetch(`${url}/v2.0/${kind}s`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ [kind]: b }) });
        expect(res.status).toBe(201);
        return ((await res.json()) as Record<string, { id: string }>)[kind];
      };
      const net = await post('network', { name: 'n' });
      await post('subnet', { network_id: net.id, cidr: '10.0.0.0/24', ip_version: 4 });
      const port = await post('port', { network_id: net.id, 'binding:host_id': 'hv1' });
      db.plug([{ name: 'tap1', ifaceId: port.id, ofport: 7 }]);
      await ctrl.waitForRevision(await store.revision());
      for (let i = 0; i < 200 && ctrl.stats().localPorts === 0; i++) await new Promise((r) => setTimeout(r, 25));

      const m = await scrape(served.url);
      expect(m.get('wyvern_controller_info')?.samples[0].labels).toEqual({ chassis: 'hv1', version: '9.9.9', l3_mode: 'proactive', gateway: 'false' });
      expect(sampleSum(m, 'wyvern_controller_applied_revision')).toBeGreaterThanOrEqual(await store.revision() - 1);
      expect(sampleSum(m, 'wyvern_controller_revision_lag')).toBeGreaterThanOrEqual(0);
      const stats = ctrl.stats();
      expect(sampleSum(m, 'wyvern_controller_flows')).toBe(stats.installedFlows);
      expect(sampleSum(m, 'wyvern_controller_flows', { stage: 'classify' })).toBeGreaterThan(0);
      expect(sampleSum(m, 'wyvern_controller_local_ports')).toBe(1);
      expect(sampleSum(m, 'wyvern_controller_bundle_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
      // (A pass may be in flight: its mods are counted as sent before its bundle is answered.)
      expect(sampleSum(m, 'wyvern_controller_bundle_messages_total', { outcome: 'ok' })).toBeGreaterThan(0);
      expect(sampleSum(m, 'wyvern_controller_bundle_messages_total', { outcome: 'ok' })).toBeLessThanOrEqual(stats.flowModsSent + stats.groupModsSent);
      expect(sampleSum(m, 'wyvern_controller_flow_mods_total')).toBe(stats.flowModsSent);
      expect(sampleSum(m, 'wyvern_controller_sync_duration_seconds_count')).toBeGreaterThan(0);
      expect(sampleSum(m, 'wyvern_controller_connection_up', { connection: 'openflow' })).toBe(1);
      expect(sampleSum(m, 'wyvern_controller_reconnects_total', { connection: 'openflow' })).toBe(0);
      expect(m.get('wyvern_controller_packet_ins_total')?.samples.map((s) => s.labels.reason).sort()).toEqual(
        ['dhcp', 'icmp_echo', 'no_route', 'reactive_miss', 'ttl_exceeded', 'unknown'],
      );

      // The switch goes away and comes back: the channel reconnects and says so.
      await sw.close();
      for (let i = 0; i < 100 && ctrl.probe().openflow === 'connected'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sampleSum(await scrape(served.url), 'wyvern_controller_connection_up', { connection: 'openflow' })).toBe(0);
      await sw.listen(path.join(dir, 'sw.sock'));
      for (let i = 0; i < 200 && ctrl.probe().openflow !== 'connected'; i++) await new Promise((r) => setTimeout(r, 25));
      const back = await scrape(served.url);
      expect(sampleSum(back, 'wyvern_controller_connection_up', { connection: 'openflow' })).toBe(1);
      expect(sampleSum(back, 'wyvern_controller_reconnects_total', { connection: 'openflow' })).toBe(1);
    } finally {
      await ctrl.stop();
      await served.close();
      await sw.close();
      await close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
