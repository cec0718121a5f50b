/**
 * Port security end to end (sqlite): a VM that spoofs its MAC, its IP or the sender of its ARP
 * packets is dropped at its own port, and a rogue DHCP server in a VM is not heard by another
 * VM's DHCP client, which still gets its lease from Wyvern. Each check has a control: the same
 * traffic with the VM's real identity does arrive, so a silent capture means "dropped", not
 * "nothing was sent".
 *
 * Topology (3 chassis): net ps 10.5.0.0/24: c (the attacker) hv1, v (the victim) hv2, d hv3.
 * Ports get addresses at random from the pool .10–.99; every address the test makes up (spoofed
 * sources, ARP targets nobody has, the rogue DHCP server's range and router) lies outside it,
 * so no VM can hold one.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVm, dhcpVm, findVm } from '../../../src/sandbox/vm.js';
import { arpRequest, Capture, dhcpOffer, eventually, exec, must, pings, sendFrames, startCloud, udpBroadcast, vmIp, vmMac, type Cloud } from './helpers.js';

const POOL = { start: '10.5.0.10', end: '10.5.0.99' };
const SPOOF_MAC = '02:00:00:00:be:ef';
const SPOOF_IP = '10.5.0.222';
/** A sender address nobody has, and ARP targets nobody has (flooded if they pass). */
const ARP_FAKE_SPA = '10.5.0.199';
const ARP_TPA = ['10.5.0.250', '10.5.0.251', '10.5.0.252'] as const;
/** The rogue DHCP server's range and router. */
const ROGUE = { start: '10.5.0.200', end: '10.5.0.210', router: '10.5.0.254' };

/** What the made-up addresses rely on: every port's address is inside POOL. */
function expectInPool(ip: string): void {
  const last = (a: string): number => Number(a.split('.')[3]);
  expect(last(ip), `${ip} in the pool`).toBeGreaterThanOrEqual(last(POOL.start));
  expect(last(ip), `${ip} in the pool`).toBeLessThanOrEqual(last(POOL.end));
}

