/**
 * Port security end to end (sqlite): a VM that spoofs its MAC, its IP or the sender of its ARP
 * packets is dropped at its own port, and a rogue DHCP server in a VM is not heard by another
 * VM's DHCP client, which still gets its lease from Wyvern. Each check has a control: the same
 * traffic with the VM's real identity does arrive, so a silent capture means "dropped", not
 * "nothing was sent".
 *
 * Topology (3 chassis): net ps 10.5.0.0/24: c (the attacker) hv1, v (the victim) hv2, d hv3.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVm, dhcpVm, findVm } from '../../../src/sandbox/vm.js';
import { arpRequest, Capture, dhcpOffer, eventually, exec, must, pings, sendFrames, startCloud, udpBroadcast, vmIp, vmMac, type Cloud } from './helpers.js';

const SPOOF_MAC = '02:00:00:00:be:ef';
const SPOOF_IP = '10.5.0.222';

describe('end to end: port security', () => {
  let cloud: Cloud;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    await cloud.api.network('ps', '10.5.0.0/24');
    await Promise.all([cloud.vm('c', 'ps', 'hv1'), cloud.vm('v', 'ps', 'hv2')]);
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
        arpRequest({ ethSrc: mac, sha: mac, spa: '10.5.0.99', tpa: '10.5.0.250' }),
        arpRequest({ ethSrc: mac, sha: SPOOF_MAC, spa: ip, tpa: '10.5.0.251' }),
        arpRequest({ ethSrc: mac, sha: mac, spa: ip, tpa: '10.5.0.252' }),
      ]);
      await cap.waitFor(/who-has 10\.5\.0\.252/, 'the control ARP request with the real sender');
    } finally {
      const lines = await cap.stop();
      expect(lines.filter((l) => /10\.5\.0\.25[01]/.test(l)), 'spoofed ARP requests that reached v').toEqual([]);
    }
  });

  it("a rogue DHCP server in a VM is not heard; the other VM's client gets its lease from Wyvern", async () => {
    const st = cloud.state;
    mkdirSync(cloud.scratch, { recursive: true });
    const conf = path.join(cloud.scratch, 'udhcpd.conf');
    writeFileSync(
      conf,
      [
        'start 10.5.0.200', 'end 10.5.0.210', 'interface eth0', 'max_leases 10',
        `lease_file ${path.join(cloud.scratch, 'udhcpd.leases')}`,
        'option subnet 255.255.255.0', 'option router 10.5.0.254', 'option lease 60', '',
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
      const payload = dhcpOffer({ server: cIp, yiaddr: '10.5.0.200', chaddr: d.mac, router: '10.5.0.254' });
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
      expect(lease.address.split('/')[0]).toBe((port.fixed_ips as { ip_address: string }[])[0].ip_address);
      expect(lease.router).not.toBe('10.5.0.254');
    } finally {
      if (rogue.exitCode === null) rogue.kill('SIGTERM');
    }
  });
});
