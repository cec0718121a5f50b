/**
 * Distributed DHCP: the local controller answers its own ports' DHCP requests from the model.
 * Pure: (request frame, the port, its network and subnets) → a reply frame or a reason to stay
 * silent. The caller sends the reply straight back to the port with a packet-out.
 */
import {
  decodeEthernet,
  decodeDhcp,
  buildDhcpReply,
  encodeEthernet,
  DhcpMessageType,
  dhcpMessageType,
  dhcpClientMac,
  getDhcpOption,
  parseCidr,
  prefixMask,
  intToIpv4,
  ipv4ToInt,
  type DhcpOption,
  type DhcpMessage,
  type Route,
} from '../packet/index.js';
import type { NetworkInfo, PortInfo, SubnetInfo } from '../pipeline/topology.js';

/** Neutron's default `dhcp_lease_duration`. */
export const DEFAULT_LEASE_SECONDS = 86_400;
/** Server MAC for subnets with no gateway (a router port takes over the gateway MAC otherwise). */
export const DHCP_SERVER_MAC = 'fa:16:3e:00:00:01';

export type DhcpOutcome =
  | { readonly kind: 'reply'; readonly messageType: number; readonly frame: Buffer; readonly yourIp?: string }
  | { readonly kind: 'ignore'; readonly reason: string };

export interface DhcpContext {
  readonly port: PortInfo;
  readonly network: NetworkInfo;
  /** Subnets of the port's network, by id. */
  readonly subnets: ReadonlyMap<string, SubnetInfo>;
  readonly leaseSeconds?: number;
  readonly domain?: string;
}

function ignore(reason: string): DhcpOutcome {
  return { kind: 'ignore', reason };
}

/** The port's IPv4 address on a DHCP-enabled subnet, if any. */
export function dhcpAddress(ctx: DhcpContext): { ip: string; subnet: SubnetInfo } | undefined {
  for (const f of ctx.port.fixedIps) {
    const subnet = ctx.subnets.get(f.subnetId);
    if (subnet && subnet.ipVersion === 4 && subnet.enableDhcp) return { ip: f.ipAddress, subnet };
  }
  return undefined;
}

/** The address the DHCP server speaks from on a subnet: its gateway, else the last host address. */
export function dhcpServerIp(subnet: SubnetInfo): string {
  if (subnet.gatewayIp) return subnet.gatewayIp;
  const c = parseCidr(subnet.cidr);
  if (!c || c.family !== 4) return '0.0.0.0';
  return intToIpv4((c.networkInt + 2 ** (32 - c.prefixLen) - 2) >>> 0);
}

function extraOption(name: string, value: string): DhcpOption | undefined {
  switch (name) {
    case 'mtu':
    case '26':
      return Number.isInteger(Number(value)) ? { type: 'mtu', value: Number(value) } : undefined;
    case 'domain-name':
    case '15':
      return { type: 'domain-name', value };
    case 'dns-server':
    case '6':
      return { type: 'dns-servers', addresses: value.split(',').map((s) => s.trim()) };
    case 'router':
    case '3':
      return { type: 'router', addresses: value.split(',').map((s) => s.trim()) };
    default:
      return undefined;
  }
}

function leaseOptions(ctx: DhcpContext, subnet: SubnetInfo, ip: string): DhcpOption[] {
  const c = parseCidr(subnet.cidr);
  const prefix = c && c.family === 4 ? c.prefixLen : 32;
  const mask = intToIpv4(prefixMask(prefix));
  const lease = ctx.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const base = c && c.family === 4 ? c.networkInt : (ipv4ToInt(ip) ?? 0);
  const broadcast = intToIpv4((base | (~prefixMask(prefix) >>> 0)) >>> 0);
  const opts: DhcpOption[] = [
    { type: 'lease-time', value: lease },
    { type: 'renewal-time', value: Math.floor(lease / 2) },
    { type: 'rebinding-time', value: Math.floor((lease * 7) / 8) },
    { type: 'subnet-mask', value: mask },
    { type: 'broadcast-address', value: broadcast },
  ];
  const routes: Route[] = [];
  if (subnet.gatewayIp) {
    opts.push({ type: 'router', addresses: [subnet.gatewayIp] });
  }
  for (const r of subnet.hostRoutes) {
    if (r.destination.includes(':')) continue;
    routes.push({ destination: r.destination, router: r.nexthop });
  }
  if (routes.length > 0) {
    // RFC 3442: a client that takes option 121 ignores option 3, so the default route goes in too.
    if (subnet.gatewayIp && !routes.some((r) => r.destination === '0.0.0.0/0')) {
      routes.push({ destination: '0.0.0.0/0', router: subnet.gatewayIp });
    }
    opts.push({ type: 'classless-routes', routes });
  }
  const dns = subnet.dnsNameservers.filter((d) => !d.includes(':'));
  if (dns.length > 0) opts.push({ type: 'dns-servers', addresses: dns });
  opts.push({ type: 'mtu', value: ctx.network.mtu });
  opts.push({ type: 'hostname', value: `host-${ip.replaceAll('.', '-')}` });
  if (ctx.domain) opts.push({ type: 'domain-name', value: ctx.domain });
  for (const o of ctx.port.extraDhcpOpts) {
    const opt = extraOption(o.optName, o.optValue);
    if (!opt) continue;
    const i = opts.findIndex((x) => x.type === opt.type);
    if (i >= 0) opts[i] = opt;
    else opts.push(opt);
  }
  return opts;
}

