/**
 * Builders for the frames the local controller sends in packet-outs. They return structures;
 * call `encodeEthernet(frame)` for bytes (addresses are validated there).
 */
import { bytesToMac, ipv4ToInt, MAC_BROADCAST, MAC_ZERO } from './addr.js';
import { ARP_REPLY, ARP_REQUEST } from './arp.js';
import {
  BOOTREPLY,
  DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  encodeDhcp,
  getDhcpOption,
  type DhcpMessage,
  type DhcpOption,
} from './dhcp.js';
import { ETH_TYPE_IPV4, ETH_TYPE_QINQ, ETH_TYPE_VLAN, type EthernetFrame, type VlanTag } from './ethernet.js';
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED } from './icmp.js';
import type { Icmpv6NeighborAdvertisement } from './icmpv6.js';
import type { Ipv4Packet } from './ipv4.js';
import { IPPROTO_ICMP } from './l4-context.js';
import { fail, ok, type Result } from './result.js';

export const DEFAULT_TTL = 64;

export interface ArpArgs {
  /** The host answering (reply) or asking (request). */
  readonly senderMac: string;
  readonly senderIp: string;
  /** The host being answered (reply) or asked about (request: MAC ignored, 00:..:00 sent). */
  readonly targetMac?: string;
  readonly targetIp: string;
  readonly vlan?: VlanTag;
}

/** ARP reply from sender to target, sent unicast to targetMac. */
export function buildArpReply(a: ArpArgs & { readonly targetMac: string }): EthernetFrame {
  return {
    dst: a.targetMac,
    src: a.senderMac,
    ...(a.vlan ? { vlan: a.vlan } : {}),
    etherType: 0x0806,
    payload: {
      type: 'arp',
      operation: ARP_REPLY,
      senderMac: a.senderMac,
      senderIp: a.senderIp,
      targetMac: a.targetMac,
      targetIp: a.targetIp,
    },
  };
}

/** Broadcast ARP request "who has targetIp, tell senderIp". */
export function buildArpRequest(a: ArpArgs): EthernetFrame {
  return {
    dst: MAC_BROADCAST,
    src: a.senderMac,
    ...(a.vlan ? { vlan: a.vlan } : {}),
    etherType: 0x0806,
    payload: {
      type: 'arp',
      operation: ARP_REQUEST,
      senderMac: a.senderMac,
      senderIp: a.senderIp,
      targetMac: MAC_ZERO,
      targetIp: a.targetIp,
    },
  };
}

/**
 * Echo reply for an ICMPv4 or ICMPv6 echo request frame: MACs and IPs swapped, same
 * identifier/sequence/data, TTL/hop limit reset, VLAN tag kept.
 */
export function buildIcmpEchoReply(request: EthernetFrame, ttl = DEFAULT_TTL): Result<EthernetFrame> {
  const ip = request.payload;
  const base = { dst: request.src, src: request.dst, ...(request.vlan ? { vlan: request.vlan } : {}) };
  if (ip.type === 'ipv4' && ip.payload.type === 'icmp' && ip.payload.kind === 'echo-request') {
    const echo = ip.payload;
    return ok({
      ...base,
      etherType: ETH_TYPE_IPV4,
      payload: {
        type: 'ipv4',
        dscp: ip.dscp,
        ecn: 0,
        identification: ip.identification,
        dontFragment: ip.dontFragment,
        moreFragments: false,
        fragmentOffset: 0,
        ttl,
        protocol: IPPROTO_ICMP,
        src: ip.dst,
        dst: ip.src,
        options: Buffer.alloc(0),
        payload: { type: 'icmp', kind: 'echo-reply', code: 0, identifier: echo.identifier, sequence: echo.sequence, data: echo.data },
      },
    });
  }
  if (ip.type === 'ipv6' && ip.payload.type === 'icmpv6' && ip.payload.kind === 'echo-request') {
    const echo = ip.payload;
    return ok({
      ...base,
      etherType: 0x86dd,
      payload: {
        type: 'ipv6',
        trafficClass: ip.trafficClass,
        flowLabel: 0,
        nextHeader: 58,
        hopLimit: ttl,
        src: ip.dst,
        dst: ip.src,
        payload: { type: 'icmpv6', kind: 'echo-reply', code: 0, identifier: echo.identifier, sequence: echo.sequence, data: echo.data },
      },
    });
  }
  return fail('unsupported', 'builder', 'not an ICMP/ICMPv6 echo request');
}

export type IcmpErrorKind = 'time-exceeded' | 'dest-unreachable';

export interface IcmpErrorArgs {
  /** Source of the error: the router port's IP. */
  readonly routerIp: string;
  /** Default 0 (TTL exceeded in transit / net unreachable). */
  readonly code?: number;
  /** For dest-unreachable code 4 (fragmentation needed). */
  readonly nextHopMtu?: number;
  readonly ttl?: number;
}

