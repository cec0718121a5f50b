/**
 * The distributed router end to end, in both L3 modes (one sandbox per mode, shared by its
 * tests): real namespaces, real DHCP (udhcpc), the real server and one controller per chassis.
 *
 * Topology (3 chassis), router `r` joining blue and red:
 *   blue  10.10.0.0/24: b1 hv1
 *   red   10.20.0.0/24: r1 hv2, r2 hv3, rx hv2 (never contacted before the reactive test, then
 *                       deleted), nh hv3 (next-hop router for 172.31.0.0/24, made in its test)
 *   green 10.30.0.0/24: g1 hv3 — NOT attached to the router
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ofctl } from '../../../src/sandbox/chassis.js';
import type { L3Mode } from '../../../src/sandbox/launch.js';
import { createVm, deleteVm, findChassis, findVm } from '../../../src/sandbox/vm.js';
import { tableId } from '../../../src/pipeline/stages.js';
import { eventually, exec, must, pings, startCloud, tcpTransfer, vmIp, vmMac, type Cloud } from './helpers.js';

const PLACEMENT = { b1: ['blue', 'hv1'], r1: ['red', 'hv2'], r2: ['red', 'hv3'], rx: ['red', 'hv2'], g1: ['green', 'hv3'] } as const;
const L3_NEXTHOP = tableId('l3_nexthop');


interface FlowLine {
  readonly cookie: bigint;
  readonly nPackets: number;
  readonly text: string;
}

/** The flows of one table of a chassis' br-int. */
async function tableFlows(cloud: Cloud, chassis: string, table: number): Promise<FlowLine[]> {
  const dump = await ofctl(findChassis(cloud.state, chassis), 'dump-flows', 'br-int', `table=${table}`);
  return dump
    .split('\n')
    .filter((l) => l.includes('cookie='))
    .map((l) => ({
      cookie: BigInt(/cookie=(0x[0-9a-f]+)/.exec(l)?.[1] ?? '0'),
      nPackets: Number(/n_packets=(\d+)/.exec(l)?.[1] ?? '0'),
      text: l.toLowerCase(),
    }));
}

const isReactive = (f: FlowLine) => f.cookie >> 56n === 0x06n;
const mentionsMac = (f: FlowLine, mac: string) => f.text.includes(mac.toLowerCase()) || f.text.includes(`0x${mac.replace(/:/g, '').toLowerCase()}`);
/** The reactive miss: the l3_nexthop flow that punts to the controller. */
const isPunt = (f: FlowLine) => /actions=.*controller/.test(f.text) && !isReactive(f);

/** `ping -D` reply lines: arrival time (ms since the epoch) and ttl. */
function replies(out: string): { at: number; ttl: number }[] {
  return [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=\d+ ttl=(\d+)/gm)].map((m) => ({ at: Number(m[1]) * 1000, ttl: Number(m[2]) }));
}

