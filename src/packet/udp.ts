/** UDP (RFC 768) with IPv4/IPv6 pseudo-header checksums. */
import { finishChecksum, sumWords } from './checksum.js';
import { IPPROTO_UDP, pseudoFromAddrs, pseudoWithLength, type PseudoHeader } from './l4-context.js';
import { fail, ok, PacketError, type DecodeOptions, type Result } from './result.js';

export const UDP_HEADER_LEN = 8;

export interface UdpDatagram {
  readonly type: 'udp';
  readonly srcPort: number;
  readonly dstPort: number;
  /** Length field as decoded; ignored (recomputed) by encoders. */
  readonly length?: number;
  /**
   * As decoded. Encoders compute it, except that over IPv4 a value of 0 is kept as 0
   * ("no checksum", RFC 768).
   */
  readonly checksum?: number;
  /** Set by decoders when a pseudo-header was available; true for IPv4 checksum 0. */
  readonly checksumValid?: boolean;
  /** A view into the decoded buffer (not a copy). */
  readonly payload: Buffer;
}

export function decodeUdp(buf: Buffer, pseudo?: PseudoHeader, opts?: DecodeOptions): Result<UdpDatagram> {
  if (buf.length < UDP_HEADER_LEN) return fail('truncated', 'udp', `need 8 bytes, have ${buf.length}`, 0);
  const length = buf.readUInt16BE(4);
  if (length < UDP_HEADER_LEN) return fail('bad-length', 'udp', `length ${length} < 8`, 4);
  if (length > buf.length) return fail('truncated', 'udp', `length ${length} > ${buf.length} available`, 4);
  const checksum = buf.readUInt16BE(6);
  let checksumValid: boolean | undefined;
  if (pseudo && opts?.verifyChecksums !== false) {
    if (checksum === 0) checksumValid = pseudo.family === 4;
    else checksumValid = finishChecksum(sumWords(buf, 0, length, pseudoWithLength(pseudo, length))) === 0;
  }
  return ok({
    type: 'udp',
    srcPort: buf.readUInt16BE(0),
    dstPort: buf.readUInt16BE(2),
    length,
    checksum,
    checksumValid,
    payload: buf.subarray(UDP_HEADER_LEN, length),
  });
}

export function udpSize(u: UdpDatagram): number {
  return UDP_HEADER_LEN + u.payload.length;
}

/** Writes `u` at `off`; computes the checksum when a pseudo-header is given. Returns bytes written. */
export function writeUdp(u: UdpDatagram, buf: Buffer, off: number, pseudo?: PseudoHeader): number {
  const len = udpSize(u);
  if (len > 0xffff) throw new PacketError('bad-length', 'udp', `datagram too large (${len})`);
  buf.writeUInt16BE(u.srcPort & 0xffff, off);
  buf.writeUInt16BE(u.dstPort & 0xffff, off + 2);
  buf.writeUInt16BE(len, off + 4);
  buf.writeUInt16BE(0, off + 6);
  u.payload.copy(buf, off + UDP_HEADER_LEN);
  if (pseudo && !(pseudo.family === 4 && u.checksum === 0)) {
    const c = finishChecksum(sumWords(buf, off, off + len, pseudoWithLength(pseudo, len)));
    buf.writeUInt16BE(c === 0 ? 0xffff : c, off + 6);
  } else if (!pseudo) {
    buf.writeUInt16BE((u.checksum ?? 0) & 0xffff, off + 6);
  }
  return len;
}

/**
 * Encodes a standalone UDP datagram. With `src`/`dst` (both IPv4 or both IPv6 strings) the
 * checksum is computed; without them the given `checksum` (or 0) is written.
 */
export function encodeUdp(u: UdpDatagram, src?: string, dst?: string): Result<Buffer> {
  let pseudo: PseudoHeader | undefined;
  if (src !== undefined && dst !== undefined) {
    const p = pseudoFromAddrs(src, dst, IPPROTO_UDP);
    if (!p) return fail('bad-address', 'udp', `bad pseudo-header addresses ${src} ${dst}`);
    pseudo = p;
  }
  return guardEncode(() => {
    const buf = Buffer.alloc(udpSize(u));
    writeUdp(u, buf, 0, pseudo);
    return buf;
  });
}

/** Runs an encoder, converting a thrown PacketError into a failed Result. */
export function guardEncode(f: () => Buffer): Result<Buffer> {
  try {
    return ok(f());
  } catch (e) {
    if (e instanceof PacketError) return { ok: false, error: e };
    if (e instanceof RangeError) return fail('bad-length', 'encode', e.message);
    throw e;
  }
}