/**
 * ICMPv4 error about `original` (the offending IPv4 packet's bytes, starting at its header),
 * quoting its IP header + the first 8 bytes of its payload (RFC 792). Refuses (error
 * `unsupported`) where RFC 1122 §3.2.2 forbids an error: about an ICMP error, a non-first
 * fragment, or a packet from 0.0.0.0, a broadcast/multicast or loopback source.
 */
export function buildIcmpError(kind: IcmpErrorKind, original: Buffer, args: IcmpErrorArgs): Result<Ipv4Packet> {
  if (original.length < 20 || original[0] >> 4 !== 4) return fail('truncated', 'builder', 'original is not an IPv4 packet');
  const hlen = (original[0] & 15) * 4;
  if (hlen < 20 || hlen > original.length) return fail('bad-length', 'builder', 'original IPv4 header length');
  if ((original.readUInt16BE(6) & 0x1fff) !== 0) return fail('unsupported', 'builder', 'original is a non-first fragment');
  const src = original.readUInt32BE(12);
  const first = src >>> 24;
  if (src === 0 || src === 0xffffffff || first >= 224 || first === 127) {
    return fail('unsupported', 'builder', 'no ICMP errors to this source');
  }
  if (original[9] === IPPROTO_ICMP) {
    const t = original.length > hlen ? original[hlen] : -1;
    if (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHO_REPLY && t !== 13 && t !== 14) {
      return fail('unsupported', 'builder', 'no ICMP errors about ICMP errors');
    }
  }
  if (ipv4ToInt(args.routerIp) === null) return fail('bad-address', 'builder', `bad router IP ${args.routerIp}`);
  const total = Math.min(original.readUInt16BE(2), original.length);
  const quote = original.subarray(0, Math.min(Math.max(total, hlen), hlen + 8));
  const code = args.code ?? 0;
  return ok({
    type: 'ipv4',
    dscp: 48, // CS6 / TOS 0xc0 (internetwork control), as Linux routers send ICMP errors
    ecn: 0,
    identification: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: args.ttl ?? DEFAULT_TTL,
    protocol: IPPROTO_ICMP,
    src: args.routerIp,
    dst: `${first}.${(src >>> 16) & 255}.${(src >>> 8) & 255}.${src & 255}`,
    options: Buffer.alloc(0),
    payload:
      kind === 'time-exceeded'
        ? { type: 'icmp', kind: 'time-exceeded', code, original: Buffer.from(quote) }
        : { type: 'icmp', kind: 'dest-unreachable', code, nextHopMtu: args.nextHopMtu ?? 0, original: Buffer.from(quote) },
  });
}

/**
 * {@link buildIcmpError} for a whole offending Ethernet frame (e.g. a packet-in): the reply goes
 * back to the frame's source MAC from `routerMac`, keeping its VLAN tag.
 */
export function buildIcmpErrorFrame(
  kind: IcmpErrorKind,
  originalFrame: Buffer,
  args: IcmpErrorArgs & { readonly routerMac: string },
): Result<EthernetFrame> {
  if (originalFrame.length < 14) return fail('truncated', 'builder', 'frame shorter than 14 bytes');
  let off = 12;
  let vlan: VlanTag | undefined;
  const t0 = originalFrame.readUInt16BE(12);
  if (t0 === ETH_TYPE_VLAN || t0 === ETH_TYPE_QINQ) {
    if (originalFrame.length < 18) return fail('truncated', 'builder', 'VLAN tag');
    const tci = originalFrame.readUInt16BE(14);
    vlan = { tpid: t0, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0xfff };
    off = 16;
  }
  if (originalFrame.readUInt16BE(off) !== ETH_TYPE_IPV4) return fail('unsupported', 'builder', 'not an IPv4 frame');
  const ip = buildIcmpError(kind, originalFrame.subarray(off + 2), args);
  if (!ip.ok) return ip;
  return ok({
    dst: bytesToMac(originalFrame, 6),
    src: args.routerMac,
    ...(vlan ? { vlan } : {}),
    etherType: ETH_TYPE_IPV4,
    payload: ip.value,
  });
}

export const ICMP_ERROR_TYPES = { 'time-exceeded': ICMP_TIME_EXCEEDED, 'dest-unreachable': ICMP_DEST_UNREACHABLE } as const;

export interface UdpIpv4EthernetArgs {
  readonly srcMac: string;
  readonly dstMac: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
  readonly ttl?: number;
  readonly identification?: number;
  readonly dontFragment?: boolean;
  readonly dscp?: number;
  readonly vlan?: VlanTag;
}

export function buildUdpIpv4Ethernet(a: UdpIpv4EthernetArgs): EthernetFrame {
  return {
    dst: a.dstMac,
    src: a.srcMac,
    ...(a.vlan ? { vlan: a.vlan } : {}),
    etherType: ETH_TYPE_IPV4,
    payload: {
      type: 'ipv4',
      dscp: a.dscp ?? 0,
      ecn: 0,
      identification: a.identification ?? 0,
      dontFragment: a.dontFragment ?? false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: a.ttl ?? DEFAULT_TTL,
      protocol: 17,
      src: a.srcIp,
      dst: a.dstIp,
      options: Buffer.alloc(0),
      payload: { type: 'udp', srcPort: a.srcPort, dstPort: a.dstPort, payload: a.payload },
    },
  };
}

