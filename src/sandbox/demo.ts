/**
 * `wyvern sandbox demo` (what `npm run demo` runs after installing and building): a fresh
 * sandbox with 3 chassis, a demo topology built through the Neutron API, VMs booted by DHCP on
 * every chassis, and a reachability matrix — each VM pings each other VM once — checked against
 * what the topology says should reach. The cloud is left running for the user to explore.
 *
 * The topology is data (`DEMO_TOPOLOGY`) and the expectation one function (`expectedReach`):
 * floating IPs or security groups extend both, the matrix code stays as it is. The demo's router
 * joins blue and red (routed on the sending chassis, one hop), and green stays on its own.
 */
import path from 'node:path';
import { run } from '../ovs/daemons.js';
import { up, type StoreKind } from './sandbox.js';
import { SandboxState } from './state.js';
import { teardown } from './teardown.js';
import { findOutside } from './outside.js';
import { createVm, findVm } from './vm.js';

export interface DemoVm {
  readonly name: string;
  readonly chassis: string;
}

export interface DemoNetwork {
  readonly name: string;
  readonly cidr: string;
  readonly vms: readonly DemoVm[];
}

/** A router with an interface on (the one subnet of) each of `networks`. */
export interface DemoRouter {
  readonly name: string;
  readonly networks: readonly string[];
  /** Its gateway on the external network (SNAT through the gateway chassis). */
  readonly gateway?: boolean;
}

/** The external network: flat on the sandbox's physical network `public`. */
export interface DemoExternal {
  readonly name: string;
  readonly cidr: string;
  readonly gatewayIp: string;
  readonly pool: { readonly start: string; readonly end: string };
  /** VMs that get a floating IP (and a group admitting ICMP from anywhere). */
  readonly floatingIps: readonly string[];
}

export interface DemoTopology {
  readonly chassis: number;
  /** Gateway chassis gw1..gwN. */
  readonly gateways?: number;
  readonly networks: readonly DemoNetwork[];
  readonly routers?: readonly DemoRouter[];
  readonly external?: DemoExternal;
}

/** The host on the internet the sandbox's outside namespace holds (docs/sandbox.md). */
export const INTERNET_HOST = '192.0.2.10';

export const DEMO_TOPOLOGY: DemoTopology = {
  chassis: 3,
  networks: [
    {
      name: 'blue',
      cidr: '10.1.0.0/24',
      vms: [
        { name: 'blue1', chassis: 'hv1' },
        { name: 'blue2', chassis: 'hv2' },
        { name: 'blue3', chassis: 'hv3' },
      ],
    },
    {
      name: 'red',
      cidr: '10.2.0.0/24',
      vms: [
        { name: 'red1', chassis: 'hv1' },
        { name: 'red2', chassis: 'hv3' },
      ],
    },
    {
      // not attached to the router: reaches nobody
      name: 'green',
      cidr: '10.3.0.0/24',
      vms: [{ name: 'green1', chassis: 'hv2' }],
    },
  ],
  routers: [{ name: 'r1', networks: ['blue', 'red'], gateway: true }],
  gateways: 1,
  external: {
    name: 'public',
    cidr: '203.0.113.0/24',
    gatewayIp: '203.0.113.1',
    pool: { start: '203.0.113.100', end: '203.0.113.200' },
    floatingIps: ['blue2'],
  },
};

export function networkOf(t: DemoTopology, vm: string): DemoNetwork {
  const n = t.networks.find((x) => x.vms.some((v) => v.name === vm));
  if (!n) throw new Error(`no VM ${vm} in the demo topology`);
  return n;
}

/** Who should reach whom: VMs of the same network, or of two networks joined by a router. */
export function expectedReach(t: DemoTopology, from: string, to: string): boolean {
  const a = networkOf(t, from).name;
  const b = networkOf(t, to).name;
  return a === b || (t.routers ?? []).some((r) => r.networks.includes(a) && r.networks.includes(b));
}

