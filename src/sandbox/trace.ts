/**
 * `wyvern sandbox trace FROM-VM TO-IP [PROTO/PORT]`: the packet a sandbox VM would send, built
 * from real addresses (the VM's port: MAC, IPv4, network; the destination MAC is the VM's on the
 * same subnet, else its router's interface MAC on the VM's subnet), traced across every chassis
 * it crosses with each chassis' own ovs-vswitchd control socket (src/trace/run.ts).
 */
import path from 'node:path';
import { isRouterInterface, PORTS, SUBNETS } from '../model/collections.js';
import { cidrContains, parseCidr, parseIp } from '../model/ip-address.js';
import type { PortRecord, SubnetRecord } from '../model/records.js';
import { openStore } from '../store/open.js';
import { traceAcross, values, type AcrossResult } from '../trace/run.js';
import type { SandboxState } from './state.js';
import { findVm } from './vm.js';

export class SandboxTraceError extends Error {
  override readonly name = 'SandboxTraceError';
}

/** `icmp` (an echo request), `tcp/PORT`, `udp/PORT`. */
export type TraceProto = { readonly proto: 'icmp' } | { readonly proto: 'tcp' | 'udp'; readonly port: number };

/** Source port of TCP/UDP probes (an ephemeral port, as a client would pick). */
export const PROBE_SOURCE_PORT = 49152;

export function parseProto(text: string | undefined): TraceProto {
  if (text === undefined || text === 'icmp') return { proto: 'icmp' };
  const m = /^(tcp|udp)\/(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new SandboxTraceError(`PROTO/PORT is icmp, tcp/N or udp/N (1-65535), not ${text}`);
  return { proto: m[1] as 'tcp' | 'udp', port: Number(m[2]) };
}

export interface SandboxTraceOptions {
  readonly from: string;
  readonly toIp: string;
  readonly proto?: TraceProto;
  readonly ctNext?: readonly string[];
}

export interface SandboxTraceResult extends AcrossResult {
  /** The packet traced on the first chassis. */
  readonly flow: string;
  /** Where the destination MAC came from: `port vm2` or `router interface (gateway 10.1.0.1)`. */
  readonly nextHop: string;
}

/** ovs-vswitchd's control socket of a sandbox chassis. */
export function chassisAppctlTarget(ovsDir: string): string {
  return path.join(ovsDir, 'ovs-vswitchd.ctl');
}

const v4 = (p: PortRecord, subnets: ReadonlyMap<string, SubnetRecord>) =>
  p.fixed_ips.filter((f) => subnets.get(f.subnet_id)?.ip_version === 4);

/**
 * The first-hop packet: source = the VM's port (MAC, IPv4 on its subnet); destination MAC = the
 * port holding TO-IP on that subnet, else the router interface on it (the gateway's, if several).
 */
export function buildProbe(o: {
  readonly from: PortRecord;
  readonly inPort: string;
  readonly toIp: string;
  readonly proto: TraceProto;
  readonly ports: readonly PortRecord[];
  readonly subnets: readonly SubnetRecord[];
}): { flow: string; nextHop: string } {
  const subnets = new Map(o.subnets.map((s) => [s.id, s]));
  const dst = parseIp(o.toIp);
  if (!dst || dst.version !== 4) throw new SandboxTraceError(`TO-IP must be an IPv4 address, not ${o.toIp}`);
  const src = v4(o.from, subnets)[0];
  if (!src) throw new SandboxTraceError(`port ${o.from.name || o.from.id} has no IPv4 address`);
  const subnet = subnets.get(src.subnet_id) as SubnetRecord;
  const cidr = parseCidr(subnet.cidr);
  let dlDst: string;
  let nextHop: string;
  if (cidr && cidrContains(cidr, dst)) {
    const peer = o.ports.find((p) => p.network_id === o.from.network_id && p.fixed_ips.some((f) => f.ip_address === o.toIp));
    if (!peer) throw new SandboxTraceError(`no port has ${o.toIp} on subnet ${subnet.name || subnet.id} (${subnet.cidr})`);
    dlDst = peer.mac_address;
    nextHop = isRouterInterface(peer) ? `router interface ${o.toIp}` : `port ${peer.name || peer.id}`;
  } else {
    const ifaces = o.ports.filter((p) => isRouterInterface(p) && p.fixed_ips.some((f) => f.subnet_id === subnet.id));
    const gw = ifaces.find((p) => p.fixed_ips.some((f) => f.ip_address === subnet.gateway_ip)) ?? ifaces[0];
    if (!gw) throw new SandboxTraceError(`${o.toIp} is off subnet ${subnet.name || subnet.id} (${subnet.cidr}) and no router has an interface on it`);
    dlDst = gw.mac_address;
    const at = gw.fixed_ips.find((f) => f.subnet_id === subnet.id)?.ip_address;
    nextHop = `router interface ${at} (${dlDst})`;
  }
  const l4 =
    o.proto.proto === 'icmp'
      ? ['icmp_type=8', 'icmp_code=0']
      : [`tp_src=${PROBE_SOURCE_PORT}`, `tp_dst=${o.proto.port}`, ...(o.proto.proto === 'tcp' ? ['tcp_flags=syn'] : [])];
  const flow = [`in_port=${o.inPort}`, `dl_src=${o.from.mac_address}`, `dl_dst=${dlDst}`, o.proto.proto, `nw_src=${src.ip_address}`, `nw_dst=${o.toIp}`, 'nw_ttl=64', ...l4].join(',');
  return { flow, nextHop };
}

/** Builds the VM's packet and traces it across the sandbox's chassis. */
export async function sandboxTrace(state: SandboxState, o: SandboxTraceOptions): Promise<SandboxTraceResult> {
  const vm = findVm(state, o.from);
  const apiUrl = state.data.apiUrl;
  if (!apiUrl) throw new SandboxTraceError('the sandbox has no API server');
  const ovsDirs = new Map(state.data.chassis.map((c) => [c.name, c.ovsDir]));
  const store = await openStore(apiUrl);
  try {
    const [ports, subnets] = await Promise.all([values(store, PORTS.prefix, PORTS.decode), values(store, SUBNETS.prefix, SUBNETS.decode)]);
    const from = ports.find((p) => p.id === vm.portId);
    if (!from) throw new SandboxTraceError(`VM ${vm.name}'s port ${vm.portId} is not in the store`);
    const { flow, nextHop } = buildProbe({ from, inPort: vm.hostLink, toIp: o.toIp, proto: o.proto ?? { proto: 'icmp' }, ports, subnets });
    const result = await traceAcross({
      store,
      flow,
      chassis: vm.chassis,
      targetOf: (name) => {
        const dir = ovsDirs.get(name);
        return dir === undefined ? undefined : chassisAppctlTarget(dir);
      },
      ...(o.ctNext ? { ctNext: o.ctNext } : {}),
    });
    return { ...result, flow, nextHop };
  } finally {
    await store.close();
  }
}
