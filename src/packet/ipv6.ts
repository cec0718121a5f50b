/** IPv6 fixed header (RFC 8200). Extension headers are not parsed: such payloads stay raw. */
import { bytesToIpv6, writeIpv6 } from './addr.js';
import { ipv6PseudoSum } from './checksum.js';
import { decodeIcmpv6, icmpv6Size, writeIcmpv6, type Icmpv6Message } from './icmpv6.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type PseudoHeader } from './l4-context.js';
import { fail, ok, PacketError, type DecodeOptions, type RawPayload, type Result } from './result.js';
import { decodeTcp, tcpSize, writeTcp, type TcpSegment } from './tcp.js';
import { decodeUdp, guardEncode, udpSize, writeUdp, type UdpDatagram } from './udp.js';

export type Ipv6Payload = Icmpv6Message | UdpDatagram | TcpSegment | RawPayload;

export interface Ipv6Packet {
  readonly type: 'ipv6';
  readonly trafficClass: number;
  readonly flowLabel: number;
  /** As decoded; recomputed by encoders. */
  readonly payloadLength?: number;
  /** For icmpv6/udp/tcp payloads the encoder writes 58/17/6 whatever this says. */
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
  readonly payload: Ipv6Payload;
}

export function decodeIpv6(buf: Buffer, opts?: DecodeOptions): Result<Ipv6Packet> {
  if (buf.length < 40) return fail('truncated', 'ipv6', `need 40 bytes, have ${buf.length}`, 0);
  const first = buf.readUInt32BE(0);
  const version = first >>> 28;
  if (version !== 6) return fail('bad-version', 'ipv6', `version ${version}`, 0);
  const payloadLength = buf.readUInt16BE(4);
  if (40 + payloadLength > buf.length) {
    return fail('truncated', 'ipv6', `payload length ${payloadLength} > ${buf.length - 40}`, 4);
  }
  const nextHeader = buf[6];
  const body = buf.subarray(40, 40 + payloadLength);
  const pseudo: PseudoHeader = { family: 6, base: ipv6PseudoSum(buf, 8, 24, nextHeader, 0) };
  let r: Result<Ipv6Payload> | null = null;
  if (opts?.decodeL4 === false) r = null;
  else if (nextHeader === IPPROTO_UDP) r = decodeUdp(body, pseudo, opts);
  else if (nextHeader === IPPROTO_TCP) r = decodeTcp(body, pseudo, opts);
  else if (nextHeader === IPPROTO_ICMPV6) r = decodeIcmpv6(body, pseudo, opts);
  if (r && !r.ok) return r;
  return ok({
    type: 'ipv6',
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: buf[7],
    src: bytesToIpv6(buf, 8),
    dst: bytesToIpv6(buf, 24),
    payload: r ? r.value : { type: 'raw', data: body },
  });
}

function payloadSize(p: Ipv6Payload): number {
  switch (p.type) {
    case 'udp':
      return udpSize(p);
    case 'tcp':
      return tcpSize(p);
    case 'icmpv6':
      return icmpv6Size(p);
    case 'raw':
      return p.data.length;
  }
}

export function ipv6Size(p: Ipv6Packet): number {
  return 40 + payloadSize(p.payload);
}

export function writeIpv6Packet(p: Ipv6Packet, buf: Buffer, off: number): number {
  const plen = payloadSize(p.payload);
  if (plen > 0xffff) throw new PacketError('bad-length', 'ipv6', `payload too large (${plen})`);
  const pl = p.payload;
  const nh = pl.type === 'udp' ? IPPROTO_UDP : pl.type === 'tcp' ? IPPROTO_TCP : pl.type === 'icmpv6' ? IPPROTO_ICMPV6 : p.nextHeader & 0xff;
  buf.writeUInt32BE(((6 << 28) | ((p.trafficClass & 0xff) << 20) | (p.flowLabel & 0xfffff)) >>> 0, off);
  buf.writeUInt16BE(plen, off + 4);
  buf[off + 6] = nh;
  buf[off + 7] = p.hopLimit & 0xff;
  if (!writeIpv6(p.src, buf, off + 8)) throw new PacketError('bad-address', 'ipv6', `bad source ${p.src}`);
  if (!writeIpv6(p.dst, buf, off + 24)) throw new PacketError('bad-address', 'ipv6', `bad destination ${p.dst}`);
  const pseudo: PseudoHeader = { family: 6, base: ipv6PseudoSum(buf, off + 8, off + 24, nh, 0) };
  const o = off + 40;
  switch (pl.type) {
    case 'udp':
      writeUdp(pl, buf, o, pseudo);
      break;
    case 'tcp':
      writeTcp(pl, buf, o, pseudo);
      break;
    case 'icmpv6':
      writeIcmpv6(pl, buf, o, pseudo);
      break;
    case 'raw':
      pl.data.copy(buf, o);
      break;
  }
  return 40 + plen;
}

export function encodeIpv6(p: Ipv6Packet): Result<Buffer> {
  return guardEncode(() => {
    const buf = Buffer.alloc(ipv6Size(p));
    writeIpv6Packet(p, buf, 0);
    return buf;
  });
}
