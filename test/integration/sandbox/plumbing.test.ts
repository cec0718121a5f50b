/**
 * The sandbox plumbing with real namespaces and real OVS, without a controller: fabric + two
 * chassis + two VMs plugged into br-int, flows installed by hand (ovs-ofctl through each
 * chassis' mgmt socket) carrying VM traffic over a flow-based Geneve tunnel; ping, TCP and a
 * real DHCP exchange across chassis; then `down` leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/ovs/daemons.js';
import { createChassis, ofctl, ofport, vsctl } from '../../../src/sandbox/chassis.js';
import { createFabric } from '../../../src/sandbox/fabric.js';
import { newTag } from '../../../src/sandbox/names.js';
import { SandboxState, type ChassisInfo, type VmInfo } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { dhcpVm, findVm, plugVm, setVmAddress, unplugVm } from '../../../src/sandbox/vm.js';
import { eventually, leftovers, NOTHING_LEFT } from './leftovers.js';

const TUNNEL = 'tun0';
const NETWORK_KEY = 5;

async function ping(vm: VmInfo, ip: string, count = 1): Promise<boolean> {
  try {
    await run('ping', ['-c', String(count), '-i', '0.2', '-W', '1', ip], { netns: vm.netns });
    return true;
  } catch {
    return false;
  }
}

/** Point-to-point: everything from the local VM goes to the peer chassis, tun_id 5 comes back to it. */
async function wireByHand(c: ChassisInfo, vm: VmInfo, peer: ChassisInfo): Promise<void> {
  await vsctl(
    c,
    'add-port', 'br-int', TUNNEL,
    '--', 'set', 'Interface', TUNNEL, 'type=geneve',
    'options:remote_ip=flow', 'options:key=flow', `options:local_ip=${c.tunnelIp}`,
  );
  const vif = await ofport(c, vm.hostLink);
  const tun = await ofport(c, TUNNEL);
  await ofctl(c, 'add-flow', 'br-int', `in_port=${vif},actions=set_field:${peer.tunnelIp}->tun_dst,set_field:${NETWORK_KEY}->tun_id,output:${tun}`);
  await ofctl(c, 'add-flow', 'br-int', `in_port=${tun},tun_id=${NETWORK_KEY},actions=output:${vif}`);
}