export interface PlacedVm extends DemoVm {
  readonly network: string;
  /** Address from DHCP, without the prefix length. */
  readonly ip: string;
  /** Its floating IP, if it has one. */
  readonly floatingIp?: string;
}

/** Does this VM reach the internet (its network on a router with a gateway)? */
export function expectedOutside(t: DemoTopology, vm: string): boolean {
  if (!t.external) return false;
  const net = networkOf(t, vm).name;
  return (t.routers ?? []).some((r) => r.gateway === true && r.networks.includes(net));
}

export interface Reach {
  readonly from: string;
  readonly to: string;
  readonly reached: boolean;
  readonly expected: boolean;
}

async function post<T>(apiUrl: string, p: string, body: unknown, method = 'POST', admin = false): Promise<T> {
  const res = await fetch(`${apiUrl}${p}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(admin ? { 'x-roles': 'admin' } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Create the topology's networks and subnets through the API, then its routers and their
 * interfaces (before the VMs, so that DHCP hands out the router as the gateway), then its VMs.
 */
export async function buildTopology(state: SandboxState, t: DemoTopology, log: (l: string) => void): Promise<PlacedVm[]> {
  const apiUrl = state.data.apiUrl;
  if (!apiUrl) throw new Error('the sandbox has no API server');
  const subnets = new Map<string, string>();
  for (const n of t.networks) {
    const { network } = await post<{ network: { id: string } }>(apiUrl, '/v2.0/networks', { network: { name: n.name } });
    const { subnet } = await post<{ subnet: { id: string } }>(apiUrl, '/v2.0/subnets', {
      subnet: { network_id: network.id, name: `${n.name}-v4`, ip_version: 4, cidr: n.cidr },
    });
    subnets.set(n.name, subnet.id);
    log(`network ${n.name} ${n.cidr} (${network.id})`);
  }
  const ext = t.external;
  let extId: string | undefined;
  if (ext) {
    const { network } = await post<{ network: { id: string } }>(apiUrl, '/v2.0/networks', {
      network: { name: ext.name, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' },
    }, 'POST', true);
    await post(apiUrl, '/v2.0/subnets', {
      subnet: { network_id: network.id, name: `${ext.name}-v4`, ip_version: 4, cidr: ext.cidr, gateway_ip: ext.gatewayIp, enable_dhcp: false, allocation_pools: [ext.pool] },
    }, 'POST', true);
    extId = network.id;
    log(`external network ${ext.name} ${ext.cidr} (flat on physnet public, upstream ${ext.gatewayIp}) (${network.id})`);
  }
  for (const r of t.routers ?? []) {
    const gw = r.gateway && extId ? { external_gateway_info: { network_id: extId } } : {};
    const { router } = await post<{ router: { id: string; external_gateway_info: { external_fixed_ips: { ip_address: string }[] } | null } }>(apiUrl, '/v2.0/routers', {
      router: { name: r.name, ...gw },
    });
    const interfaces: string[] = [];
    for (const net of r.networks) {
      const subnetId = subnets.get(net);
      if (!subnetId) throw new Error(`router ${r.name}: no network ${net} in the demo topology`);
      const { port_id } = await post<{ port_id: string }>(apiUrl, `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnetId }, 'PUT');
      const res = await fetch(`${apiUrl}/v2.0/ports/${port_id}`, { headers: { accept: 'application/json' } });
      const { port } = (await res.json()) as { port: { fixed_ips: { ip_address: string }[] } };
      interfaces.push(`${net} ${port.fixed_ips[0]?.ip_address ?? '?'}`);
    }
    const gwIp = router.external_gateway_info?.external_fixed_ips[0]?.ip_address;
    log(`router ${r.name} (${router.id}): ${interfaces.join(', ')}${gwIp ? `, gateway ${ext?.name} ${gwIp} (SNAT on the gateway chassis)` : ''}`);
  }
  // VMs with a floating IP also admit ICMP from anywhere (the default group admits its members only).
  let fromOutside: string | undefined;
  if (ext && ext.floatingIps.length > 0) {
    const { security_group } = await post<{ security_group: { id: string } }>(apiUrl, '/v2.0/security-groups', { security_group: { name: 'from-outside' } });
    await post(apiUrl, '/v2.0/security-group-rules', { security_group_rule: { security_group_id: security_group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' } });
    fromOutside = security_group.id;
  }
  const placed: PlacedVm[] = [];
  for (const n of t.networks) {
    for (const v of n.vms) {
      const withFip = ext !== undefined && extId !== undefined && ext.floatingIps.includes(v.name);
      const groups = withFip && fromOutside ? ['default', fromOutside] : undefined;
      const { vm, lease } = await createVm(state, { name: v.name, network: n.name, chassis: v.chassis, ...(groups ? { securityGroups: groups } : {}) });
      const ip = (lease?.address ?? '').split('/')[0];
      let floatingIp: string | undefined;
      if (withFip) {
        const { floatingip } = await post<{ floatingip: { floating_ip_address: string } }>(apiUrl, '/v2.0/floatingips', {
          floatingip: { floating_network_id: extId, port_id: vm.portId },
        });
        floatingIp = floatingip.floating_ip_address;
      }
      log(`vm ${v.name.padEnd(6)} on ${vm.chassis}: ${n.name.padEnd(5)} ${lease?.address ?? '(no address)'}  mac ${vm.mac}${floatingIp ? `  floating IP ${floatingIp}` : ''}`);
      placed.push({ ...v, network: n.name, ip, ...(floatingIp ? { floatingIp } : {}) });
    }
  }
  return placed;
}

/** Each VM pings each other VM once (all pairs at the same time). */
export async function reachability(state: SandboxState, t: DemoTopology, vms: readonly PlacedVm[]): Promise<Reach[]> {
  const pairs = vms.flatMap((a) => vms.filter((b) => b !== a).map((b) => [a, b] as const));
  return Promise.all(
    pairs.map(async ([a, b]): Promise<Reach> => {
      let reached = false;
      try {
        await run('ping', ['-n', '-c', '1', '-W', '2', b.ip], { netns: findVm(state, a.name).netns });
        reached = true;
      } catch {
        reached = false;
      }
      return { from: a.name, to: b.name, reached, expected: expectedReach(t, a.name, b.name) };
    }),
  );
}

/** The matrix as text: rows ping columns; `ok` a reply, `--` none, `!` where that is a surprise. */
export function formatMatrix(vms: readonly PlacedVm[], results: readonly Reach[]): string {
  const width = Math.max(8, ...vms.map((v) => v.name.length + 2));
  const cell = (s: string) => s.padEnd(width);
  const lines = [
    'reachability: each row pings each column once (ok = reply, -- = no reply, ! = not what the topology says)',
    '',
    cell('') + cell('') + vms.map((v) => cell(v.network)).join(''),
    cell('') + cell('') + vms.map((v) => cell(v.name)).join(''),
  ];
  for (const a of vms) {
    const row = vms.map((b) => {
      if (a === b) return cell('.');
      const r = results.find((x) => x.from === a.name && x.to === b.name);
      if (!r) return cell('?');
      return cell((r.reached ? 'ok' : '--') + (r.reached === r.expected ? '' : ' !'));
    });
    lines.push(cell(a.network) + cell(a.name) + row.join(''));
  }
  const wrong = results.filter((r) => r.reached !== r.expected);
  lines.push('');
  lines.push(
    wrong.length === 0
      ? `all ${results.length} pairs as expected: same network reaches, networks joined by a router reach each other (routed on the sending chassis), others do not`
      : `${wrong.length} of ${results.length} pairs NOT as expected: ${wrong.map((r) => `${r.from}→${r.to} ${r.reached ? 'reached' : 'did not reach'}`).join(', ')}`,
  );
  return lines.join('\n');
}

export interface OutsideReach {
  /** A VM name, or `outside` for the outside reaching a VM's floating IP. */
  readonly from: string;
  readonly to: string;
  readonly reached: boolean;
  readonly expected: boolean;
}

async function pingsFrom(netns: string, ip: string): Promise<boolean> {
  try {
    await run('ping', ['-n', '-c', '1', '-W', '2', ip], { netns });
    return true;
  } catch {
    return false;
  }
}

/** Each VM pings the internet host; the outside pings each floating IP. */
export async function outsideReachability(state: SandboxState, t: DemoTopology, vms: readonly PlacedVm[]): Promise<OutsideReach[]> {
  const outNs = findOutside(state).netns;
  return Promise.all([
    ...vms.map(async (v): Promise<OutsideReach> => ({
      from: v.name,
      to: INTERNET_HOST,
      reached: await pingsFrom(findVm(state, v.name).netns, INTERNET_HOST),
      expected: expectedOutside(t, v.name),
    })),
    ...vms
      .filter((v) => v.floatingIp)
      .map(async (v): Promise<OutsideReach> => ({ from: 'outside', to: `${v.name} ${v.floatingIp}`, reached: await pingsFrom(outNs, v.floatingIp!), expected: true })),
  ]);
}

export function formatOutside(vms: readonly PlacedVm[], results: readonly OutsideReach[]): string {
  const lines = [`north-south: each VM pings ${INTERNET_HOST} (a host on the internet), the outside pings each floating IP`, ''];
  for (const r of results) {
    const v = vms.find((x) => x.name === r.from);
    const how = v ? (v.floatingIp ? `via its floating IP ${v.floatingIp}` : r.expected ? 'via SNAT on the gateway chassis' : 'no router with a gateway') : 'to the floating IP, on its VM\'s chassis';
    lines.push(`  ${r.from.padEnd(8)} → ${r.to.padEnd(24)} ${r.reached ? 'ok' : '--'}${r.reached === r.expected ? '' : ' !'}   (${how})`);
  }
  return lines.join('\n');
}

export interface DemoOptions {
  readonly dir: string;
  readonly apiPort?: number;
  readonly store?: StoreKind;
  readonly topology?: DemoTopology;
  readonly log: (line: string) => void;
}

export interface DemoResult {
  readonly state: SandboxState;
  readonly vms: readonly PlacedVm[];
  readonly results: readonly Reach[];
  readonly matrix: string;
  readonly asExpected: boolean;
}

/** Tear down a sandbox left in `dir`, bring a fresh one up, build the topology, ping all pairs. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const t = o.topology ?? DEMO_TOPOLOGY;
  if (SandboxState.exists(o.dir)) {
    o.log(`a sandbox is running in ${o.dir}: tearing it down first`);
    const report = await teardown(o.dir);
    if (report.errors.length > 0) throw new Error(`could not tear down the old sandbox: ${report.errors.join('; ')}`);
  }
  o.log(`bringing up ${t.chassis} chassis (OVS + controller each) and the API server...`);
  const state = await up({
    dir: path.resolve(o.dir),
    chassis: t.chassis,
    gateways: t.gateways ?? 0,
    apiPort: o.apiPort,
    store: o.store,
    log: (l) => o.log(`  ${l}`),
  });
  o.log('building the demo topology through the Neutron API...');
  const vms = await buildTopology(state, t, (l) => o.log(`  ${l}`));
  const results = await reachability(state, t, vms);
  const outside = t.external ? await outsideReachability(state, t, vms) : [];
  const matrix = formatMatrix(vms, results) + (t.external ? `\n\n${formatOutside(vms, outside)}` : '');
  const asExpected = results.every((r) => r.reached === r.expected) && outside.every((r) => r.reached === r.expected);
  return { state, vms, results, matrix, asExpected };
}
