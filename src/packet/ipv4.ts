/** IPv4 (RFC 791): options preserved, header checksum computed on encode, verified on decode. */
import { bytesToIpv4, writeIpv4 } from './addr.js';
import { finishChecksum, ipv4PseudoSum, sumWords } from './checksum.js';
import { decodeIcmp, icmpSize, writeIcmp, type IcmpMessage } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type PseudoHeader } from './l4-context.js';
import { fail, ok, PacketError, type DecodeOptions, type RawPayload, type Result } from './result.js';
import { decodeTcp, tcpSize, writeTcp, type TcpSegment } from './tcp.js';
import { decodeUdp, guardEncode, udpSize, writeUdp, type UdpDatagram } from './udp.js';

export type Ipv4Payload = IcmpMessage | UdpDatagram | TcpSegment | RawPayload;

export interface Ipv4Packet {
  readonly type: 'ipv4';
  readonly dscp: number;
  readonly ecn: number;
  /** As decoded; recomputed by encoders. */
  readonly totalLength?: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In 8-byte units, as on the wire. */
  readonly fragmentOffset: number;
  readonly ttl: number;
  /** For icmp/udp/tcp payloads the encoder writes 1/17/6 whatever this says. */
  readonly protocol: number;
  /** As decoded; recomputed by encoders. */
  readonly headerChecksum?: number;
  /** Decoders report a bad header checksum here rather than rejecting the packet. */
  readonly headerChecksumValid?: boolean;
  readonly src: string;
  readonly dst: string;
  /** Raw options (encoders zero-pad to a multiple of 4; at most 40 bytes). */
  readonly options: Buffer;
  /** Fragments (MF set or offset > 0) are always `raw`. */
  readonly payload: Ipv4Payload;
}

export function decodeIpv4(buf: Buffer, opts?: DecodeOptions): Result<Ipv4Packet> {
  if (buf.length < 20) return fail('truncated', 'ipv4', `need 20 bytes, have ${buf.length}`, 0);
  const version = buf[0] >> 4;
  if (version !== 4) return fail('bad-version', 'ipv4', `version ${version}`, 0);
  const hlen = (buf[0] & 15) * 4;
  if (hlen < 20) return fail('bad-length', 'ipv4', `header length ${hlen} < 20`, 0);
  if (hlen > buf.length) return fail('truncated', 'ipv4', `header length ${hlen} > ${buf.length}`, 0);
  const totalLength = buf.readUInt16BE(2);
  if (totalLength < hlen) return fail('bad-length', 'ipv4', `total length ${totalLength} < header ${hlen}`, 2);
  if (totalLength > buf.length) return fail('truncated', 'ipv4', `total length ${totalLength} > ${buf.length}`, 2);
  const flagsFrag = buf.readUInt16BE(6);
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragmentOffset = flagsFrag & 0x1fff;
  const protocol = buf[9];
  const body = buf.subarray(hlen, totalLength);
  let payload: Ipv4Payload;
  if (moreFragments || fragmentOffset !== 0 || opts?.decodeL4 === false) {
    payload = { type: 'raw', data: body };
  } else {
    const pseudo: PseudoHeader = { family: 4, base: ipv4PseudoSum(buf, 12, 16, protocol, 0) };
    let r: Result<Ipv4Payload> | null = null;
    if (protocol === IPPROTO_UDP) r = decodeUdp(body, pseudo, opts);
    else if (protocol === IPPROTO_TCP) r = decodeTcp(body, pseudo, opts);
    else if (protocol === IPPROTO_ICMP) r = decodeIcmp(body, opts);
    if (r && !r.ok) return r;
    payload = r ? r.value : { type: 'raw', data: body };
  }
  return ok({
    type: 'ipv4',
    dscp: buf[1] >> 2,
    ecn: buf[1] & 3,
    totalLength,
    identification: buf.readUInt16BE(4),
    dontFragment: (flagsFrag & 0x4000) !== 0,
    moreFragments,
    fragmentOffset,
    ttl: buf[8],
    protocol,
    headerChecksum: buf.readUInt16BE(10),
    headerChecksumValid: finishChecksum(sumWords(buf, 0, hlen)) === 0,
    src: bytesToIpv4(buf, 12),
    dst: bytesToIpv4(buf, 16),
    options: buf.subarray(20, hlen),
    payload,
  });
}