export interface DhcpReplyArgs {
  /** OFFER (2), ACK (5) or NAK (6). */
  readonly messageType: number;
  readonly serverMac: string;
  readonly serverIp: string;
  /** Address offered/acknowledged (yiaddr); ignored for NAK. */
  readonly yourIp?: string;
  /**
   * Further options (subnet mask, router, DNS, lease time, routes...), emitted after
   * message-type and server-id in the given order. The client-id of the request is echoed
   * (RFC 6842) unless given here.
   */
  readonly options?: readonly DhcpOption[];
  /** Next-hop MAC of the relay agent when the request came through one (giaddr set). */
  readonly relayMac?: string;
  readonly vlan?: VlanTag;
}

/**
 * DHCP reply to `request` (a decoded DISCOVER/REQUEST/INFORM), addressed per RFC 2131 §4.1:
 * via the relay (giaddr, port 67) if set; NAKs and requests with the broadcast bit are
 * broadcast; a client with ciaddr gets unicast to it; otherwise unicast to yiaddr and chaddr.
 */
export function buildDhcpReply(request: DhcpMessage, args: DhcpReplyArgs): Result<EthernetFrame> {
  const nak = args.messageType === DhcpMessageType.NAK;
  const yiaddr = nak ? '0.0.0.0' : (args.yourIp ?? '0.0.0.0');
  const clientMac = request.htype === 1 && request.hlen === 6 ? bytesToMac(request.chaddr, 0) : null;
  const extra = args.options ?? [];
  const options: DhcpOption[] = [
    { type: 'message-type', value: args.messageType },
    { type: 'server-id', value: args.serverIp },
    ...extra,
  ];
  const clientId = getDhcpOption(request, 'client-id');
  if (clientId && !extra.some((o) => o.type === 'client-id')) options.push(clientId);
  const reply: DhcpMessage = {
    op: BOOTREPLY,
    htype: request.htype,
    hlen: request.hlen,
    hops: 0,
    xid: request.xid,
    secs: 0,
    flags: request.flags & DHCP_FLAG_BROADCAST,
    ciaddr: request.ciaddr,
    yiaddr,
    siaddr: '0.0.0.0',
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    options,
  };
  const bytes = encodeDhcp(reply);
  if (!bytes.ok) return bytes;
  let dstIp: string;
  let dstMac: string;
  let dstPort = DHCP_CLIENT_PORT;
  if (request.giaddr !== '0.0.0.0') {
    if (!args.relayMac) return fail('unsupported', 'builder', 'reply via a DHCP relay needs relayMac');
    dstIp = request.giaddr;
    dstMac = args.relayMac;
    dstPort = DHCP_SERVER_PORT;
  } else if (nak || (request.flags & DHCP_FLAG_BROADCAST) !== 0 || !clientMac) {
    dstIp = '255.255.255.255';
    dstMac = MAC_BROADCAST;
  } else if (request.ciaddr !== '0.0.0.0') {
    dstIp = request.ciaddr;
    dstMac = clientMac;
  } else {
    dstIp = yiaddr;
    dstMac = clientMac;
  }
  return ok(
    buildUdpIpv4Ethernet({
      srcMac: args.serverMac,
      dstMac,
      srcIp: args.serverIp,
      dstIp,
      srcPort: DHCP_SERVER_PORT,
      dstPort,
      payload: bytes.value,
      ...(args.vlan ? { vlan: args.vlan } : {}),
    }),
  );
}

export interface NeighborAdvertArgs {
  /** Answering MAC (also sent as the target link-layer address option). */
  readonly srcMac: string;
  /** The address being advertised (also the IPv6 source). */
  readonly target: string;
  readonly dstMac: string;
  readonly dstIp: string;
  readonly router?: boolean;
  readonly solicited?: boolean;
  readonly override?: boolean;
  readonly vlan?: VlanTag;
}

/** Neighbor Advertisement (hop limit 255) with a target link-layer address option. */
export function buildNeighborAdvertisement(a: NeighborAdvertArgs): EthernetFrame {
  const na: Icmpv6NeighborAdvertisement = {
    type: 'icmpv6',
    kind: 'neighbor-advertisement',
    code: 0,
    router: a.router ?? false,
    solicited: a.solicited ?? true,
    override: a.override ?? true,
    target: a.target,
    options: [{ type: 'target-lla', mac: a.srcMac }],
  };
  return {
    dst: a.dstMac,
    src: a.srcMac,
    ...(a.vlan ? { vlan: a.vlan } : {}),
    etherType: 0x86dd,
    payload: { type: 'ipv6', trafficClass: 0, flowLabel: 0, nextHeader: 58, hopLimit: 255, src: a.target, dst: a.dstIp, payload: na },
  };
}
