/** ARP (RFC 826) for IPv4 over Ethernet only. */
import { bytesToIpv4, bytesToMac, writeIpv4, writeMac } from './addr.js';
import { fail, ok, PacketError, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const ARP_LEN = 28;

export interface ArpPacket {
  readonly type: 'arp';
  /** 1 = request, 2 = reply (others decoded as-is). */
  readonly operation: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

/** Decodes the first 28 bytes; anything after them is ignored (Ethernet padding). */
export function decodeArp(buf: Buffer): Result<ArpPacket> {
  if (buf.length < ARP_LEN) return fail('truncated', 'arp', `need 28 bytes, have ${buf.length}`, 0);
  const htype = buf.readUInt16BE(0);
  const ptype = buf.readUInt16BE(2);
  if (htype !== 1 || ptype !== 0x0800 || buf[4] !== 6 || buf[5] !== 4) {
    return fail('unsupported', 'arp', `htype ${htype} ptype 0x${ptype.toString(16)} hlen ${buf[4]} plen ${buf[5]}`, 0);
  }
  return ok({
    type: 'arp',
    operation: buf.readUInt16BE(6),
    senderMac: bytesToMac(buf, 8),
    senderIp: bytesToIpv4(buf, 14),
    targetMac: bytesToMac(buf, 18),
    targetIp: bytesToIpv4(buf, 24),
  });
}

export function writeArp(a: ArpPacket, buf: Buffer, off: number): number {
  buf.writeUInt16BE(1, off);
  buf.writeUInt16BE(0x0800, off + 2);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf.writeUInt16BE(a.operation & 0xffff, off + 6);
  if (!writeMac(a.senderMac, buf, off + 8)) throw new PacketError('bad-address', 'arp', `bad sender MAC ${a.senderMac}`);
  if (!writeIpv4(a.senderIp, buf, off + 14)) throw new PacketError('bad-address', 'arp', `bad sender IP ${a.senderIp}`);
  if (!writeMac(a.targetMac, buf, off + 18)) throw new PacketError('bad-address', 'arp', `bad target MAC ${a.targetMac}`);
  if (!writeIpv4(a.targetIp, buf, off + 24)) throw new PacketError('bad-address', 'arp', `bad target IP ${a.targetIp}`);
  return ARP_LEN;
}

export function encodeArp(a: ArpPacket): Result<Buffer> {
  return guardEncode(() => {
    const buf = Buffer.alloc(ARP_LEN);
    writeArp(a, buf, 0);
    return buf;
  });
}
