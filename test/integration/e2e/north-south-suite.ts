/**
 * North-south end to end (3 compute chassis + 1 gateway chassis, real OVS, real packets, the
 * sandbox's outside world): SNAT through the gateway chassis, floating IPs on their VM's
 * chassis, provider networks, router interfaces announcing themselves. Every "cannot reach"
 * stands beside a control on the same path.
 *
 * Topology (all through the Neutron API):
 *   public  flat on physnet public, router:external, 203.0.113.0/24, gateway 203.0.113.1 (the
 *           outside namespace), pool .100–.200, DHCP on (a VM sits on it directly)
 *   na 10.20.0.0/24 ─ ra ─ public       a1 (hv1), a2 (hv2)
 *   nc 10.21.0.0/24 ─ ra                c1 (hv3)
 *   nb 10.20.0.0/24 ─ rb ─ public       b1 (hv3)    (overlaps na: another router, another address)
 *   vl VLAN 100 on public, 192.0.2.64/26, DHCP      v1 (hv1)   (the outside holds 192.0.2.65)
 *   pub-vm directly on public (hv2)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chassisMac } from '../../../src/model/chassis.js';
import { startChassis, stopChassis } from '../../../src/sandbox/chassis-control.js';
import { findOutside } from '../../../src/sandbox/outside.js';
import type { SandboxState } from '../../../src/sandbox/state.js';
import type { StoreKind } from '../../../src/sandbox/sandbox.js';
import { createVm } from '../../../src/sandbox/vm.js';
import { eventually, exec, pings, startCloud, vmIp, type Cloud, type ExecResult } from './helpers.js';

const INTERNET = '192.0.2.10';
const UPSTREAM = '203.0.113.1';

/** Run a command in the outside namespace; never throws on a non-zero exit. */
function outside(state: SandboxState, argv: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  const ns = findOutside(state).netns;
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A TCP server (in a namespace) that answers each connection with the peer's address. */
const WHO_PY = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(16)
print('ready', flush=True)
while True:
    c, a = s.accept(); c.sendall(a[0].encode()); c.close()
`;
/** Connect to argv[1]:argv[2] and print what the server says (exit 1 if it cannot). */
const ASK_PY = `
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); print(c.recv(64).decode())
except OSError as e:
    print(e); sys.exit(1)
