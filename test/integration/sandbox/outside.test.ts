/**
 * The sandbox's outside world and chassis crashes, with the real server and controllers (real
 * namespaces, real OVS): `up` makes br-ex on every chassis and the outside namespace on the
 * physical network `public`; `outside exec`; the outside's broadcasts on public reach every
 * chassis' br-ex port (and not one whose veth is down); `chassis stop` kills exactly that
 * chassis' daemons while VMs on the others keep talking; `chassis start` brings it back with its
 * VM; `down` leaves nothing behind.
 *
 * Topology (3 chassis): net oc 10.9.0.0/24: o1 hv1, o2 hv2, o3 hv3.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, run } from '../../../src/ovs/daemons.js';
import { EXTERNAL_BRIDGE, ofctl, vsctl } from '../../../src/sandbox/chassis.js';
import { chassisDaemons } from '../../../src/sandbox/chassis-control.js';
import { tsxLoader } from '../../../src/sandbox/launch.js';
import { execOutside } from '../../../src/sandbox/outside.js';
import { ownedPid } from '../../../src/sandbox/processes.js';
import { status } from '../../../src/sandbox/sandbox.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { findChassis, findVm } from '../../../src/sandbox/vm.js';
import { eventually, pings, startCloud, vmIp, type Cloud } from '../e2e/helpers.js';
import { leftovers, NOTHING_LEFT } from './leftovers.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** `wyvern sandbox ARGS...` as a user runs it; never throws on a non-zero exit. */
function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', tsxLoader(), MAIN, 'sandbox', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One echo request from the outside namespace, one second to answer. */
async function outsidePings(ns: string, to: string): Promise<boolean> {
  try {
    await run('ping', ['-n', '-c', '1', '-W', '1', to], { netns: ns });
    return true;
  } catch {
    return false;
  }
}