/** A continuous `ping -D -i 0.05` from a VM, stopped by its own pid. */
function pingStream(cloud: Cloud, from: string, to: string) {
  const child = spawn('ip', ['netns', 'exec', findVm(cloud.state, from).netns, 'ping', '-n', '-D', '-i', '0.05', '-W', '1', to], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return {
    replies: () => replies(out),
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const mode of ['proactive', 'reactive'] as const satisfies readonly L3Mode[]) {
  describe(`end to end: the distributed router (${mode})`, () => {
    let cloud: Cloud;
    let routerId: string;
    const subnet: Record<string, string> = {};
    const netId: Record<string, string> = {};
    const gw: Record<string, { ip: string; mac: string; portId: string }> = {};
    const leases: Record<string, { address: string; router?: string }> = {};
    const timings: Record<string, number> = {};

    const call = <T = unknown>(method: string, p: string, body?: unknown) => cloud.api.call<T>(method, p, body);
    const addInterface = (body: Record<string, string>) => call<{ port_id: string }>('PUT', `/v2.0/routers/${routerId}/add_router_interface`, body);

    beforeAll(async () => {
      const t0 = Date.now();
      cloud = await startCloud('sqlite', { l3Mode: mode });
      for (const [name, cidr] of [['blue', '10.10.0.0/24'], ['red', '10.20.0.0/24'], ['green', '10.30.0.0/24']] as const) {
        const n = await cloud.api.network(name, cidr);
        subnet[name] = n.subnetId;
        netId[name] = n.id;
      }
      const { router } = await call<{ router: { id: string } }>('POST', '/v2.0/routers', { router: { name: 'r' } });
      routerId = router.id;
      for (const net of ['blue', 'red'] as const) {
        const { port_id } = await addInterface({ subnet_id: subnet[net] });
        const port = await cloud.api.port(port_id);
        gw[net] = { ip: (port.fixed_ips as { ip_address: string }[])[0].ip_address, mac: port.mac_address as string, portId: port_id };
      }
      await Promise.all(
        Object.entries(PLACEMENT).map(async ([name, [network, chassis]]) => {
          const { lease } = await createVm(cloud.state, { name, network, chassis });
          if (!lease) throw new Error(`${name}: no lease`);
          leases[name] = lease;
        }),
      );
      timings.upMs = Date.now() - t0;
    }, 180_000);

    afterAll(async () => {
      console.log(`[router e2e ${mode}] timings (ms): ${JSON.stringify(timings)}`);
      await cloud?.close();
    }, 120_000);

    it('DHCP gives the router interface as gateway; VMs on different subnets and chassis ping (TTL−1) and carry TCP', async () => {
      const st = cloud.state;
      expect(gw.blue.ip).toBe('10.10.0.1');
      expect(gw.red.ip).toBe('10.20.0.1');
      expect(leases.b1.router, 'b1 lease option 3').toBe(gw.blue.ip);
      for (const v of ['r1', 'r2', 'rx'] as const) expect(leases[v].router, `${v} lease option 3`).toBe(gw.red.ip);
      expect(await must(st, 'b1', ['ip', 'route', 'show', 'default'])).toContain(`via ${gw.blue.ip}`);

      const t0 = Date.now();
      for (const [from, to] of [['b1', 'r1'], ['b1', 'r2'], ['r1', 'b1'], ['r2', 'b1']] as const) {
        await eventually(() => pings(st, from, vmIp(st, to)), `${from} to ping ${to}`);
        const r = await exec(st, from, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', vmIp(st, to)]);
        expect(r.stdout, `${from} → ${to}`).toContain(' 0% packet loss');
        // one router hop each way: the reply left the destination with TTL 64 and was routed once
        expect(r.stdout, `${from} → ${to}: the reply was routed once`).toMatch(/ttl=63 /);
      }
      timings.firstPingsMs = Date.now() - t0;

      const t = await tcpTransfer(st, 'b1', 'r2', 1024 * 1024);
      expect(t.code, t.stderr).toBe(0);
      expect(t.received).toBe(t.sent);
    });

    it('traceroute shows exactly one hop (the router interface), then the destination; ping -t 1 gets time exceeded', async () => {
      const st = cloud.state;
      const dst = vmIp(st, 'r1');
      const tr = await must(st, 'b1', ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '5', dst]);
      const hops = tr
        .split('\n')
        .map((l) => /^\s*(\d+)\s+(\S+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [Number(m[1]), m[2]]);
      expect(hops, tr).toEqual([
        [1, gw.blue.ip],
        [2, dst],
      ]);
      const t1 = await exec(st, 'b1', ['ping', '-n', '-c', '1', '-W', '2', '-t', '1', dst]);
      expect(t1.stdout).toMatch(new RegExp(`From ${gw.blue.ip.replace(/\./g, '\\.')}.*Time to live exceeded`));
      expect(await pings(st, 'b1', dst, ['-t', '2']), 'TTL 2 is enough').toBe(true);
    });

    it('the router interface addresses answer ping', async () => {
      const st = cloud.state;
      for (const [from, to] of [['b1', gw.blue.ip], ['b1', gw.red.ip], ['r1', gw.red.ip], ['r2', gw.blue.ip]] as const) {
        const r = await exec(st, from, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', to]);
        expect(r.stdout, `${from} → ${to}`).toContain(' 0% packet loss');
      }
    });

    it('a VM on a subnet not attached to the router cannot reach, nor be reached', async () => {
      const st = cloud.state;
      // control: the routed path works right now
      expect(await pings(st, 'b1', vmIp(st, 'r1'))).toBe(true);
      for (const to of [vmIp(st, 'b1'), vmIp(st, 'r1'), gw.blue.ip, '10.30.0.1']) expect(await pings(st, 'g1', to), `g1 → ${to}`).toBe(false);
      for (const from of ['b1', 'r2'] as const) expect(await pings(st, from, vmIp(st, 'g1')), `${from} → g1`).toBe(false);
    });

    it('the first packet to a never-contacted destination arrives; later packets do not reach the controller', async () => {
      const st = cloud.state;
      const rxMac = vmMac(st, 'rx');
      const before = await tableFlows(cloud, 'hv1', L3_NEXTHOP);
      expect(before.filter((f) => isReactive(f) && mentionsMac(f, rxMac)), 'no reactive flow for rx yet').toEqual([]);
      if (mode === 'reactive') {
        expect(before.filter((f) => !isReactive(f) && mentionsMac(f, rxMac)), 'reactive: no flow for rx ahead of time').toEqual([]);
      } else {
        expect(before.filter(isReactive), 'proactive: no reactive flows at all').toEqual([]);
        expect(before.filter((f) => mentionsMac(f, rxMac)).length, 'proactive: the flow to rx is there ahead of time').toBe(1);
      }
      const puntsBefore = before.filter(isPunt).reduce((a, f) => a + f.nPackets, 0);

      // exactly one echo request, no retry: it must make it
      const first = await exec(st, 'b1', ['ping', '-n', '-c', '1', '-W', '3', vmIp(st, 'rx')]);
      expect(first.stdout, 'the first packet').toContain(' 0% packet loss');

      const afterFirst = await tableFlows(cloud, 'hv1', L3_NEXTHOP);
      const puntsAfterFirst = afterFirst.filter(isPunt).reduce((a, f) => a + f.nPackets, 0);
      const rxFlows = () => afterFirst.filter((f) => mentionsMac(f, rxMac));
      expect(rxFlows().length, 'one l3_nexthop flow to rx').toBe(1);
      if (mode === 'reactive') {
        expect(isReactive(rxFlows()[0]), 'installed by the controller (cookie 0x06…)').toBe(true);
        expect(puntsAfterFirst - puntsBefore, 'the first packet was punted once').toBe(1);
      } else {
        expect(puntsAfterFirst - puntsBefore, 'proactive: nothing punted').toBe(0);
      }

      const more = await exec(st, 'b1', ['ping', '-n', '-c', '20', '-i', '0.05', '-W', '1', vmIp(st, 'rx')]);
      expect(more.stdout).toContain(' 0% packet loss');
      // flow statistics reach OpenFlow from the datapath a little later (revalidators)
      let afterMore: FlowLine[] = [];
      await eventually(
        async () => {
          afterMore = await tableFlows(cloud, 'hv1', L3_NEXTHOP);
          const rxAfter = afterMore.filter((f) => mentionsMac(f, rxMac));
          return rxAfter.length === 1 && rxAfter[0].nPackets - rxFlows()[0].nPackets >= 20;
        },
        'the 20 later packets to be counted on the installed flow',
        5_000,
      );
      expect(afterMore.filter(isPunt).reduce((a, f) => a + f.nPackets, 0), 'no later packet reached the controller').toBe(puntsAfterFirst);
    });

    it('deleting the destination port removes the l3_nexthop flow with its MAC', async () => {
      const st = cloud.state;
      const rxMac = vmMac(st, 'rx');
      expect((await tableFlows(cloud, 'hv1', L3_NEXTHOP)).filter((f) => mentionsMac(f, rxMac)).length).toBe(1);
      const t0 = Date.now();
      await deleteVm(st, 'rx');
      await eventually(async () => (await tableFlows(cloud, 'hv1', L3_NEXTHOP)).every((f) => !mentionsMac(f, rxMac)), 'the flow to rx to go', 10_000, 20);
      timings.flowGoneAfterPortDeleteMs = Date.now() - t0;
    });

    it('removing the interface stops traffic within 1 s; adding it back restores it', async () => {
      const st = cloud.state;
      const dst = vmIp(st, 'r1');
      const stream = pingStream(cloud, 'b1', dst);
      let removedAt = 0;
      try {
        await eventually(() => stream.replies().length >= 10, 'the ping stream b1 → r1 to flow', 20_000, 50);
        removedAt = Date.now();
        await call('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: subnet.red });
        await sleep(2_500);
      } finally {
        await stream.stop();
      }
      const after = stream.replies().filter((r) => r.at >= removedAt);
      const lastReply = after.length === 0 ? removedAt : Math.max(...after.map((r) => r.at));
      timings.stopAfterRemoveMs = Math.round(lastReply - removedAt);
      expect(timings.stopAfterRemoveMs, `replies after the API call: ${after.length}`).toBeLessThan(1_000);
      expect(after.filter((r) => r.at > removedAt + 1_000), 'no reply more than 1 s after the call').toEqual([]);
      expect(await pings(st, 'b1', dst)).toBe(false);

      // Back with the same address and MAC (a port made for it), so the guests' ARP caches hold.
      const { port } = await call<{ port: { id: string } }>('POST', '/v2.0/ports', {
        port: { network_id: netId.red, mac_address: gw.red.mac, fixed_ips: [{ subnet_id: subnet.red, ip_address: gw.red.ip }] },
      });
      const t0 = Date.now();
      await addInterface({ port_id: port.id });
      await eventually(() => pings(st, 'b1', dst), 'b1 to reach r1 again', 10_000, 20);
      timings.restoreAfterAddMs = Date.now() - t0;
      await eventually(() => pings(st, 'r2', vmIp(st, 'b1')), 'r2 to reach b1 again', 10_000, 20);
    });

    it('an extra route through a VM acting as next-hop router reaches its network', async () => {
      const st = cloud.state;
      const { lease } = await createVm(st, { name: 'nh', network: 'red', chassis: 'hv3' });
      const nhIp = (lease?.address ?? '').split('/')[0];
      await cloud.api.updatePort(findVm(st, 'nh').portId, { port_security_enabled: false, security_groups: [] });
      await must(st, 'nh', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // (no dummy interfaces in this kernel: the network behind nh lives on its loopback)
      await must(st, 'nh', ['ip', 'addr', 'add', '172.31.0.1/24', 'dev', 'lo']);
      // no route yet: the router has nowhere to send it
      expect(await pings(st, 'b1', '172.31.0.1')).toBe(false);
      await call('PUT', `/v2.0/routers/${routerId}`, { router: { routes: [{ destination: '172.31.0.0/24', nexthop: nhIp }] } });
      const t0 = Date.now();
      await eventually(() => pings(st, 'b1', '172.31.0.1'), 'b1 to reach 172.31.0.1 through nh', 10_000, 20);
      timings.extraRouteMs = Date.now() - t0;
      const r = await exec(st, 'b1', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '172.31.0.1']);
      expect(r.stdout).toContain(' 0% packet loss');
      // a nexthop off every attached subnet is refused
      await expect(call('PUT', `/v2.0/routers/${routerId}`, { router: { routes: [{ destination: '172.32.0.0/24', nexthop: '10.30.0.5' }] } })).rejects.toThrow(/400/);
    });

    it('admin_state_up=false stops forwarding; true restores it', async () => {
      const st = cloud.state;
      const dst = vmIp(st, 'r2');
      expect(await pings(st, 'b1', dst)).toBe(true);
      const stream = pingStream(cloud, 'b1', dst);
      let downAt = 0;
      try {
        await eventually(() => stream.replies().length >= 10, 'the ping stream b1 → r2 to flow', 20_000, 50);
        downAt = Date.now();
        await call('PUT', `/v2.0/routers/${routerId}`, { router: { admin_state_up: false } });
        await sleep(2_500);
      } finally {
        await stream.stop();
      }
      const after = stream.replies().filter((r) => r.at >= downAt);
      timings.adminDownStopMs = Math.round((after.length === 0 ? downAt : Math.max(...after.map((r) => r.at))) - downAt);
      expect(after.filter((r) => r.at > downAt + 1_500), 'forwarding stopped: no reply in the last second').toEqual([]);
      const r = await exec(st, 'b1', ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '1', dst]);
      expect(r.stdout, 'router down: nothing passes').toContain(' 100% packet loss');
      expect(await pings(st, 'r1', gw.red.ip), 'router down: its interfaces do not answer').toBe(false);

      const t0 = Date.now();
      await call('PUT', `/v2.0/routers/${routerId}`, { router: { admin_state_up: true } });
      await eventually(() => pings(st, 'b1', dst), 'b1 → r2 to work again', 10_000, 20);
      timings.adminUpRestoreMs = Date.now() - t0;
      expect(await pings(st, 'b1', '172.31.0.1'), 'the extra route is back too').toBe(true);
    });
  });
}
