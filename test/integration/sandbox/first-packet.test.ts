/**
 * First packets are never lost (issue 9, item 5): the userspace datapath drops a tunnelled packet
 * while it resolves the remote tunnel endpoint by ARP, so the controllers keep every endpoint
 * resolved ahead of traffic (src/controller/tunnel-probe.ts). Real namespaces, real OVS, the
 * real server and controllers.
 *
 * Topology (2 chassis, fresh sandbox, no VM traffic between chassis before the ping): router r
 * joining nets fx 10.41.0.0/24 and fy 10.42.0.0/24; x on fx at hv1, y on fy at hv2. x and y are
 * on different networks, so neither DHCP nor anything else ever floods between hv1 and hv2.
 *
 * The control: the same sandbox with the controllers started with --no-tunnel-probe, where
 * hv1's neighbour cache holds no entry for hv2 before the ping and the first ping is lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHASSIS_PREFIX, chassisKey } from '../../../src/model/chassis.js';
import { appctl } from '../../../src/sandbox/chassis.js';
import { startChassis, stopChassis } from '../../../src/sandbox/chassis-control.js';
import { WYVERN_COMMAND_ENV } from '../../../src/sandbox/launch.js';
import { up } from '../../../src/sandbox/sandbox.js';
import { SandboxState } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { createVm, findChassis } from '../../../src/sandbox/vm.js';
import { openStore } from '../../../src/store/open.js';
import { Api, eventually, exec, vmIp } from '../e2e/helpers.js';

const HV1_IP = '198.51.100.11';
const HV2_IP = '198.51.100.12';

/** Whether a chassis' OVS has a tunnel neighbour entry for `ip` (`tnl/neigh/show`). */
async function resolved(state: SandboxState, chassis: string, ip: string): Promise<boolean> {
  const out = await appctl(findChassis(state, chassis), 'tnl/neigh/show');
  return out.split('\n').some((l) => l.trim().startsWith(`${ip} `) && !l.includes('STALE'));
}

/** The very first echo request, two seconds to answer. */
async function firstPing(state: SandboxState, from: string, to: string): Promise<boolean> {
  return (await exec(state, from, ['ping', '-n', '-c', '1', '-W', '2', to])).code === 0;
}

/** A 2-chassis sandbox with x (hv1) and y (hv2) on two networks joined by a router. */
async function cloudWithRouter(root: string, name: string, tunnelProbe: boolean): Promise<SandboxState> {
  delete process.env[WYVERN_COMMAND_ENV];
  const state = await up({ dir: path.join(root, name), chassis: 2, apiPort: 0, tunnelProbe });
  const api = new Api(state.data.apiUrl as string);
  const fx = await api.network('fx', '10.41.0.0/24');
  const fy = await api.network('fy', '10.42.0.0/24');
  const { router } = await api.call<{ router: { id: string } }>('POST', '/v2.0/routers', { router: { name: 'r' } });
  for (const subnet of [fx.subnetId, fy.subnetId]) {
    await api.call('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet });
  }
  await Promise.all([
    createVm(state, { name: 'x', network: 'fx', chassis: 'hv1' }),
    createVm(state, { name: 'y', network: 'fy', chassis: 'hv2' }),
  ]);
  return state;
}

describe('first packets are never lost: tunnel endpoints resolved ahead of traffic', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-first-packet-'));
  let state: SandboxState;

  beforeAll(async () => {
    state = await cloudWithRouter(root, 'probe', true);
  }, 180_000);

  afterAll(async () => {
    if (state && SandboxState.exists(state.dir)) await teardown(state.dir);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('the very first ping -c 1 from x (hv1) to y (hv2) across the router succeeds; hv1 had hv2 resolved before it', async () => {
    expect(await resolved(state, 'hv1', HV2_IP), 'hv1 tnl/neigh/show holds hv2 before any traffic').toBe(true);
    expect(await resolved(state, 'hv2', HV1_IP), 'hv2 tnl/neigh/show holds hv1 before any traffic').toBe(true);
    expect(await firstPing(state, 'x', vmIp(state, 'y'))).toBe(true);
  });

  it('a chassis that appears is resolved by the others within a second, and by itself; its VM first ping passes', async () => {
    const store = await openStore(state.data.apiUrl as string);
    try {
      await stopChassis(state, 'hv2');
      // Its lease runs out: the others forget it. Then hv1's cache is flushed, as for a chassis it never saw.
      await eventually(async () => (await store.range(chassisKey('hv2'))).kvs.length === 0, 'hv2 registration to expire', 30_000, 200);
      await appctl(findChassis(state, 'hv1'), 'tnl/neigh/flush');
      expect(await resolved(state, 'hv1', HV2_IP)).toBe(false);

      let registeredAt: number | undefined;
      const from = (await store.range(CHASSIS_PREFIX)).revision + 1;
      const watch = store.watch(CHASSIS_PREFIX, from, {
        onEvents: (events) => {
          if (registeredAt === undefined && events.some((e) => e.type === 'put' && e.key === chassisKey('hv2'))) registeredAt = Date.now();
        },
        onCompacted: () => undefined,
        onError: () => undefined,
      });
      const seen: Record<string, number> = {};
      let polling = true;
      const poll = async (chassis: string, ip: string) => {
        while (polling && seen[chassis] === undefined) {
          try {
            if (await resolved(state, chassis, ip)) seen[chassis] = Date.now();
          } catch {
            // ovs-vswitchd of a starting chassis not there yet
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      const pollers = [poll('hv1', HV2_IP), poll('hv2', HV1_IP)];
      const startedAt = Date.now();
      try {
        await startChassis(state, 'hv2');
        await eventually(() => seen.hv1 !== undefined && seen.hv2 !== undefined && registeredAt !== undefined, 'both endpoints resolved', 10_000, 20);
      } finally {
        polling = false;
        await Promise.all(pollers);
        await watch.cancel();
      }
      const at = registeredAt as number;
      console.log(
        `[tunnel probe] chassis start hv2 → registration seen ${at - startedAt} ms; hv1 resolved hv2 ${seen.hv1 - at} ms after the ` +
          `registration; hv2 (fresh ovs-vswitchd) resolved hv1 ${seen.hv2 - at} ms after it (10 ms polls of tnl/neigh/show)`,
      );
      expect(seen.hv1 - at).toBeLessThan(1_000);
      expect(await firstPing(state, 'y', vmIp(state, 'x')), 'y (restarted hv2) first ping to x').toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('control: the same cloud with --no-tunnel-probe', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-first-packet-control-'));
  let state: SandboxState;

  beforeAll(async () => {
    state = await cloudWithRouter(root, 'noprobe', false);
  }, 180_000);

  afterAll(async () => {
    if (state && SandboxState.exists(state.dir)) await teardown(state.dir);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('hv1 has no entry for hv2 before the ping, the first ping is lost, and the endpoint is learned from it', async () => {
    expect(state.data.processes.find((p) => p.name === 'controller-hv1')?.launch?.args).toContain('--no-tunnel-probe');
    expect(await resolved(state, 'hv1', HV2_IP), 'hv1 tnl/neigh/show before the ping').toBe(false);
    expect(await firstPing(state, 'x', vmIp(state, 'y')), 'first ping without the probe').toBe(false);
    expect(await resolved(state, 'hv1', HV2_IP), 'hv1 learned hv2 from the lost ping').toBe(true);
    expect(await firstPing(state, 'x', vmIp(state, 'y')), 'second ping').toBe(true);
  });
});
