/**
 * The sandbox with the real `wyvern server` and `wyvern controller`: `up`, a network and subnet
 * through the API, two VMs on different chassis that get their addresses from the controllers'
 * DHCP and ping each other, `vm delete`, `down`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/ovs/daemons.js';
import { WYVERN_COMMAND_ENV } from '../../../src/sandbox/launch.js';
import { status, up } from '../../../src/sandbox/sandbox.js';
import { SandboxState } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { createVm, deleteVm, findVm } from '../../../src/sandbox/vm.js';
import { eventually, leftovers, NOTHING_LEFT } from './leftovers.js';

async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('sandbox with the real server and controllers', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-e2e-'));
  const dir = path.join(root, 'sb');
  afterAll(async () => {
    if (SandboxState.exists(dir)) await teardown(dir);
    rmSync(root, { recursive: true, force: true });
  });

  it('VMs on two chassis get DHCP addresses from the controllers and ping; down leaves nothing', async () => {
    delete process.env[WYVERN_COMMAND_ENV];
    const state = await up({ dir, chassis: 2, apiPort: 0 });
    const api = state.data.apiUrl as string;
    const { network } = await post<{ network: { id: string } }>(`${api}/v2.0/networks`, { network: { name: 'blue' } });
    await post(`${api}/v2.0/subnets`, {
      subnet: { network_id: network.id, name: 'blue-v4', ip_version: 4, cidr: '10.77.0.0/24' },
    });
    const a = await createVm(state, { name: 'a', network: 'blue', chassis: 'hv1' });
    const b = await createVm(state, { name: 'b', network: 'blue', chassis: 'hv2' });
    expect(a.lease?.address).toMatch(/^10\.77\.0\.\d+\/24$/);
    expect(b.lease?.address).toMatch(/^10\.77\.0\.\d+\/24$/);
    const bIp = (b.lease?.address ?? '').split('/')[0];
    const vmA = findVm(state, 'a');
    await eventually(async () => {
      try {
        await run('ping', ['-c', '1', '-W', '1', bIp], { netns: vmA.netns });
        return true;
      } catch {
        return false;
      }
    }, 'a to ping b');
    expect(await run('ping', ['-c', '3', '-i', '0.2', '-W', '1', bIp], { netns: vmA.netns })).toContain(' 0% packet loss');

    await deleteVm(state, 'b');
    expect((await status(dir))?.vms.map((v) => v.name)).toEqual(['a']);
    const res = await fetch(`${api}/v2.0/ports/${b.vm.portId}`);
    expect(res.status).toBe(404);

    const tag = state.tag;
    const report = await teardown(dir);
    expect(report.errors).toEqual([]);
    expect(leftovers(tag, dir)).toEqual(NOTHING_LEFT);
  }, 240_000);
});