`;

function startWho(netnsArgv: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ...netnsArgv, 'python3', '-c', WHO_PY, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

export function northSouthSuite(store: StoreKind): void {
  describe(`north-south (${store})`, () => {
    let cloud: Cloud;
    let state: SandboxState;
    const servers: ChildProcess[] = [];
    const ids: Record<string, string> = {};
    let gwA = '';
    let gwB = '';

    const admin = <T>(method: string, p: string, body?: unknown): Promise<T> => cloud.api.call<T>(method, p, body, true);

    async function router(name: string, ext: string, subnets: string[]): Promise<{ id: string; gw: string }> {
      const { router: r } = await admin<{ router: { id: string } }>('POST', '/v2.0/routers', {
        router: { name, external_gateway_info: { network_id: ext } },
      });
      for (const s of subnets) await admin('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: s });
      const got = await admin<{ router: { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } } }>('GET', `/v2.0/routers/${r.id}`);
      return { id: r.id, gw: got.router.external_gateway_info.external_fixed_ips[0].ip_address };
    }

    beforeAll(async () => {
      cloud = await startCloud(store, { gateways: 1 });
      state = cloud.state;
      const { network: pub } = await admin<{ network: { id: string } }>('POST', '/v2.0/networks', {
        network: { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' },
      });
      const { subnet: pubSub } = await admin<{ subnet: { id: string } }>('POST', '/v2.0/subnets', {
        subnet: { network_id: pub.id, name: 'public-v4', ip_version: 4, cidr: '203.0.113.0/24', gateway_ip: UPSTREAM, allocation_pools: [{ start: '203.0.113.100', end: '203.0.113.200' }] },
      });
      ids.public = pub.id;
      ids.publicSubnet = pubSub.id;
      const na = await cloud.api.network('na', '10.20.0.0/24');
      const nc = await cloud.api.network('nc', '10.21.0.0/24');
      const nb = await cloud.api.network('nb', '10.20.0.0/24');
      ids.ncSubnet = nc.subnetId;
      const ra = await router('ra', pub.id, [na.subnetId, nc.subnetId]);
      const rb = await router('rb', pub.id, [nb.subnetId]);
      ids.ra = ra.id;
      gwA = ra.gw;
      gwB = rb.gw;
      const { network: vl } = await admin<{ network: { id: string } }>('POST', '/v2.0/networks', {
        network: { name: 'vl', 'provider:network_type': 'vlan', 'provider:physical_network': 'public', 'provider:segmentation_id': 100 },
      });
      await admin('POST', '/v2.0/subnets', { subnet: { network_id: vl.id, name: 'vl-v4', ip_version: 4, cidr: '192.0.2.64/26', gateway_ip: null } });
      // The outside may open connections (ICMP, TCP) to VMs with a floating IP: a group saying so
      // (the project's default group only admits its own members, as in Neutron).
      const { security_group: sg } = await cloud.api.call<{ security_group: { id: string } }>('POST', '/v2.0/security-groups', {
        security_group: { name: 'ns-open' },
      });
      for (const protocol of ['icmp', 'tcp']) {
        await cloud.api.call('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol } });
      }
      const vm = async (name: string, network: string, chassis: string): Promise<void> => {
        const { lease } = await createVm(state, { name, network, chassis, securityGroups: ['ns-open'] });
        if (!lease) throw new Error(`${name}: no lease`);
      };
      await vm('a1', 'na', 'hv1');
      await vm('a2', 'na', 'hv2');
      await vm('c1', 'nc', 'hv3');
      await vm('b1', 'nb', 'hv3');
      // A server on the internet host telling who connects.
      const o = findOutside(state);
      servers.push(await startWho([o.netns], 8080));
    }, 600_000);

    afterAll(async () => {
      for (const s of servers) s.kill('SIGKILL');
      await cloud?.close();
    }, 300_000);

    const ask = async (vm: string, host: string, port = 8080): Promise<string> => {
      const r = await exec(state, vm, ['python3', '-c', ASK_PY, host, String(port)]);
      return r.code === 0 ? r.stdout.trim() : `failed: ${r.stdout.trim()}`;
    };

    it('VMs without a floating IP reach the internet through the gateway chassis, seen as their router\'s gateway address (overlapping subnets too)', async () => {
      await eventually(() => pings(state, 'a1', INTERNET), 'a1 pings the internet host through SNAT', 30_000, 250);
      expect(await ask('a1', INTERNET)).toBe(gwA);
      await eventually(() => pings(state, 'b1', INTERNET), 'b1 pings the internet host', 30_000, 250);
      expect(await ask('b1', INTERNET)).toBe(gwB);
      expect(gwA).not.toBe(gwB);
      // The gateway ports are hosted by the gateway chassis and ACTIVE; so are the interfaces.
      await eventually(async () => {
        const { ports } = await admin<{ ports: { device_owner: string; status: string; 'binding:host_id': string }[] }>('GET', `/v2.0/ports?device_id=${ids.ra}`);
        const gw = ports.find((p) => p.device_owner === 'network:router_gateway');
        return gw?.['binding:host_id'] === 'gw1' && ports.length >= 3 && ports.every((p) => p.status === 'ACTIVE');
      }, 'ra\'s gateway port on gw1 and every port of ra ACTIVE');
    }, 120_000);

    it('a floating IP makes a VM reachable from outside on its own chassis, and its own connections leave from it; status ACTIVE', async () => {
      const a2Port = await portOf('a2');
      const { floatingip } = await admin<{ floatingip: { id: string; floating_ip_address: string } }>('POST', '/v2.0/floatingips', {
        floatingip: { floating_network_id: ids.public, port_id: a2Port },
      });
      ids.fip = floatingip.id;
      const fip = floatingip.floating_ip_address;
      ids.fipAddress = fip;
      await eventually(async () => (await outside(state, ['ping', '-n', '-c', '1', '-W', '1', fip])).code === 0, 'the outside pings the floating IP', 30_000, 250);
      await eventually(
        async () => (await admin<{ floatingip: { status: string } }>('GET', `/v2.0/floatingips/${floatingip.id}`)).floatingip.status === 'ACTIVE',
        'floating IP ACTIVE',
      );
      expect(await ask('a2', INTERNET)).toBe(fip);
      servers.push(await startWho([state.refresh().vms.find((v) => v.name === 'a2')!.netns], 9090));
      const r = await outside(state, ['python3', '-c', ASK_PY, fip, '9090']);
      // The outside reaches the floating IP on-link, from its address on public.
      expect(r.stdout.trim()).toBe(UPSTREAM);
      // The outside learned the floating IP at hv2's MAC.
      const neigh = (await outside(state, ['ip', 'neigh', 'show', fip])).stdout;
      expect(neigh).toContain(chassisMac('hv2'));
      // A VM reaches a floating IP of the cloud (out and back in), and the own one too.
      await eventually(() => pings(state, 'a1', fip), 'a1 pings a2 through its floating IP', 20_000, 250);
      await eventually(() => pings(state, 'a2', fip), 'a2 pings its own floating IP', 20_000, 250);
    }, 120_000);

    it('disassociate: unreachable; associate with a VM on another chassis: reachable, the outside\'s neighbour entry moves', async () => {
      const fip = ids.fipAddress;
      await admin('PUT', `/v2.0/floatingips/${ids.fip}`, { floatingip: { port_id: null } });
      await eventually(async () => (await outside(state, ['ping', '-n', '-c', '1', '-W', '1', fip])).code !== 0, 'the floating IP stops answering', 20_000, 250);
      await admin('PUT', `/v2.0/floatingips/${ids.fip}`, { floatingip: { port_id: await portOf('a1') } });
      const t0 = Date.now();
      await eventually(async () => (await outside(state, ['ping', '-n', '-c', '1', '-W', '1', fip])).code === 0, 'the floating IP answers from hv1', 20_000, 100);
      console.log(`floating IP moved to hv1: reachable after ${Date.now() - t0} ms`);
      expect((await outside(state, ['ip', 'neigh', 'show', fip])).stdout).toContain(chassisMac('hv1'));
      expect(await ask('a1', INTERNET)).toBe(fip);
      expect(await ask('a2', INTERNET)).toBe(gwA);
    }, 120_000);

    it('VMs directly on the flat external network and on a VLAN provider network get DHCP and reach the outside', async () => {
      await createVm(state, { name: 'pubvm', network: 'public', chassis: 'hv2', securityGroups: ['ns-open'] });
      await eventually(() => pings(state, 'pubvm', UPSTREAM), 'a VM on public pings the upstream router', 20_000, 250);
      // VLAN 100: two VMs on different chassis talk over the physical network, tagged (the
      // outside sees their frames with the tag), never through a tunnel.
      await createVm(state, { name: 'v1', network: 'vl', chassis: 'hv1', securityGroups: ['ns-open'] });
      await createVm(state, { name: 'v2', network: 'vl', chassis: 'hv2', securityGroups: ['ns-open'] });
      const cap = spawn('ip', ['netns', 'exec', findOutside(state).netns, 'tcpdump', '--immediate-mode', '-e', '-n', '-l', '-U', '-i', 'eth0', 'vlan 100 and icmp'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let seen = '';
      let err = '';
      cap.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
      cap.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      try {
        await eventually(() => err.includes('listening on'), 'tcpdump in the outside to listen', 10_000, 20);
        await eventually(() => pings(state, 'v1', vmIp(state, 'v2')), 'v1 (hv1) pings v2 (hv2) on VLAN 100', 20_000, 250);
        // Unicast between them stays between their chassis' ports; a broadcast reaches the whole
        // segment, the outside included, tagged.
        await exec(state, 'v1', ['ping', '-n', '-b', '-c', '1', '-W', '1', '192.0.2.127']);
        await eventually(() => /vlan 100.*ICMP echo request/s.test(seen), `the outside to see the tagged echo; saw:\n${seen}`, 5_000, 50);
        // Control: the untagged external network is another segment (no route between them).
        expect(await pings(state, 'v1', UPSTREAM)).toBe(false);
      } finally {
        cap.kill('SIGINT');
      }
    }, 180_000);

    it('remove and re-add a router interface: the VM learns the new gateway MAC at once (gratuitous ARP)', async () => {
      const c1 = vmIp(state, 'c1');
      await eventually(() => pings(state, 'a1', c1), 'a1 pings c1 through ra', 20_000, 250);
      await admin('PUT', `/v2.0/routers/${ids.ra}/remove_router_interface`, { subnet_id: ids.ncSubnet });
      await admin('PUT', `/v2.0/routers/${ids.ra}/add_router_interface`, { subnet_id: ids.ncSubnet });
      const ports = await admin<{ ports: { mac_address: string; fixed_ips: { ip_address: string }[] }[] }>(
        'GET',
        `/v2.0/ports?device_id=${ids.ra}&network_id=${(await admin<{ networks: { id: string }[] }>('GET', '/v2.0/networks?name=nc')).networks[0].id}`,
      );
      const newMac = ports.ports[0].mac_address;
      // c1's neighbour entry for its gateway changes without c1 asking (its cache is fresh).
      await eventually(async () => (await exec(state, 'c1', ['ip', 'neigh', 'show', '10.21.0.1'])).stdout.includes(newMac), 'c1 learns the new gateway MAC', 5_000, 100);
      await eventually(() => pings(state, 'c1', vmIp(state, 'a1')), 'c1 pings a1 again', 5_000, 100);
    }, 120_000);

    it('the floating IP keeps working with the gateway chassis crashed; SNAT does not (control)', async () => {
      await stopChassis(state, 'gw1');
      try {
        await eventually(async () => (await outside(state, ['ping', '-n', '-c', '1', '-W', '1', ids.fipAddress])).code === 0, 'floating IP still answers', 10_000, 250);
        expect(await ask('a1', INTERNET)).toBe(ids.fipAddress);
        expect(await pings(state, 'b1', INTERNET)).toBe(false);
      } finally {
        await startChassis(state, 'gw1');
      }
      await eventually(() => pings(state, 'b1', INTERNET), 'SNAT back with the gateway chassis', 60_000, 500);
    }, 180_000);

    async function portOf(vm: string): Promise<string> {
      const r = state.refresh().vms.find((v) => v.name === vm);
      if (!r) throw new Error(`no vm ${vm}`);
      return r.portId;
    }
  });
}