describe('sandbox: the outside world, chassis stop and start', () => {
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    await cloud.api.network('oc', '10.9.0.0/24');
    await Promise.all([cloud.vm('o1', 'oc', 'hv1'), cloud.vm('o2', 'oc', 'hv2'), cloud.vm('o3', 'oc', 'hv3')]);
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
  }, 120_000);

  it('up makes br-ex (netdev, a veth into public) on every chassis and the outside namespace; status lists them', async () => {
    const st = cloud.state;
    for (const c of st.data.chassis) {
      expect(await vsctl(c, 'get', 'Bridge', EXTERNAL_BRIDGE, 'datapath_type')).toContain('netdev');
      expect(await vsctl(c, 'get', 'Bridge', EXTERNAL_BRIDGE, 'other_config:disable-in-band')).toContain('true');
      expect((await vsctl(c, 'list-ports', EXTERNAL_BRIDGE)).split('\n')).toContain(c.publicLink);
      // No patch ports from the sandbox: the controller makes those from its bridge mappings.
      expect(await vsctl(c, 'get', 'Interface', c.publicLink as string, 'type')).toMatch(/^""\s*$/);
    }
    const s = await status(cloud.dir);
    expect(s?.outside).toEqual({ netns: `${st.tag}-outside`, present: true, addresses: ['203.0.113.1/24', '192.0.2.10/32'] });
    expect(s?.chassis.map((c) => c.externalBridge)).toEqual(
      st.data.chassis.map((c) => ({ name: EXTERNAL_BRIDGE, port: c.publicLink, present: true })),
    );
    const json = await cli(['status', '--json', '--dir', cloud.dir]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { outside: unknown }).outside).toEqual(s?.outside);
    // Every controller was told where public is.
    for (const p of st.data.processes.filter((x) => x.name.startsWith('controller-'))) {
      expect(p.launch?.args.join(' ')).toContain('--bridge-mappings public:br-ex');
    }
  });

  it('outside exec runs there: ip addr shows the upstream router and the internet host; exit codes pass through', async () => {
    const r = await cli(['outside', 'exec', '--dir', cloud.dir, '--', 'ip', 'addr']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('inet 203.0.113.1/24');
    expect(r.stdout).toContain('inet 192.0.2.10/32');
    expect((await cli(['outside', 'exec', '--dir', cloud.dir, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect(await execOutside(cloud.state, ['sysctl', '-n', 'net.ipv4.ip_forward'])).toBe(0);
    expect((await run('sysctl', ['-n', 'net.ipv4.ip_forward'], { netns: `${cloud.state.tag}-outside` })).trim()).toBe('1');
  });

  it('public carries the outside\'s broadcasts to every chassis br-ex port (and not to one whose veth is down)', async () => {
    const st = cloud.state;
    const outside = `${st.tag}-outside`;
    const chassis = st.data.chassis;
    // What OVS itself counts as received on br-ex's veth port: independent of whatever the
    // controller does with br-ex (it patches it to br-int, and may program it).
    const rx = async (c: (typeof chassis)[number]): Promise<number> => {
      const out = await ofctl(c, 'dump-ports', EXTERNAL_BRIDGE, c.publicLink as string);
      return Number(/rx pkts=(\d+)/.exec(out)?.[1] ?? Number.NaN);
    };
    const rxAll = () => Promise.all(chassis.map(rx));
    /** The outside asks for an address nobody holds: ARP requests, broadcast on public. */
    const broadcast = () => outsidePings(outside, '203.0.113.77');

    const before = await rxAll();
    expect(await broadcast(), 'nobody answers for 203.0.113.77').toBe(false);
    await eventually(async () => (await rxAll()).every((n, i) => n > before[i]), 'every chassis br-ex port to receive the broadcast', 10_000);

    // Control: hv1's veth into public down — the others receive the next broadcast, hv1 does not.
    const hv1 = findChassis(st, 'hv1');
    const i1 = chassis.findIndex((c) => c.name === 'hv1');
    await run('ip', ['-n', hv1.netns, 'link', 'set', hv1.publicLink as string, 'down']);
    try {
      const mid = await rxAll();
      expect(await broadcast()).toBe(false);
      await eventually(async () => (await rxAll()).every((n, i) => i === i1 || n > mid[i]), 'the other chassis to receive the broadcast', 10_000);
      expect((await rxAll())[i1], 'hv1 br-ex port with its veth down').toBe(mid[i1]);
    } finally {
      await run('ip', ['-n', hv1.netns, 'link', 'set', hv1.publicLink as string, 'up']);
    }
    const after = await rxAll();
    expect(await broadcast()).toBe(false);
    await eventually(async () => (await rx(hv1)) > after[i1], 'hv1 br-ex port to receive again once its veth is up', 10_000);
  });

  it('chassis stop kills exactly that chassis daemons; VMs on the other chassis keep pinging', async () => {
    const st = cloud.state;
    await eventually(() => pings(st, 'o1', vmIp(st, 'o3')), 'o1 to ping o3 before the crash');
    await eventually(() => pings(st, 'o1', vmIp(st, 'o2')), 'o1 to ping o2 before the crash');
    const pidsOf = (name: string) => chassisDaemons(st, findChassis(st, name)).map((d) => ownedPid(d.pidFile, d.match));
    const hv2 = pidsOf('hv2');
    const others = [...pidsOf('hv1'), ...pidsOf('hv3')];
    const server = ownedPid(st.data.processes.find((p) => p.name === 'server')?.pidFile as string, st.dir);
    expect(hv2.every((p) => p !== undefined && isAlive(p))).toBe(true);
    expect(hv2).toHaveLength(3);

    const r = await cli(['chassis', 'stop', 'hv2', '--dir', cloud.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/killed ovsdb-server \(pid \d+\), ovs-vswitchd \(pid \d+\), controller \(pid \d+\)/);
    for (const p of hv2) expect(isAlive(p as number), `hv2 pid ${p}`).toBe(false);
    for (const p of [...others, server]) expect(p !== undefined && isAlive(p), `pid ${p} of another chassis or the server`).toBe(true);
    const s = await status(cloud.dir);
    expect(s?.chassis.find((c) => c.name === 'hv2')).toMatchObject({ ovsdb: { alive: false }, vswitchd: { alive: false }, controller: { alive: false } });

    // hv1 ↔ hv3 carry on; hv2's VM is cut off (the control that the crash is real).
    expect(await pings(st, 'o1', vmIp(st, 'o3'))).toBe(true);
    expect(await pings(st, 'o1', vmIp(st, 'o2'))).toBe(false);
    expect(await pings(st, 'o3', vmIp(st, 'o1'))).toBe(true);
  });

  it('chassis start brings its daemons back with the VM port from conf.db; its VM pings again', async () => {
    const st = cloud.state;
    const r = await cli(['chassis', 'start', 'hv2', '--dir', cloud.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/started ovsdb-server \(pid \d+\), ovs-vswitchd \(pid \d+\), controller \(pid \d+\)/);
    const s = await status(cloud.dir);
    expect(s?.chassis.find((c) => c.name === 'hv2')).toMatchObject({
      ovsdb: { alive: true },
      vswitchd: { alive: true },
      controller: { alive: true },
      externalBridge: { present: true },
    });
    const hv2 = findChassis(st, 'hv2');
    const o2 = findVm(st, 'o2');
    // The VM's veth came back as a port of br-int from OVSDB's database, with its iface-id.
    expect(await vsctl(hv2, 'get', 'Interface', o2.hostLink, 'external_ids:iface-id')).toContain(o2.portId);
    expect(Number((await vsctl(hv2, 'wait-until', 'Interface', o2.hostLink, 'ofport>0', '--', 'get', 'Interface', o2.hostLink, 'ofport')).trim())).toBeGreaterThan(0);
    const t0 = Date.now();
    await eventually(() => pings(st, 'o2', vmIp(st, 'o1')), 'o2 (hv2) to ping o1 (hv1) after chassis start', 30_000);
    console.log(`o2 pings o1 ${Date.now() - t0} ms after chassis start returned`);
    expect(await pings(st, 'o1', vmIp(st, 'o2'))).toBe(true);
    expect(await pings(st, 'o3', vmIp(st, 'o2'))).toBe(true);
  });

  it('down leaves nothing behind (the outside namespace and the public bridge included)', async () => {
    const { tag } = cloud.state;
    const report = await teardown(cloud.dir);
    expect(report.errors).toEqual([]);
    expect(leftovers(tag, cloud.dir)).toEqual(NOTHING_LEFT);
  });
});