function optionsLen(p: Ipv4Packet): number {
  return (p.options.length + 3) & ~3;
}

export function ipv4PayloadSize(p: Ipv4Payload): number {
  switch (p.type) {
    case 'udp':
      return udpSize(p);
    case 'tcp':
      return tcpSize(p);
    case 'icmp':
      return icmpSize(p);
    case 'raw':
      return p.data.length;
  }
}

export function ipv4Size(p: Ipv4Packet): number {
  return 20 + optionsLen(p) + ipv4PayloadSize(p.payload);
}

function protocolOf(p: Ipv4Packet): number {
  switch (p.payload.type) {
    case 'udp':
      return IPPROTO_UDP;
    case 'tcp':
      return IPPROTO_TCP;
    case 'icmp':
      return IPPROTO_ICMP;
    case 'raw':
      return p.protocol;
  }
}

/** Writes `p` at `off` (throws PacketError on unencodable input). Returns bytes written. */
export function writeIpv4Packet(p: Ipv4Packet, buf: Buffer, off: number): number {
  const optLen = optionsLen(p);
  if (optLen > 40) throw new PacketError('bad-length', 'ipv4', `options too long (${p.options.length})`);
  const hlen = 20 + optLen;
  const total = hlen + ipv4PayloadSize(p.payload);
  if (total > 0xffff) throw new PacketError('bad-length', 'ipv4', `packet too large (${total})`);
  const protocol = protocolOf(p) & 0xff;
  buf[off] = 0x40 | (hlen / 4);
  buf[off + 1] = ((p.dscp & 63) << 2) | (p.ecn & 3);
  buf.writeUInt16BE(total, off + 2);
  buf.writeUInt16BE(p.identification & 0xffff, off + 4);
  buf.writeUInt16BE((p.dontFragment ? 0x4000 : 0) | (p.moreFragments ? 0x2000 : 0) | (p.fragmentOffset & 0x1fff), off + 6);
  buf[off + 8] = p.ttl & 0xff;
  buf[off + 9] = protocol;
  buf.writeUInt16BE(0, off + 10);
  if (!writeIpv4(p.src, buf, off + 12)) throw new PacketError('bad-address', 'ipv4', `bad source ${p.src}`);
  if (!writeIpv4(p.dst, buf, off + 16)) throw new PacketError('bad-address', 'ipv4', `bad destination ${p.dst}`);
  buf.fill(0, off + 20, off + hlen);
  p.options.copy(buf, off + 20);
  buf.writeUInt16BE(finishChecksum(sumWords(buf, off, off + hlen)), off + 10);
  const pl = p.payload;
  const o = off + hlen;
  const fragment = p.moreFragments || p.fragmentOffset !== 0;
  const pseudo: PseudoHeader = { family: 4, base: ipv4PseudoSum(buf, off + 12, off + 16, protocol, 0) };
  switch (pl.type) {
    case 'udp':
      writeUdp(pl, buf, o, fragment ? undefined : pseudo);
      break;
    case 'tcp':
      writeTcp(pl, buf, o, fragment ? undefined : pseudo);
      break;
    case 'icmp':
      writeIcmp(pl, buf, o);
      break;
    case 'raw':
      pl.data.copy(buf, o);
      break;
  }
  return total;
}

/** Encodes an IPv4 packet computing total length, header checksum and L4 checksums. */
export function encodeIpv4(p: Ipv4Packet): Result<Buffer> {
  return guardEncode(() => {
    const buf = Buffer.alloc(ipv4Size(p));
    writeIpv4Packet(p, buf, 0);
    return buf;
  });
}
