/** Ethernet II with an optional single 802.1Q (or 802.1ad) tag. */
import { bytesToMac, writeMac } from './addr.js';
import { ARP_LEN, decodeArp, writeArp, type ArpPacket } from './arp.js';
import { decodeIpv4, ipv4Size, writeIpv4Packet, type Ipv4Packet } from './ipv4.js';
import { decodeIpv6, ipv6Size, writeIpv6Packet, type Ipv6Packet } from './ipv6.js';
import { fail, ok, PacketError, type DecodeOptions, type RawPayload, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_VLAN = 0x8100;
export const ETH_TYPE_QINQ = 0x88a8;
export const ETH_TYPE_IPV6 = 0x86dd;

export interface VlanTag {
  /** 0x8100 (default) or 0x88a8. */
  readonly tpid?: number;
  readonly pcp: number;
  readonly dei: boolean;
  readonly vid: number;
}

export type EthernetPayload = ArpPacket | Ipv4Packet | Ipv6Packet | RawPayload;

export interface EthernetFrame {
  readonly dst: string;
  readonly src: string;
  readonly vlan?: VlanTag;
  /** For arp/ipv4/ipv6 payloads the encoder writes the matching type whatever this says. */
  readonly etherType: number;
  readonly payload: EthernetPayload;
  /**
   * Bytes after the L3 packet's own length (Ethernet minimum-size padding, FCS...). Decoders
   * always set it (possibly empty); encoders append it as-is.
   */
  readonly trailer?: Buffer;
}

export function decodeEthernet(buf: Buffer, opts?: DecodeOptions): Result<EthernetFrame> {
  if (buf.length < 14) return fail('truncated', 'ethernet', `need 14 bytes, have ${buf.length}`, 0);
  let etherType = buf.readUInt16BE(12);
  let off = 14;
  let vlan: VlanTag | undefined;
  if (etherType === ETH_TYPE_VLAN || etherType === ETH_TYPE_QINQ) {
    if (buf.length < 18) return fail('truncated', 'ethernet', `VLAN tag needs 18 bytes, have ${buf.length}`, 12);
    const tci = buf.readUInt16BE(14);
    vlan = { tpid: etherType, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0xfff };
    etherType = buf.readUInt16BE(16);
    off = 18;
  }
  const body = buf.subarray(off);
  let payload: EthernetPayload;
  let used: number;
  if (etherType === ETH_TYPE_ARP) {
    const r = decodeArp(body);
    if (!r.ok) return r;
    payload = r.value;
    used = ARP_LEN;
  } else if (etherType === ETH_TYPE_IPV4) {
    const r = decodeIpv4(body, opts);
    if (!r.ok) return r;
    payload = r.value;
    used = r.value.totalLength as number;
  } else if (etherType === ETH_TYPE_IPV6) {
    const r = decodeIpv6(body, opts);
    if (!r.ok) return r;
    payload = r.value;
    used = 40 + (r.value.payloadLength as number);
  } else {
    payload = { type: 'raw', data: body };
    used = body.length;
  }
  const dst = bytesToMac(buf, 0);
  const src = bytesToMac(buf, 6);
  const trailer = body.subarray(used);
  // Object literals rather than spreads: spreading is an order of magnitude slower here.
  return ok(vlan ? { dst, src, vlan, etherType, payload, trailer } : { dst, src, etherType, payload, trailer });
}

function payloadSize(p: EthernetPayload): number {
  switch (p.type) {
    case 'arp':
      return ARP_LEN;
    case 'ipv4':
      return ipv4Size(p);
    case 'ipv6':
      return ipv6Size(p);
    case 'raw':
      return p.data.length;
  }
}

export function ethernetSize(f: EthernetFrame): number {
  return (f.vlan ? 18 : 14) + payloadSize(f.payload) + (f.trailer?.length ?? 0);
}

export function writeEthernet(f: EthernetFrame, buf: Buffer, off: number): number {
  if (!writeMac(f.dst, buf, off)) throw new PacketError('bad-address', 'ethernet', `bad destination MAC ${f.dst}`);
  if (!writeMac(f.src, buf, off + 6)) throw new PacketError('bad-address', 'ethernet', `bad source MAC ${f.src}`);
  const p = f.payload;
  const etherType =
    p.type === 'arp' ? ETH_TYPE_ARP : p.type === 'ipv4' ? ETH_TYPE_IPV4 : p.type === 'ipv6' ? ETH_TYPE_IPV6 : f.etherType;
  let o = off + 12;
  if (f.vlan) {
    buf.writeUInt16BE((f.vlan.tpid ?? ETH_TYPE_VLAN) & 0xffff, o);
    buf.writeUInt16BE(((f.vlan.pcp & 7) << 13) | (f.vlan.dei ? 0x1000 : 0) | (f.vlan.vid & 0xfff), o + 2);
    o += 4;
  }
  buf.writeUInt16BE(etherType & 0xffff, o);
  o += 2;
  switch (p.type) {
    case 'arp':
      o += writeArp(p, buf, o);
      break;
    case 'ipv4':
      o += writeIpv4Packet(p, buf, o);
      break;
    case 'ipv6':
      o += writeIpv6Packet(p, buf, o);
      break;
    case 'raw':
      o += p.data.copy(buf, o);
      break;
  }
  if (f.trailer) o += f.trailer.copy(buf, o);
  return o - off;
}

/** Encodes a frame, computing every length and checksum in the layers below. */
export function encodeEthernet(f: EthernetFrame): Result<Buffer> {
  return guardEncode(() => {
    const buf = Buffer.alloc(ethernetSize(f));
    writeEthernet(f, buf, 0);
    return buf;
  });
}
