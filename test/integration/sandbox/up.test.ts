/**
 * `sandbox up` end to end with real namespaces and OVS, the server and controllers played by
 * fake-wyvern.ts (until the real ones land): processes detached with pid and log files,
 * readiness by real signals, `vm create` through the API, `vm exec`, status, and `down`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { vsctl } from '../../../src/sandbox/chassis.js';
import { tsxLoader, WYVERN_COMMAND_ENV } from '../../../src/sandbox/launch.js';
import { ProcessStartError } from '../../../src/sandbox/processes.js';
import { status, up } from '../../../src/sandbox/sandbox.js';
import { SandboxState } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { createVm, deleteVm, execInVm, findChassis } from '../../../src/sandbox/vm.js';
import { leftovers, NOTHING_LEFT } from './leftovers.js';

const fake = fileURLToPath(new URL('./fake-wyvern.ts', import.meta.url));

describe('sandbox up with a stand-in server and controllers', () => {
  let root: string;
  let dir: string;
  let tag: string | undefined;

  beforeAll(() => {
    process.env[WYVERN_COMMAND_ENV] = JSON.stringify([process.execPath, '--import', tsxLoader(), fake]);
    root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-up-'));
  });
  afterEach(async () => {
    delete process.env.FAKE_WYVERN_FAIL_CHASSIS;
    if (SandboxState.exists(dir)) await teardown(dir);
  });
  afterAll(() => {
    delete process.env[WYVERN_COMMAND_ENV];
    rmSync(root, { recursive: true, force: true });
  });

  it('brings up server, chassis and controllers, plugs VMs through the API, and goes down clean', async () => {
    dir = path.join(root, 'a');
    const state = await up({ dir, chassis: 2, gateways: 1, store: 'sqlite', apiPort: 0, l3Mode: 'reactive' });
    tag = state.tag;
    const s = await status(dir);
    expect(s?.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s?.store).toBe(`sqlite:${dir}/nb.db`);
    expect(s?.chassis.map((c) => [c.name, c.tunnelIp, c.ovsdb.alive, c.vswitchd.alive, c.controller?.alive])).toEqual([
      ['hv1', '198.51.100.11', true, true, true],
      ['hv2', '198.51.100.12', true, true, true],
      ['gw1', '198.51.100.101', true, true, true],
    ]);
    expect(s?.processes.every((p) => p.alive)).toBe(true);
    const gwLog = readFileSync(path.join(dir, 'logs', 'controller-gw1.log'), 'utf8');
    expect(gwLog).toContain(`--ovsdb unix:${dir}/gw1/db.sock`);
    expect(gwLog).toContain(`--openflow unix:${dir}/gw1/br-int.mgmt`);
    expect(gwLog).toContain('--tunnel-ip 198.51.100.101');
    expect(gwLog).toContain('--l3-mode reactive');
    expect(gwLog).toContain('--gateway');
    expect(readFileSync(path.join(dir, 'logs', 'controller-hv1.log'), 'utf8')).not.toContain('--gateway');

    const { vm: vm1 } = await createVm(state, { name: 'vm1', network: 'blue', dhcp: false });
    const { vm: vm2 } = await createVm(state, { name: 'vm2', network: 'blue', dhcp: false });
    expect([vm1.chassis, vm2.chassis]).toEqual(['hv1', 'hv2']);
    expect(vm1.mtu).toBe(1400);
    const hv1 = findChassis(state, 'hv1');
    expect(await vsctl(hv1, 'get', 'Interface', vm1.hostLink, 'external_ids:iface-id')).toContain(vm1.portId);
    expect(await execInVm(state, 'vm1', ['sh', '-c', 'ip link show eth0 | grep -q "$0" && exit 3', vm1.mac])).toBe(3);
    const serverLog = () => readFileSync(path.join(dir, 'logs', 'server.log'), 'utf8');
    expect(serverLog()).toContain('POST /v2.0/ports');
    await deleteVm(state, 'vm2');
    expect(serverLog()).toContain(`DELETE /v2.0/ports/${vm2.portId}`);
    expect((await status(dir))?.vms.map((v) => v.name)).toEqual(['vm1']);

    const report = await teardown(dir);
    expect(report.errors).toEqual([]);
    expect(leftovers(tag, dir)).toEqual(NOTHING_LEFT);
  });

  it('starts its own etcd for --store etcd, and stops it (and the server) on down', async () => {
    dir = path.join(root, 'etcd');
    const state = await up({ dir, chassis: 1, store: 'etcd', apiPort: 0, controllers: false });
    const s = await status(dir);
    expect(s?.store).toMatch(/^etcd:http:\/\/127\.0\.0\.1:\d+$/);
    expect(s?.processes.map((p) => [p.name, p.alive])).toEqual([
      ['etcd', true],
      ['server', true],
    ]);
    const health = await fetch(`${(s?.store ?? '').slice('etcd:'.length)}/health`);
    expect(health.ok).toBe(true);
    // Neither the server's nor etcd's arguments need name the sandbox dir for down to find them.
    expect((await teardown(dir)).errors).toEqual([]);
    expect(leftovers(state.tag, dir)).toEqual(NOTHING_LEFT);
  });

  it('removes what it made when a controller fails to start, and says why', async () => {
    dir = path.join(root, 'b');
    process.env.FAKE_WYVERN_FAIL_CHASSIS = 'hv2';
    const err = await up({ dir, chassis: 2, apiPort: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessStartError);
    expect((err as Error).message).toContain('boom on hv2');
    expect(SandboxState.exists(dir)).toBe(false);
    // The tag is gone with the state; no namespace or process may name the dir.
    const left = leftovers('wy-none', dir);
    expect(left.pids).toEqual([]);
    expect(left.dirExists).toBe(false);
  });
});