describe('sandbox plumbing: two chassis, Geneve, VMs as namespaces', () => {
  let dir: string;
  let state: SandboxState;
  let hv1: ChassisInfo;
  let hv2: ChassisInfo;
  let vm1: VmInfo;
  let vm2: VmInfo;
  let dhcpd: ChildProcess | undefined;

  beforeAll(async () => {
    dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-')), 'sb');
    state = SandboxState.create(dir, newTag());
    const fabric = await createFabric(state);
    [hv1, hv2] = await Promise.all([
      createChassis(state, fabric, { role: 'compute', index: 1 }),
      createChassis(state, fabric, { role: 'compute', index: 2 }),
    ]);
    vm1 = await plugVm(state, { name: 'vm1', chassis: 'hv1', portId: 'port-vm1', mac: '02:00:00:00:01:01', mtu: 1400 });
    vm2 = await plugVm(state, { name: 'vm2', chassis: 'hv2', portId: 'port-vm2', mac: '02:00:00:00:01:02', mtu: 1400 });
    await wireByHand(hv1, vm1, hv2);
    await wireByHand(hv2, vm2, hv1);
    await setVmAddress(state, 'vm1', '10.9.0.1/24');
    await setVmAddress(state, 'vm2', '10.9.0.2/24');
  });

  afterAll(async () => {
    dhcpd?.kill();
    if (state && SandboxState.exists(state.dir)) await teardown(state.dir);
    if (dir) rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('lays chassis out as recorded: netns, tunnel IP on br-phy, br-int secure on netdev', async () => {
    expect(hv1.tunnelIp).toBe('198.51.100.11');
    expect(hv2.tunnelIp).toBe('198.51.100.12');
    const addr = await run('ip', ['-n', hv1.netns, '-4', 'addr', 'show', 'dev', 'br-phy']);
    expect(addr).toContain('198.51.100.11/24');
    expect((await vsctl(hv1, 'get', 'Bridge', 'br-int', 'datapath_type', 'fail_mode')).split('\n').slice(0, 2)).toEqual(['netdev', 'secure']);
    expect(await vsctl(hv1, 'get', 'Interface', vm1.hostLink, 'external_ids:iface-id')).toContain('port-vm1');
    expect(await vsctl(hv1, 'get', 'Interface', vm1.hostLink, 'external_ids:attached-mac')).toContain('02:00:00:00:01:01');
    const link = await run('ip', ['-n', vm1.netns, 'link', 'show', 'dev', 'eth0']);
    expect(link).toContain('mtu 1400');
    expect(link).toContain('02:00:00:00:01:01');
    const offload = await run('ethtool', ['-k', 'eth0'], { netns: vm1.netns });
    expect(offload).toMatch(/tx-checksumming: off/);
    // The underlay works before any overlay flow matters.
    expect(await run('ping', ['-c', '1', '-W', '2', hv2.tunnelIp], { netns: hv1.netns })).toContain('1 received');
  });

  it('carries ping between VMs on different chassis through the Geneve tunnel', async () => {
    await eventually(() => ping(vm1, '10.9.0.2'), 'first ping vm1 → vm2');
    expect(await ping(vm1, '10.9.0.2', 3)).toBe(true);
    expect(await ping(vm2, '10.9.0.1', 3)).toBe(true);
    const flows = await ofctl(hv2, 'dump-flows', 'br-int');
    expect(flows).toMatch(/n_packets=[1-9]\d*,.*tun_id=0x5/);
  });

  it('carries a TCP stream whole (checksum offload off on both veth ends)', async () => {
    const size = 4 * 1024 * 1024;
    // A sink in vm2 that prints how many bytes it got once the sender closes.
    const sinkJs = `const s=require('net').createServer(c=>{let n=0;c.on('data',d=>n+=d.length);c.on('end',()=>{console.log(n);s.close()})});s.listen(5201,'10.9.0.2',()=>console.log('listening'))`;
    const sink = spawn('ip', ['netns', 'exec', vm2.netns, process.execPath, '-e', sinkJs], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    sink.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise<void>((resolve) => sink.on('exit', () => resolve()));
    try {
      await eventually(() => out.includes('listening'), 'TCP sink listening');
      const sendJs = `const c=require('net').connect(5201,'10.9.0.2',()=>c.end(Buffer.alloc(${size},7)))`;
      await run(process.execPath, ['-e', sendJs], { netns: vm1.netns, timeoutMs: 30_000 });
      await done;
      expect(out.trim().split('\n').at(-1)).toBe(String(size));
    } finally {
      sink.kill();
    }
  });

  it('a VM gets its address from a real DHCP exchange across chassis', async () => {
    const conf = path.join(dir, 'udhcpd.conf');
    writeFileSync(
      conf,
      [
        'start 10.9.0.100',
        'end 10.9.0.110',
        'interface eth0',
        `lease_file ${path.join(dir, 'udhcpd.leases')}`,
        `pidfile ${path.join(dir, 'udhcpd.pid')}`,
        'option subnet 255.255.255.0',
        'option router 10.9.0.2',
        'option mtu 1380',
        'option lease 600',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'udhcpd.leases'), '');
    dhcpd = spawn('ip', ['netns', 'exec', vm2.netns, 'busybox', 'udhcpd', '-f', conf], { stdio: 'ignore' });
    const lease = await dhcpVm(state, 'vm1');
    expect(lease.address).toMatch(/^10\.9\.0\.1(0\d|10)\/24$/);
    expect(lease.router).toBe('10.9.0.2');
    expect(lease.mtu).toBe(1380);
    expect(findVm(state, 'vm1').address).toBe(lease.address);
    const link = await run('ip', ['-n', vm1.netns, 'link', 'show', 'dev', 'eth0']);
    expect(link).toContain('mtu 1380');
    expect(await run('ip', ['-n', vm1.netns, 'route', 'show', 'default'])).toContain('via 10.9.0.2');
    expect(await ping(vm1, '10.9.0.2', 2)).toBe(true);
    dhcpd.kill();
    dhcpd = undefined;
  });

  it('unplugging a VM removes its namespace, veth and br-int port', async () => {
    await unplugVm(state, 'vm2');
    expect(state.refresh().vms.map((v) => v.name)).toEqual(['vm1']);
    expect(leftovers(state.tag, dir).netns).not.toContain(vm2.netns);
    expect(await vsctl(hv2, 'list-ports', 'br-int')).not.toContain(vm2.hostLink);
  });

  it('down removes every namespace, process and file', async () => {
    const before = leftovers(state.tag, dir);
    expect(before.netns.length).toBe(4); // fabric, hv1, hv2, vm1
    expect(before.pids.length).toBe(4); // ovsdb-server + ovs-vswitchd per chassis
    const report = await teardown(dir);
    expect(report.errors).toEqual([]);
    expect(leftovers(state.tag, dir)).toEqual(NOTHING_LEFT);
    // Idempotent.
    expect((await teardown(dir)).found).toBe(false);
  });
});
