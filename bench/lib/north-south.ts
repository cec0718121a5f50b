/**
 * The Wyvern side of bench/dataplane.ts's north-south rows, built through the Neutron API in a
 * sandbox with a gateway chassis (as test/integration/e2e/north-south-suite.ts does):
 *   public  flat on physnet public, router:external, 203.0.113.0/24, gateway 203.0.113.1 (the
 *           outside namespace), pool .100–.200
 *   ns-net 10.30.0.0/24 ─ rns ─ public (gateway port on gw1: SNAT there)
 *   VM snat (hv1, no floating IP), VM fip (hv1, floating IP: translated on hv1)
 * Both VMs are in a group admitting ingress ICMP and TCP (the default group would keep the
 * outside from opening connections to the floating IP).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxState } from '../../src/sandbox/state.js';
import { createVm, findVm } from '../../src/sandbox/vm.js';
import { log, type Api, type ApiObject } from './bench-util.js';
import { sh } from './dataplane-net.js';

export interface NsVm {
  readonly ns: string;
  readonly ip: string;
}

export interface WyvernNorthSouth {
  readonly snatVm: NsVm;
  readonly fipVm: NsVm;
  /** The router's gateway address (the source the outside sees for the SNAT VM). */
  readonly gatewayIp: string;
  readonly floatingIp: string;
}

export const EXTERNAL_CIDR = '203.0.113.0/24';
export const EXTERNAL_GATEWAY = '203.0.113.1';
export const EXTERNAL_POOL = { start: '203.0.113.100', end: '203.0.113.200' } as const;

export async function buildWyvernNorthSouth(api: Api, state: SandboxState, chassis = 'hv1'): Promise<WyvernNorthSouth> {
  const pub = await api.create('network', {
    name: 'public',
    'router:external': true,
    'provider:network_type': 'flat',
    'provider:physical_network': 'public',
  });
  await api.create('subnet', {
    network_id: pub.id,
    name: 'public-v4',
    ip_version: 4,
    cidr: EXTERNAL_CIDR,
    gateway_ip: EXTERNAL_GATEWAY,
    allocation_pools: [EXTERNAL_POOL],
  });
  const net = await api.create('network', { name: 'ns-net' });
  const sub = await api.create('subnet', { network_id: net.id, name: 'ns-net-v4', cidr: '10.30.0.0/24', ip_version: 4 });
  const router = await api.create('router', { name: 'rns', external_gateway_info: { network_id: pub.id } });
  await api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sub.id });
  const got = await api.call<{ router: { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } } }>('GET', `/routers/${router.id}`);
  const gatewayIp = got.router.external_gateway_info.external_fixed_ips[0].ip_address;

  const { security_group: sg } = await api.call<{ security_group: ApiObject }>('POST', '/security-groups', { security_group: { name: 'ns-open' } });
  for (const protocol of ['icmp', 'tcp']) {
    await api.call('POST', '/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol } });
  }
  const vm = async (name: string): Promise<NsVm> => {
    const { lease } = await createVm(state, { name, network: 'ns-net', chassis, securityGroups: ['ns-open'] });
    if (!lease) throw new Error(`${name}: no DHCP lease`);
    const ip = lease.address.split('/')[0];
    log(`vm ${name} on ns-net@${chassis}: ${ip}`);
    return { ns: findVm(state, name).netns, ip };
  };
  const snatVm = await vm('snat');
  const fipVm = await vm('fip');
  const fip = await api.create('floatingip', { floating_network_id: pub.id, port_id: findVm(state, 'fip').portId });
  const floatingIp = fip.floating_ip_address as string;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { floatingip } = await api.call<{ floatingip: { status: string } }>('GET', `/floatingips/${fip.id}`);
    if (floatingip.status === 'ACTIVE') break;
    if (Date.now() > deadline) throw new Error(`floating IP ${floatingIp} not ACTIVE after 30 s (${floatingip.status})`);
    await sleep(250);
  }
  log(`router rns: gateway ${gatewayIp}; floating IP ${floatingIp} → vm fip`);
  return { snatVm, fipVm, gatewayIp, floatingIp };
}

/** Ping `ip` from namespace `ns` (from address `bind` if given) until one answer, or throw. */
export async function waitPing(ns: string, ip: string, bind?: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await sh('ping', ['-n', '-c', '1', '-W', '1', ...(bind ? ['-I', bind] : []), ip], ns);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${ns}: no answer from ${ip} in ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(250);
    }
  }
}

/** A TCP connection from `ns` (from `bind`) to `ip`:`port`, where `whoNs` runs a server telling the peer's address. */
export async function seenSource(whoNs: string, ns: string, ip: string, bind?: string, port = 5299): Promise<string> {
  const server = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',${port}));s.listen(1);s.settimeout(10)\nc,a=s.accept();c.sendall(a[0].encode());c.close()`;
  const client = `import socket,sys\nc=socket.create_connection(('${ip}',${port}),timeout=5${bind ? `,source_address=('${bind}',0)` : ''});print(c.recv(64).decode())`;
  const srv = sh('python3', ['-c', server], whoNs, 15_000).catch(() => '');
  await sleep(300);
  try {
    return (await sh('python3', ['-c', client], ns, 10_000)).trim();
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  } finally {
    await srv;
  }
}