function reply(
  request: DhcpMessage,
  messageType: number,
  serverIp: string,
  serverMac: string,
  yourIp: string | undefined,
  options: readonly DhcpOption[],
): DhcpOutcome {
  const frame = buildDhcpReply(request, { messageType, serverIp, serverMac, yourIp, options });
  if (!frame.ok) return ignore(`cannot build reply: ${frame.error.message}`);
  const bytes = encodeEthernet(frame.value);
  if (!bytes.ok) return ignore(`cannot encode reply: ${bytes.error.message}`);
  return { kind: 'reply', messageType, frame: bytes.value, yourIp };
}

/**
 * Answer one DHCP packet from `ctx.port`. `serverMac` is the MAC the reply comes from (the
 * router port's MAC on a routed subnet, else {@link DHCP_SERVER_MAC}).
 */
export function answerDhcp(packet: Buffer, ctx: DhcpContext, serverMac = DHCP_SERVER_MAC): DhcpOutcome {
  const eth = decodeEthernet(packet);
  if (!eth.ok) return ignore(`bad frame: ${eth.error.message}`);
  const ip = eth.value.payload;
  if (ip.type !== 'ipv4' || ip.payload.type !== 'udp') return ignore('not UDP/IPv4');
  const udp = ip.payload;
  if (udp.dstPort !== 67 || udp.srcPort !== 68) return ignore('not a DHCP client packet');
  const dhcp = decodeDhcp(udp.payload);
  if (!dhcp.ok) return ignore(`bad DHCP: ${dhcp.error.message}`);
  const req = dhcp.value;
  if (req.op !== 1) return ignore('not a BOOTREQUEST');
  if (dhcpClientMac(req) !== ctx.port.macAddress) return ignore('chaddr is not the port MAC');
  const addr = dhcpAddress(ctx);
  if (!addr) return ignore('port has no address on a DHCP-enabled subnet');
  const serverIp = dhcpServerIp(addr.subnet);
  const options = leaseOptions(ctx, addr.subnet, addr.ip);
  const type = dhcpMessageType(req);
  switch (type) {
    case DhcpMessageType.DISCOVER:
      return reply(req, DhcpMessageType.OFFER, serverIp, serverMac, addr.ip, options);
    case DhcpMessageType.REQUEST: {
      const serverId = getDhcpOption(req, 'server-id')?.value;
      if (serverId !== undefined && serverId !== serverIp) return ignore('REQUEST for another server');
      const requested = getDhcpOption(req, 'requested-ip')?.value ?? (req.ciaddr !== '0.0.0.0' ? req.ciaddr : undefined);
      if (requested !== undefined && requested !== addr.ip) {
        return reply(req, DhcpMessageType.NAK, serverIp, serverMac, undefined, []);
      }
      return reply(req, DhcpMessageType.ACK, serverIp, serverMac, addr.ip, options);
    }
    case DhcpMessageType.INFORM: {
      // RFC 2131 §3.4: no lease, no yiaddr; configuration only.
      const info = options.filter((o) => o.type !== 'lease-time' && o.type !== 'renewal-time' && o.type !== 'rebinding-time');
      return reply(req, DhcpMessageType.ACK, serverIp, serverMac, undefined, info);
    }
    case DhcpMessageType.RELEASE:
    case DhcpMessageType.DECLINE:
      // Addresses are owned by the port, not leased from a pool: nothing to free, no answer.
      return ignore(type === DhcpMessageType.RELEASE ? 'RELEASE noted' : 'DECLINE noted');
    default:
      return ignore(`unhandled DHCP message type ${String(type)}`);
  }
}