describe('end to end: port security', () => {
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    await cloud.api.network('ps', '10.5.0.0/24', POOL);
    await Promise.all([cloud.vm('c', 'ps', 'hv1'), cloud.vm('v', 'ps', 'hv2')]);
    for (const vm of ['c', 'v']) expectInPool(vmIp(cloud.state, vm));
    await eventually(() => pings(cloud.state, 'c', vmIp(cloud.state, 'v')), 'c to ping v');
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
  }, 120_000);

  it('a VM spoofing its MAC is dropped', async () => {
    const st = cloud.state;
    const v = vmIp(st, 'v');
    const realMac = vmMac(st, 'c');
    const spoofed = await Capture.start(st, 'v', `ether src ${SPOOF_MAC}`);
    const real = await Capture.start(st, 'v', `icmp and ether src ${realMac}`);
    try {
      // unicast straight to v's MAC (static neighbour, set after the MAC change flushed the
      // cache), so nothing depends on ARP
      await must(st, 'c', ['ip', 'link', 'set', 'dev', 'eth0', 'address', SPOOF_MAC]);
      await must(st, 'c', ['ip', 'neigh', 'replace', v, 'lladdr', vmMac(st, 'v'), 'dev', 'eth0', 'nud', 'permanent']);
      expect((await exec(st, 'c', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', v])).code).not.toBe(0);
      await must(st, 'c', ['ip', 'link', 'set', 'dev', 'eth0', 'address', realMac]);
      await exec(st, 'c', ['ip', 'neigh', 'del', v, 'dev', 'eth0']);
      await eventually(() => pings(st, 'c', v), 'c to ping v again with its own MAC');
      await real.waitFor(/ICMP echo request/, 'the control ping from the real MAC');
    } finally {
      await real.stop();
      expect(await spoofed.stop(), 'v saw frames from the spoofed MAC').toEqual([]);
    }
  });

  it('a VM spoofing its IP is dropped', async () => {
    const st = cloud.state;
    const v = vmIp(st, 'v');
    const spoofed = await Capture.start(st, 'v', `host ${SPOOF_IP}`);
    const real = await Capture.start(st, 'v', `icmp and src host ${vmIp(st, 'c')}`);
    try {
      await must(st, 'c', ['ip', 'addr', 'add', `${SPOOF_IP}/24`, 'dev', 'eth0']);
      await must(st, 'c', ['ip', 'neigh', 'replace', v, 'lladdr', vmMac(st, 'v'), 'dev', 'eth0', 'nud', 'permanent']);
      expect((await exec(st, 'c', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '-I', SPOOF_IP, v])).code).not.toBe(0);
      expect(await pings(st, 'c', v), 'the same ping from its own address').toBe(true);
      await real.waitFor(/ICMP echo request/, 'the control ping from the real address');
    } finally {
      await exec(st, 'c', ['ip', 'addr', 'del', `${SPOOF_IP}/24`, 'dev', 'eth0']);
      await exec(st, 'c', ['ip', 'neigh', 'del', v, 'dev', 'eth0']);
      await real.stop();
      expect(await spoofed.stop(), 'v saw packets from the spoofed IP').toEqual([]);
    }
  });

  it('ARP with a wrong sender IP or sender MAC is dropped', async () => {
    const st = cloud.state;
    const mac = vmMac(st, 'c');
    const ip = vmIp(st, 'c');
    const cap = await Capture.start(st, 'v', 'arp');
    try {
      // requests for addresses nobody has: flooded to the network if they pass port security
      await sendFrames(st, 'c', [
        arpRequest({ ethSrc: mac, sha: mac, spa: ARP_FAKE_SPA, tpa: ARP_TPA[0] }),
        arpRequest({ ethSrc: mac, sha: SPOOF_MAC, spa: ip, tpa: ARP_TPA[1] }),
        arpRequest({ ethSrc: mac, sha: mac, spa: ip, tpa: ARP_TPA[2] }),
      ]);
      await cap.waitFor(new RegExp(`who-has ${ARP_TPA[2].replace(/\./g, '\\.')}`), 'the control ARP request with the real sender');
    } finally {
      const lines = await cap.stop();
      expect(lines.filter((l) => l.includes(ARP_TPA[0]) || l.includes(ARP_TPA[1])), 'spoofed ARP requests that reached v').toEqual([]);
    }
  });

  it("a rogue DHCP server in a VM is not heard; the other VM's client gets its lease from Wyvern", async () => {
    const st = cloud.state;
    mkdirSync(cloud.scratch, { recursive: true });
    const conf = path.join(cloud.scratch, 'udhcpd.conf');
    writeFileSync(
      conf,
      [
        `start ${ROGUE.start}`, `end ${ROGUE.end}`, 'interface eth0', 'max_leases 10',
        `lease_file ${path.join(cloud.scratch, 'udhcpd.leases')}`,
        'option subnet 255.255.255.0', `option router ${ROGUE.router}`, 'option lease 60', '',
      ].join('\n'),
    );
    const rogue = spawn('ip', ['netns', 'exec', findVm(st, 'c').netns, 'busybox', 'udhcpd', '-f', conf], { stdio: 'ignore' });
    try {
      await eventually(
        async () => (await exec(st, 'c', ['busybox', 'netstat', '-lun'])).stdout.includes(':67 ') || rogue.exitCode !== null,
        'the rogue udhcpd to listen on :67',
        10_000,
        50,
      );
      expect(rogue.exitCode, 'udhcpd is running').toBeNull();
      const { vm: d } = await createVm(st, { name: 'd', network: 'ps', chassis: 'hv3', dhcp: false });
      const cMac = vmMac(st, 'c');
      const cIp = vmIp(st, 'c');
      const payload = dhcpOffer({ server: cIp, yiaddr: ROGUE.start, chaddr: d.mac, router: ROGUE.router });
      // The same bytes on other UDP ports: the control that a frame like this is flooded.
      const control = udpBroadcast({ ethSrc: cMac, ipSrc: cIp, sport: 5067, dport: 5068, payload });
      const forged = udpBroadcast({ ethSrc: cMac, ipSrc: cIp, sport: 67, dport: 68, payload });
      const cap = await Capture.start(st, 'd', `ether src ${cMac} or udp port 67 or udp port 68`);
      const rogueSpoke = await Capture.start(st, 'c', 'udp src port 67');
      let lease;
      try {
        // forged OFFERs while d's client runs (besides whatever the real udhcpd answers)
        const forging = (async () => {
          for (let i = 0; i < 5; i++) await sendFrames(st, 'c', [forged]);
        })();
        lease = await dhcpVm(st, 'd');
        await forging;
        await sendFrames(st, 'c', [control]);
        await cap.waitFor(/\.5067 > 255\.255\.255\.255\.5068/, 'the control broadcast from c');
      } finally {
        const heard = await cap.stop();
        const spoke = await rogueSpoke.stop();
        console.log(`rogue udhcpd and forger sent ${spoke.length} DHCP server packet(s); d heard ${heard.length} packet(s)`);
        expect(heard.filter((l) => l.includes(cMac) && /\.67 > /.test(l)), 'DHCP server packets from the rogue VM that reached d').toEqual([]);
        expect(heard.some((l) => /\.67 > /.test(l)), `d heard a DHCP server (Wyvern): ${heard.join('\n')}`).toBe(true);
      }
      const port = await cloud.api.port(d.portId);
      expectInPool((port.fixed_ips as { ip_address: string }[])[0].ip_address);
      expect(lease.address.split('/')[0]).toBe((port.fixed_ips as { ip_address: string }[])[0].ip_address);
      expect(lease.router).not.toBe(ROGUE.router);
    } finally {
      if (rogue.exitCode === null) rogue.kill('SIGTERM');
    }
  });
});
