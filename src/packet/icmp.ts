/** ICMPv4 (RFC 792): echo, destination unreachable, time exceeded, others kept raw. */
import { finishChecksum, sumWords } from './checksum.js';
import { fail, ok, type DecodeOptions, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;

/** Destination-unreachable codes. */
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_FRAG_NEEDED = 4;
export const ICMP_UNREACH_NET_PROHIBITED = 9;
export const ICMP_UNREACH_HOST_PROHIBITED = 10;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;
/** Time-exceeded codes. */
export const ICMP_TIME_EXCEEDED_TTL = 0;
export const ICMP_TIME_EXCEEDED_REASSEMBLY = 1;

interface IcmpCommon {
  readonly type: 'icmp';
  readonly code: number;
  /** As decoded; always computed by encoders. */
  readonly checksum?: number;
  readonly checksumValid?: boolean;
}

export interface IcmpEcho extends IcmpCommon {
  readonly kind: 'echo-request' | 'echo-reply';
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Buffer;
}

export interface IcmpDestUnreachable extends IcmpCommon {
  readonly kind: 'dest-unreachable';
  /** Low 16 bits of the second word (RFC 1191, code 4); 0 otherwise. */
  readonly nextHopMtu: number;
  /** The quoted original datagram (IP header + at least 8 bytes), raw. */
  readonly original: Buffer;
}

export interface IcmpTimeExceeded extends IcmpCommon {
  readonly kind: 'time-exceeded';
  readonly original: Buffer;
}

export interface IcmpOther extends IcmpCommon {
  readonly kind: 'other';
  readonly icmpType: number;
  /** The second 32-bit word of the header. */
  readonly rest: number;
  readonly data: Buffer;
}

export type IcmpMessage = IcmpEcho | IcmpDestUnreachable | IcmpTimeExceeded | IcmpOther;

export function decodeIcmp(buf: Buffer, opts?: DecodeOptions): Result<IcmpMessage> {
  if (buf.length < 8) return fail('truncated', 'icmp', `need 8 bytes, have ${buf.length}`, 0);
  const t = buf[0];
  const code = buf[1];
  const checksum = buf.readUInt16BE(2);
  const checksumValid = opts?.verifyChecksums === false ? undefined : finishChecksum(sumWords(buf, 0, buf.length)) === 0;
  switch (t) {
    case ICMP_ECHO_REQUEST:
    case ICMP_ECHO_REPLY:
      return ok({
        type: 'icmp', code, checksum, checksumValid,
        kind: t === ICMP_ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        identifier: buf.readUInt16BE(4),
        sequence: buf.readUInt16BE(6),
        data: buf.subarray(8),
      });
    case ICMP_DEST_UNREACHABLE:
      return ok({ type: 'icmp', code, checksum, checksumValid, kind: 'dest-unreachable', nextHopMtu: buf.readUInt16BE(6), original: buf.subarray(8) });
    case ICMP_TIME_EXCEEDED:
      return ok({ type: 'icmp', code, checksum, checksumValid, kind: 'time-exceeded', original: buf.subarray(8) });
    default:
      return ok({ type: 'icmp', code, checksum, checksumValid, kind: 'other', icmpType: t, rest: buf.readUInt32BE(4), data: buf.subarray(8) });
  }
}

export function icmpSize(m: IcmpMessage): number {
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
    case 'other':
      return 8 + m.data.length;
    case 'dest-unreachable':
    case 'time-exceeded':
      return 8 + m.original.length;
  }
}

export function writeIcmp(m: IcmpMessage, buf: Buffer, off: number): number {
  const len = icmpSize(m);
  buf[off + 1] = m.code & 0xff;
  buf.writeUInt16BE(0, off + 2);
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      buf[off] = m.kind === 'echo-request' ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
      buf.writeUInt16BE(m.identifier & 0xffff, off + 4);
      buf.writeUInt16BE(m.sequence & 0xffff, off + 6);
      m.data.copy(buf, off + 8);
      break;
    case 'dest-unreachable':
      buf[off] = ICMP_DEST_UNREACHABLE;
      buf.writeUInt16BE(0, off + 4);
      buf.writeUInt16BE(m.nextHopMtu & 0xffff, off + 6);
      m.original.copy(buf, off + 8);
      break;
    case 'time-exceeded':
      buf[off] = ICMP_TIME_EXCEEDED;
      buf.writeUInt32BE(0, off + 4);
      m.original.copy(buf, off + 8);
      break;
    case 'other':
      buf[off] = m.icmpType & 0xff;
      buf.writeUInt32BE(m.rest >>> 0, off + 4);
      m.data.copy(buf, off + 8);
      break;
  }
  buf.writeUInt16BE(finishChecksum(sumWords(buf, off, off + len)), off + 2);
  return len;
}

export function encodeIcmp(m: IcmpMessage): Result<Buffer> {
  return guardEncode(() => {
    const buf = Buffer.alloc(icmpSize(m));
    writeIcmp(m, buf, 0);
    return buf;
  });
}
