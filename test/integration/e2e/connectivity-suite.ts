/**
 * The connectivity suite, run once per store (connectivity-sqlite / connectivity-etcd): DHCP from
 * a real client, ping and TCP across chassis, two networks with the same CIDR kept apart, and
 * broadcast reaching every port of its network on every chassis and no other port.
 *
 * Topology (3 chassis): n1 10.0.0.0/24 (pool .10–.99): a1 hv1, a2 hv2, a3 hv3, a4 hv1;
 * n2 10.0.0.0/24 (pool .110–.199): b1 hv1, b3 hv3. The pools differ so that an address of n2
 * exists nowhere in n1: a ping across can only succeed through a leak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreKind } from '../../../src/sandbox/sandbox.js';
import { findVm } from '../../../src/sandbox/vm.js';
import { arpRequest, Capture, eventually, exec, pings, sendFrames, startCloud, tcpTransfer, vmIp, vmMac, type Cloud } from './helpers.js';

const N1 = ['a1', 'a2', 'a3', 'a4'] as const;
const N2 = ['b1', 'b3'] as const;
const PLACEMENT: Record<string, string> = { a1: 'hv1', a2: 'hv2', a3: 'hv3', a4: 'hv1', b1: 'hv1', b3: 'hv3' };


function lastOctet(ip: string): number {
  return Number(ip.split('.')[3]);
}

export function connectivitySuite(store: StoreKind): void {
  describe(`end to end on ${store}: DHCP, ping, TCP, isolation, broadcast`, () => {
    let cloud: Cloud;

    beforeAll(async () => {
      cloud = await startCloud(store);
      await cloud.api.network('n1', '10.0.0.0/24', { start: '10.0.0.10', end: '10.0.0.99' });
      await cloud.api.network('n2', '10.0.0.0/24', { start: '10.0.0.110', end: '10.0.0.199' });
    }, 180_000);

    afterAll(async () => {
      await cloud?.close();
    }, 120_000);

    it('VMs get their Neutron addresses by DHCP (real udhcpc) and ping across chassis', async () => {
      const st = cloud.state;
      const got = await Promise.all([
        ...N1.map(async (v) => [v, await cloud.vm(v, 'n1', PLACEMENT[v])] as const),
        ...N2.map(async (v) => [v, await cloud.vm(v, 'n2', PLACEMENT[v])] as const),
      ]);
      for (const [vm, ip] of got) {
        const port = await cloud.api.port(findVm(st, vm).portId);
        const fixed = (port.fixed_ips as { ip_address: string }[])[0].ip_address;
        expect(ip, `${vm}'s lease is its Neutron address`).toBe(fixed);
        const [lo, hi] = (N1 as readonly string[]).includes(vm) ? [10, 99] : [110, 199];
        expect(lastOctet(ip), `${vm}'s address ${ip} is in its pool`).toBeGreaterThanOrEqual(lo);
        expect(lastOctet(ip), `${vm}'s address ${ip} is in its pool`).toBeLessThanOrEqual(hi);
      }
      for (const [from, to] of [['a1', 'a2'], ['a1', 'a3'], ['a2', 'a3'], ['a1', 'a4'], ['b1', 'b3']] as const) {
        await eventually(() => pings(st, from, vmIp(st, to)), `${from} to ping ${to}`);
        const r = await exec(st, from, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', vmIp(st, to)]);
        expect(r.stdout, `${from} → ${to}`).toContain(' 0% packet loss');
      }
    });

    it('TCP works across chassis: 8 MB arrive intact', async () => {
      const st = cloud.state;
      const t = await tcpTransfer(st, 'a1', 'a2', 8 * 1024 * 1024);
      expect(t.code, t.stderr).toBe(0);
      expect(t.received).toBe(t.sent);
    });

    it('networks with the same CIDR are isolated: no ping, no ARP across', async () => {
      const st = cloud.state;
      const fromA1 = `ether src ${vmMac(st, 'a1')}`;
      const fromB1 = `ether src ${vmMac(st, 'b1')}`;
      const caps = await Promise.all([
        Capture.start(st, 'b1', fromA1),
        Capture.start(st, 'b3', fromA1),
        Capture.start(st, 'a2', fromA1),
        Capture.start(st, 'a3', fromB1),
        Capture.start(st, 'a4', fromB1),
      ]);
      const a2 = caps[2];
      try {
        // a1 asks for n2's addresses: unknown in n1, so its ARP requests flood n1 — and only n1.
        for (const to of N2) expect(await pings(st, 'a1', vmIp(st, to)), `a1 → ${to}`).toBe(false);
        for (const to of ['a1', 'a2', 'a3'] as const) expect(await pings(st, 'b1', vmIp(st, to)), `b1 → ${to}`).toBe(false);
        await a2.waitFor(new RegExp(`who-has ${vmIp(st, 'b3').replace(/\./g, '\\.')}`), "a1's ARP request for b3's address");
      } finally {
        const lines = await Promise.all(caps.map((c) => c.stop()));
        expect(lines[3], 'a3 sees nothing from b1').toEqual([]);
        expect(lines[4], 'a4 sees nothing from b1').toEqual([]);
        expect(lines[0], 'b1 sees nothing from a1').toEqual([]);
        expect(lines[1], 'b3 sees nothing from a1').toEqual([]);
      }
    });

    it('broadcast reaches every port of its network on every chassis and no other port', async () => {
      const st = cloud.state;
      const filter = `ether src ${vmMac(st, 'a1')} and ether dst ff:ff:ff:ff:ff:ff`;
      const same = await Promise.all(['a2', 'a3', 'a4'].map((v) => Capture.start(st, v, filter)));
      const other = await Promise.all(['b1', 'b3'].map((v) => Capture.start(st, v, filter)));
      try {
        // an ICMP echo to the subnet broadcast, and an ARP request for an address nobody has
        await exec(st, 'a1', ['ping', '-n', '-b', '-c', '2', '-i', '0.2', '-W', '1', '10.0.0.255']);
        await sendFrames(st, 'a1', [arpRequest({ ethSrc: vmMac(st, 'a1'), sha: vmMac(st, 'a1'), spa: vmIp(st, 'a1'), tpa: '10.0.0.250' })]);
        for (const c of same) {
          await c.waitFor(/ICMP echo request/, 'the broadcast ping');
          await c.waitFor(/who-has 10\.0\.0\.250/, 'the broadcast ARP request');
        }
      } finally {
        await Promise.all(same.map((c) => c.stop()));
        const leaked = await Promise.all(other.map((c) => c.stop()));
        expect(leaked, 'n2 ports see no broadcast of n1').toEqual([[], []]);
      }
    });
  });
}
