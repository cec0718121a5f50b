/** TCP header (RFC 9293): ports, seq/ack, flags, window, raw options, checksum. */
import { finishChecksum, sumWords } from './checksum.js';
import { IPPROTO_TCP, pseudoFromAddrs, pseudoWithLength, type PseudoHeader } from './l4-context.js';
import { fail, ok, PacketError, type DecodeOptions, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
export const TCP_NS = 0x100;

export interface TcpSegment {
  readonly type: 'tcp';
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** 9 flag bits (TCP_FIN ... TCP_NS). */
  readonly flags: number;
  readonly window: number;
  /** As decoded; always computed by encoders when a pseudo-header is available. */
  readonly checksum?: number;
  readonly checksumValid?: boolean;
  readonly urgentPointer: number;
  /** Raw options (length a multiple of 4; encoders zero-pad otherwise). View into the input. */
  readonly options: Buffer;
  /** View into the input. */
  readonly payload: Buffer;
}

export function decodeTcp(buf: Buffer, pseudo?: PseudoHeader, opts?: DecodeOptions): Result<TcpSegment> {
  if (buf.length < 20) return fail('truncated', 'tcp', `need 20 bytes, have ${buf.length}`, 0);
  const dataOffset = (buf[12] >> 4) * 4;
  if (dataOffset < 20) return fail('bad-length', 'tcp', `data offset ${dataOffset} < 20`, 12);
  if (dataOffset > buf.length) return fail('truncated', 'tcp', `header ${dataOffset} > ${buf.length} available`, 12);
  const checksum = buf.readUInt16BE(16);
  let checksumValid: boolean | undefined;
  if (pseudo && opts?.verifyChecksums !== false) {
    checksumValid = finishChecksum(sumWords(buf, 0, buf.length, pseudoWithLength(pseudo, buf.length))) === 0;
  }
  return ok({
    type: 'tcp',
    srcPort: buf.readUInt16BE(0),
    dstPort: buf.readUInt16BE(2),
    seq: buf.readUInt32BE(4),
    ack: buf.readUInt32BE(8),
    flags: ((buf[12] & 1) << 8) | buf[13],
    window: buf.readUInt16BE(14),
    checksum,
    checksumValid,
    urgentPointer: buf.readUInt16BE(18),
    options: buf.subarray(20, dataOffset),
    payload: buf.subarray(dataOffset),
  });
}

function optionsLen(t: TcpSegment): number {
  return (t.options.length + 3) & ~3;
}

export function tcpSize(t: TcpSegment): number {
  return 20 + optionsLen(t) + t.payload.length;
}

export function writeTcp(t: TcpSegment, buf: Buffer, off: number, pseudo?: PseudoHeader): number {
  const optLen = optionsLen(t);
  if (optLen > 40) throw new PacketError('bad-length', 'tcp', `options too long (${t.options.length})`);
  const len = tcpSize(t);
  buf.writeUInt16BE(t.srcPort & 0xffff, off);
  buf.writeUInt16BE(t.dstPort & 0xffff, off + 2);
  buf.writeUInt32BE(t.seq >>> 0, off + 4);
  buf.writeUInt32BE(t.ack >>> 0, off + 8);
  buf[off + 12] = (((20 + optLen) / 4) << 4) | ((t.flags >> 8) & 1);
  buf[off + 13] = t.flags & 0xff;
  buf.writeUInt16BE(t.window & 0xffff, off + 14);
  buf.writeUInt16BE(0, off + 16);
  buf.writeUInt16BE(t.urgentPointer & 0xffff, off + 18);
  buf.fill(0, off + 20, off + 20 + optLen);
  t.options.copy(buf, off + 20);
  t.payload.copy(buf, off + 20 + optLen);
  const c = pseudo ? finishChecksum(sumWords(buf, off, off + len, pseudoWithLength(pseudo, len))) : (t.checksum ?? 0);
  buf.writeUInt16BE(c & 0xffff, off + 16);
  return len;
}

/** Encodes a standalone TCP segment; the checksum is computed when `src`/`dst` are given. */
export function encodeTcp(t: TcpSegment, src?: string, dst?: string): Result<Buffer> {
  let pseudo: PseudoHeader | undefined;
  if (src !== undefined && dst !== undefined) {
    const p = pseudoFromAddrs(src, dst, IPPROTO_TCP);
    if (!p) return fail('bad-address', 'tcp', `bad pseudo-header addresses ${src} ${dst}`);
    pseudo = p;
  }
  return guardEncode(() => {
    const buf = Buffer.alloc(tcpSize(t));
    writeTcp(t, buf, 0, pseudo);
    return buf;
  });
}
