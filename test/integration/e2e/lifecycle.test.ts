/**
 * Port and chassis lifecycle end to end (sqlite): admin_state_up, restarting a controller under
 * traffic (no packet lost), restarting ovs-vswitchd (forwarding back within 2 s), deleting a
 * port (its flows leave every chassis) and unplugging one (Neutron status DOWN).
 *
 * Topology (3 chassis): net lc 10.6.0.0/24: p1 hv1, p2 hv2, p3 hv3.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTEGRATION_BRIDGE, vsctl } from '../../../src/sandbox/chassis.js';
import { deleteVm, findChassis, findVm } from '../../../src/sandbox/vm.js';
import { CHASSIS, eventually, exec, flowsWithMac, pings, restartController, restartVswitchd, startCloud, vmIp, vmMac, type Cloud } from './helpers.js';

/** Start `ping ARGS` in a VM; resolves with its output when it ends. */
function pingInBackground(cloud: Cloud, vm: string, args: readonly string[]): Promise<string> {
  const ns = findVm(cloud.state, vm).netns;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, 'ping', '-n', ...args], { timeout: 120_000 }, (_err, stdout) => resolve(stdout));
  });
}

describe('end to end: port and chassis lifecycle', () => {
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    await cloud.api.network('lc', '10.6.0.0/24');
    await Promise.all([cloud.vm('p1', 'lc', 'hv1'), cloud.vm('p2', 'lc', 'hv2'), cloud.vm('p3', 'lc', 'hv3')]);
    for (const to of ['p2', 'p3']) await eventually(() => pings(cloud.state, 'p1', vmIp(cloud.state, to)), `p1 to ping ${to}`);
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
  }, 120_000);

  it('admin_state_up=false on a port stops its traffic; true restores it', async () => {
    const st = cloud.state;
    const p2 = findVm(st, 'p2');
    await cloud.api.updatePort(p2.portId, { admin_state_up: false });
    await eventually(async () => !(await pings(st, 'p1', vmIp(st, 'p2'))), 'p1 to stop reaching p2');
    const r = await exec(st, 'p1', ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '1', vmIp(st, 'p2')]);
    expect(r.stdout, 'still down').toContain('100% packet loss');
    expect(await pings(st, 'p1', vmIp(st, 'p3')), 'other ports unaffected').toBe(true);
    await cloud.api.updatePort(p2.portId, { admin_state_up: true });
    await eventually(() => pings(st, 'p1', vmIp(st, 'p2')), 'p1 to reach p2 again');
  });

  for (const chassis of ['hv1', 'hv2'] as const) {
    it(`restarting the controller of ${chassis} during ping -i 0.01 -c 500 (hv1 → hv2) loses no packet`, async () => {
      const st = cloud.state;
      const t0 = Date.now();
      const ping = pingInBackground(cloud, 'p1', ['-i', '0.01', '-c', '500', '-W', '1', vmIp(st, 'p2')]);
      const restartMs = await restartController(st, chassis);
      const restartedAt = Date.now();
      const out = await ping;
      const pingMs = Date.now() - t0;
      // The restart must have happened inside the ping window for the test to mean anything.
      expect(restartedAt - t0, `restart (${restartMs} ms) within the ping (${pingMs} ms)`).toBeLessThan(pingMs);
      console.log(`controller ${chassis} restarted in ${restartMs} ms during a ${pingMs} ms ping run`);
      expect(out).toMatch(/500 packets transmitted, 500 received/);
      expect(out).toContain(' 0% packet loss');
    });
  }

  it('restarting ovs-vswitchd of a chassis restores forwarding within 2 s', async () => {
    const st = cloud.state;
    const ns = findVm(st, 'p1').netns;
    let out = '';
    // Timestamped replies (-D), 50 a second, until we stop it.
    const child = execFile('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-i', '0.02', '-W', '1', vmIp(st, 'p3')], { timeout: 120_000 });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    const replyTimes = () =>
      out
        .split('\n')
        .map((l) => /^\[(\d+\.\d+)\] \d+ bytes from/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]) * 1000);
    try {
      await eventually(() => replyTimes().length >= 5, 'p1 → p3 replies before the restart', 10_000, 20);
      const { stoppedAt, startedAt } = await restartVswitchd(st, 'hv3');
      await eventually(() => replyTimes().some((t) => t > startedAt), 'a reply after ovs-vswitchd came back', 20_000, 20);
      const firstAfter = replyTimes().find((t) => t > startedAt) as number;
      const lastBefore = [...replyTimes()].reverse().find((t) => t <= stoppedAt) ?? stoppedAt;
      const restoreMs = firstAfter - startedAt;
      const outageMs = firstAfter - lastBefore;
      console.log(`ovs-vswitchd hv3: forwarding back ${restoreMs.toFixed(0)} ms after start, outage ${outageMs.toFixed(0)} ms`);
      expect(restoreMs, `forwarding back ${restoreMs.toFixed(0)} ms after ovs-vswitchd started (outage ${outageMs.toFixed(0)} ms)`).toBeLessThan(2_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGINT');
      await closed;
    }
  });

  it('deleting a port removes its flows on every chassis', async () => {
    const st = cloud.state;
    const mac = vmMac(st, 'p3');
    const chassis = CHASSIS.map((c) => findChassis(st, c));
    for (const c of chassis) {
      await eventually(async () => (await flowsWithMac(c, mac)).length > 0, `flows for p3 (${mac}) on ${c.name}`);
    }
    await deleteVm(st, 'p3');
    for (const c of chassis) {
      await eventually(async () => (await flowsWithMac(c, mac)).length === 0, `flows for p3 (${mac}) to leave ${c.name}`, 10_000);
    }
    expect(await pings(st, 'p1', vmIp(st, 'p2')), 'the others still talk').toBe(true);
  });

  it('unplugging a port from br-int sets its Neutron status DOWN', async () => {
    const st = cloud.state;
    const p2 = findVm(st, 'p2');
    const before = await cloud.api.port(p2.portId, true);
    expect(before.status).toBe('ACTIVE');
    expect(before['binding:host_id']).toBe('hv2');
    await vsctl(findChassis(st, 'hv2'), 'del-port', INTEGRATION_BRIDGE, p2.hostLink);
    await eventually(async () => (await cloud.api.port(p2.portId, true)).status === 'DOWN', 'port p2 to be DOWN', 10_000);
  });
});
