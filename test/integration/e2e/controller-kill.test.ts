/**
 * Fault: `kill -9` of a controller during `ping -i 0.01` (issue 14, step 5). The flows stay in
 * the switch while the controller is gone, and the new controller reconciles without wiping
 * them: no packet may be lost, on the sending chassis nor on the receiving one. (lifecycle.test.ts
 * does the same with SIGTERM.)
 *
 * Topology (3 chassis): net kc 10.7.0.0/24: k1 hv1, k2 hv2.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVm } from '../../../src/sandbox/vm.js';
import { eventually, pings, restartController, startCloud, vmIp, type Cloud } from './helpers.js';

describe('fault: kill -9 of a controller under traffic', () => {
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    await cloud.api.network('kc', '10.7.0.0/24');
    await Promise.all([cloud.vm('k1', 'kc', 'hv1'), cloud.vm('k2', 'kc', 'hv2')]);
    await eventually(() => pings(cloud.state, 'k1', vmIp(cloud.state, 'k2')), 'k1 to ping k2');
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
  }, 120_000);

  for (const chassis of ['hv1', 'hv2'] as const) {
    it(`kill -9 of the controller of ${chassis} during ping -i 0.01 -c 500 (hv1 → hv2) loses no packet`, async () => {
      const st = cloud.state;
      const ns = findVm(st, 'k1').netns;
      const t0 = Date.now();
      const ping = new Promise<string>((resolve) => {
        execFile('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.01', '-c', '500', '-W', '1', vmIp(st, 'k2')], { timeout: 120_000 }, (_err, stdout) => resolve(stdout));
      });
      const restartMs = await restartController(st, chassis, { crash: true });
      const restartedAt = Date.now();
      const out = await ping;
      const pingMs = Date.now() - t0;
      // The crash and the restart must both fall inside the ping window for the test to mean anything.
      expect(restartedAt - t0, `restart (${restartMs} ms) within the ping (${pingMs} ms)`).toBeLessThan(pingMs);
      console.log(`controller ${chassis} killed and back in ${restartMs} ms during a ${pingMs} ms ping run`);
      expect(out).toMatch(/500 packets transmitted, 500 received/);
      expect(out).toContain(' 0% packet loss');
    });
  }

  it('the restarted controllers still program new ports', async () => {
    await cloud.vm('k3', 'kc', 'hv2');
    await eventually(() => pings(cloud.state, 'k1', vmIp(cloud.state, 'k3')), 'k1 to ping a port made after the crashes');
  });
});
