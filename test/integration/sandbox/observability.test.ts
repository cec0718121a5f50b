/**
 * The operator's view on a real sandbox (2 chassis, real OVS and controllers): every metrics
 * endpoint `sandbox status --json` lists parses strictly and moves with API calls and DHCP
 * traffic; `wyvern status` reports the cloud healthy, then a controller killed -9 as down within
 * its lease TTL (10 s) and exits 1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsxLoader } from '../../../src/sandbox/launch.js';
import { ownedPid } from '../../../src/sandbox/processes.js';
import { status, up } from '../../../src/sandbox/sandbox.js';
import { SandboxState } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { createVm } from '../../../src/sandbox/vm.js';
import type { StatusReport } from '../../../src/status/collect.js';
import { sampleSum, scrape } from '../../support/prom-text.js';

const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** `wyvern status --nb URL --json` as an operator runs it: exit code and report. */
function wyvernStatus(nb: string): Promise<{ code: number; report: StatusReport }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', tsxLoader(), main, 'status', '--nb', nb, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.on('error', reject);
    p.on('exit', (code) => {
      try {
        resolve({ code: code ?? -1, report: JSON.parse(Buffer.concat(out).toString('utf8')) as StatusReport });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

async function api(url: string, method: string, p: string, body?: unknown): Promise<Record<string, { id: string }>> {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-project-id': 'demo' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, { id: string }>;
}

describe('sandbox metrics and wyvern status', () => {
  let root: string;
  let dir: string;
  let state: SandboxState;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-observability-'));
    dir = path.join(root, 'sb');
    state = await up({ dir, chassis: 2, store: 'sqlite', apiPort: 0 });
  });
  afterAll(async () => {
    if (dir && SandboxState.exists(dir)) await teardown(dir);
    rmSync(root, { recursive: true, force: true });
  });

  it('lists every metrics endpoint; each parses and moves with API calls and DHCP', async () => {
    const s = await status(dir);
    const urls = Object.fromEntries((s?.metrics ?? []).map((m) => [m.name, m.url]));
    expect(Object.keys(urls).sort()).toEqual(['controller-hv1', 'controller-hv2', 'server']);
    expect(s?.chassis.map((c) => c.metricsUrl)).toEqual([urls['controller-hv1'], urls['controller-hv2']]);
    const apiUrl = state.data.apiUrl as string;

    const before = Object.fromEntries(await Promise.all(Object.entries(urls).map(async ([n, u]) => [n, await scrape(u)] as const)));
    const net = await api(apiUrl, 'POST', '/v2.0/networks', { network: { name: 'blue' } });
    await api(apiUrl, 'POST', '/v2.0/subnets', { subnet: { network_id: net.network.id, cidr: '10.9.0.0/24', ip_version: 4 } });
    const { lease } = await createVm(state, { name: 'vm1', network: 'blue', chassis: 'hv1' });
    expect(lease?.address).toMatch(/^10\.9\.0\./);

    const server = await scrape(urls.server);
    const posted = (m: typeof server): number => sampleSum(m, 'wyvern_api_requests_total', { resource: 'networks', method: 'POST', status: '201' });
    expect(posted(server) - posted(before.server)).toBe(1);
    expect(sampleSum(server, 'wyvern_api_requests_total', { resource: 'ports', method: 'POST', status: '201' })).toBeGreaterThanOrEqual(1);
    expect(sampleSum(server, 'wyvern_store_txn_duration_seconds_count', { outcome: 'committed' })).toBeGreaterThan(
      sampleSum(before.server, 'wyvern_store_txn_duration_seconds_count', { outcome: 'committed' }),
    );
    // Remote controllers watch through the server: their deliveries are timed.
    expect(sampleSum(server, 'wyvern_store_watches')).toBeGreaterThanOrEqual(2);
    expect(sampleSum(server, 'wyvern_store_watch_lag_seconds_count')).toBeGreaterThan(0);

    const hv1 = await scrape(urls['controller-hv1']);
    expect(sampleSum(hv1, 'wyvern_controller_packet_ins_total', { reason: 'dhcp' })).toBeGreaterThan(
      sampleSum(before['controller-hv1'], 'wyvern_controller_packet_ins_total', { reason: 'dhcp' }),
    );
    expect(sampleSum(hv1, 'wyvern_controller_dhcp_replies_total')).toBeGreaterThan(0);
    expect(sampleSum(hv1, 'wyvern_controller_local_ports')).toBe(1);
    expect(sampleSum(hv1, 'wyvern_controller_flows')).toBeGreaterThan(sampleSum(before['controller-hv1'], 'wyvern_controller_flows'));
    expect(sampleSum(hv1, 'wyvern_controller_bundle_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(sampleSum(hv1, 'wyvern_controller_connection_up', { connection: 'openflow' })).toBe(1);
    expect(sampleSum(hv1, 'wyvern_controller_connection_up', { connection: 'ovsdb' })).toBe(1);
    expect(sampleSum(hv1, 'wyvern_controller_applied_revision')).toBeGreaterThan(0);
    expect(hv1.get('process_resident_memory_bytes')?.type).toBe('gauge');
  });

  it('wyvern status: healthy, then a controller killed -9 is down within its lease TTL', async () => {
    const apiUrl = state.data.apiUrl as string;
    // The status records follow within their 2 s interval.
    let r = await wyvernStatus(apiUrl);
    for (let i = 0; i < 20 && !(r.code === 0 && r.report.chassis.find((c) => c.name === 'hv1')?.local_ports === 1); i++) {
      await new Promise((res) => setTimeout(res, 500));
      r = await wyvernStatus(apiUrl);
    }
    expect(r.code).toBe(0);
    expect(r.report.healthy).toBe(true);
    expect(r.report.servers).toEqual([expect.objectContaining({ url: apiUrl, alive: true, store: state.data.store })]);
    expect(r.report.chassis.map((c) => [c.name, c.alive, c.openflow, c.ovsdb])).toEqual([
      ['hv1', true, 'connected', 'connected'],
      ['hv2', true, 'connected', 'connected'],
    ]);
    const hv1 = r.report.chassis[0];
    expect(hv1.ports_bound).toBe(1);
    expect(hv1.flows).toBeGreaterThan(0);
    expect(hv1.applied_revision).toBeGreaterThan(0);
    expect(hv1.metrics_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const ctl = state.refresh().processes.find((p) => p.name === 'controller-hv2');
    const pid = ownedPid(ctl!.pidFile, state.dir);
    expect(pid).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    // When the run that first saw it down started (a run itself takes a second or so: tsx).
    let seenAt = killedAt;
    for (;;) {
      seenAt = Date.now();
      r = await wyvernStatus(apiUrl);
      if (r.code !== 0 || Date.now() - killedAt > 20_000) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const seconds = (seenAt - killedAt) / 1000;
    expect(r.code).toBe(1);
    // Lease TTL 10 s from the last keepalive (sent every TTL/3), expired leases collected every 200 ms.
    expect(seconds).toBeLessThanOrEqual(10.5);
    expect(r.report.chassis.find((c) => c.name === 'hv2')).toMatchObject({ alive: false, healthy: false });
    expect(r.report.chassis.find((c) => c.name === 'hv1')).toMatchObject({ alive: true, healthy: true });
    expect(r.report.problems).toEqual([expect.stringMatching(/^chassis hv2: down/)]);
    process.stderr.write(`controller hv2 killed: wyvern status reported it down after ${seconds.toFixed(1)} s\n`);
  });
});
