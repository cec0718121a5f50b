/**
 * ICMPv6 (RFC 4443) with Neighbor Discovery (RFC 4861): echo, RS, RA, NS, NA and their
 * options; other types kept raw. The checksum always covers the IPv6 pseudo-header.
 */
import { bytesToIpv6, bytesToMac, writeIpv6, writeMac } from './addr.js';
import { finishChecksum, sumWords } from './checksum.js';
import { IPPROTO_ICMPV6, pseudoFromAddrs, pseudoWithLength, type PseudoHeader } from './l4-context.js';
import { fail, ok, PacketError, type DecodeOptions, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;

export type NdOption =
  | { readonly type: 'source-lla'; readonly mac: string }
  | { readonly type: 'target-lla'; readonly mac: string }
  | {
      readonly type: 'prefix-info';
      readonly prefixLength: number;
      readonly onLink: boolean;
      readonly autonomous: boolean;
      readonly validLifetime: number;
      readonly preferredLifetime: number;
      readonly prefix: string;
    }
  | { readonly type: 'mtu'; readonly mtu: number }
  /** Any other option: `data` excludes the type and length bytes; encoders zero-pad to 8n. */
  | { readonly type: 'raw'; readonly optType: number; readonly data: Buffer };

interface Icmpv6Common {
  readonly type: 'icmpv6';
  readonly code: number;
  readonly checksum?: number;
  readonly checksumValid?: boolean;
}

export interface Icmpv6Echo extends Icmpv6Common {
  readonly kind: 'echo-request' | 'echo-reply';
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Buffer;
}

export interface Icmpv6RouterSolicitation extends Icmpv6Common {
  readonly kind: 'router-solicitation';
  readonly options: readonly NdOption[];
}

export interface Icmpv6RouterAdvertisement extends Icmpv6Common {
  readonly kind: 'router-advertisement';
  readonly curHopLimit: number;
  readonly managed: boolean;
  readonly other: boolean;
  readonly routerLifetime: number;
  readonly reachableTime: number;
  readonly retransTimer: number;
  readonly options: readonly NdOption[];
}

export interface Icmpv6NeighborSolicitation extends Icmpv6Common {
  readonly kind: 'neighbor-solicitation';
  readonly target: string;
  readonly options: readonly NdOption[];
}

export interface Icmpv6NeighborAdvertisement extends Icmpv6Common {
  readonly kind: 'neighbor-advertisement';
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: string;
  readonly options: readonly NdOption[];
}

export interface Icmpv6Other extends Icmpv6Common {
  readonly kind: 'other';
  readonly icmpType: number;
  /** Everything after the 4-byte type/code/checksum header. */
  readonly body: Buffer;
}

export type Icmpv6Message =
  | Icmpv6Echo
  | Icmpv6RouterSolicitation
  | Icmpv6RouterAdvertisement
  | Icmpv6NeighborSolicitation
  | Icmpv6NeighborAdvertisement
  | Icmpv6Other;

function decodeNdOptions(buf: Buffer, start: number): Result<NdOption[]> {
  const out: NdOption[] = [];
  let o = start;
  while (o < buf.length) {
    if (o + 2 > buf.length) return fail('truncated', 'icmpv6', 'option header', o);
    const t = buf[o];
    const len = buf[o + 1] * 8;
    if (len === 0) return fail('bad-option', 'icmpv6', `option ${t} has length 0`, o);
    if (o + len > buf.length) return fail('truncated', 'icmpv6', `option ${t} needs ${len} bytes`, o);
    if ((t === 1 || t === 2) && len === 8) {
      out.push({ type: t === 1 ? 'source-lla' : 'target-lla', mac: bytesToMac(buf, o + 2) });
    } else if (t === 3 && len === 32) {
      out.push({
        type: 'prefix-info',
        prefixLength: buf[o + 2],
        onLink: (buf[o + 3] & 0x80) !== 0,
        autonomous: (buf[o + 3] & 0x40) !== 0,
        validLifetime: buf.readUInt32BE(o + 4),
        preferredLifetime: buf.readUInt32BE(o + 8),
        prefix: bytesToIpv6(buf, o + 16),
      });
    } else if (t === 5 && len === 8) {
      out.push({ type: 'mtu', mtu: buf.readUInt32BE(o + 4) });
    } else {
      out.push({ type: 'raw', optType: t, data: buf.subarray(o + 2, o + len) });
    }
    o += len;
  }
  return ok(out);
}

function ndOptionSize(opt: NdOption): number {
  switch (opt.type) {
    case 'source-lla':
    case 'target-lla':
    case 'mtu':
      return 8;
    case 'prefix-info':
      return 32;
    case 'raw':
      return (opt.data.length + 2 + 7) & ~7;
  }
}

function writeNdOption(opt: NdOption, buf: Buffer, o: number): number {
  const len = ndOptionSize(opt);
  if (len > 255 * 8) throw new PacketError('bad-length', 'icmpv6', 'option too long');
  buf.fill(0, o, o + len);
  buf[o + 1] = len / 8;
  switch (opt.type) {
    case 'source-lla':
    case 'target-lla':
      buf[o] = opt.type === 'source-lla' ? 1 : 2;
      if (!writeMac(opt.mac, buf, o + 2)) throw new PacketError('bad-address', 'icmpv6', `bad MAC ${opt.mac}`);
      break;
    case 'mtu':
      buf[o] = 5;
      buf.writeUInt32BE(opt.mtu >>> 0, o + 4);
      break;
    case 'prefix-info':
      buf[o] = 3;
      buf[o + 2] = opt.prefixLength & 0xff;
      buf[o + 3] = (opt.onLink ? 0x80 : 0) | (opt.autonomous ? 0x40 : 0);
      buf.writeUInt32BE(opt.validLifetime >>> 0, o + 4);
      buf.writeUInt32BE(opt.preferredLifetime >>> 0, o + 8);
      if (!writeIpv6(opt.prefix, buf, o + 16)) throw new PacketError('bad-address', 'icmpv6', `bad prefix ${opt.prefix}`);
      break;
    case 'raw':
      buf[o] = opt.optType & 0xff;
      opt.data.copy(buf, o + 2);
      break;
  }
  return len;
}

function minLength(t: number): number {
  switch (t) {
    case ICMPV6_ECHO_REQUEST:
    case ICMPV6_ECHO_REPLY:
    case ICMPV6_ROUTER_SOLICITATION:
      return 8;
    case ICMPV6_ROUTER_ADVERTISEMENT:
      return 16;
    case ICMPV6_NEIGHBOR_SOLICITATION:
    case ICMPV6_NEIGHBOR_ADVERTISEMENT:
      return 24;
    default:
      return 4;
  }
}

export function decodeIcmpv6(buf: Buffer, pseudo?: PseudoHeader, opts?: DecodeOptions): Result<Icmpv6Message> {
  if (buf.length < 4) return fail('truncated', 'icmpv6', `need 4 bytes, have ${buf.length}`, 0);
  const t = buf[0];
  const code = buf[1];
  const checksum = buf.readUInt16BE(2);
  let checksumValid: boolean | undefined;
  if (pseudo && opts?.verifyChecksums !== false) {
    checksumValid = finishChecksum(sumWords(buf, 0, buf.length, pseudoWithLength(pseudo, buf.length))) === 0;
  }
  const min = minLength(t);
  if (buf.length < min) return fail('truncated', 'icmpv6', `type ${t} needs ${min} bytes, have ${buf.length}`, 0);
  switch (t) {
    case ICMPV6_ECHO_REQUEST:
    case ICMPV6_ECHO_REPLY:
      return ok({
        type: 'icmpv6', code, checksum, checksumValid,
        kind: t === ICMPV6_ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        identifier: buf.readUInt16BE(4),
        sequence: buf.readUInt16BE(6),
        data: buf.subarray(8),
      });
    case ICMPV6_ROUTER_SOLICITATION: {
      const options = decodeNdOptions(buf, 8);
      return options.ok ? ok({ type: 'icmpv6', code, checksum, checksumValid, kind: 'router-solicitation', options: options.value }) : options;
    }
    case ICMPV6_ROUTER_ADVERTISEMENT: {
      const options = decodeNdOptions(buf, 16);
      if (!options.ok) return options;
      return ok({
        type: 'icmpv6', code, checksum, checksumValid,
        kind: 'router-advertisement',
        curHopLimit: buf[4],
        managed: (buf[5] & 0x80) !== 0,
        other: (buf[5] & 0x40) !== 0,
        routerLifetime: buf.readUInt16BE(6),
        reachableTime: buf.readUInt32BE(8),
        retransTimer: buf.readUInt32BE(12),
        options: options.value,
      });
    }
    case ICMPV6_NEIGHBOR_SOLICITATION:
    case ICMPV6_NEIGHBOR_ADVERTISEMENT: {
      const options = decodeNdOptions(buf, 24);
      if (!options.ok) return options;
      const target = bytesToIpv6(buf, 8);
      if (t === ICMPV6_NEIGHBOR_SOLICITATION) {
        return ok({ type: 'icmpv6', code, checksum, checksumValid, kind: 'neighbor-solicitation', target, options: options.value });
      }
      return ok({
        type: 'icmpv6', code, checksum, checksumValid,
        kind: 'neighbor-advertisement',
        router: (buf[4] & 0x80) !== 0,
        solicited: (buf[4] & 0x40) !== 0,
        override: (buf[4] & 0x20) !== 0,
        target,
        options: options.value,
      });
    }
    default:
      return ok({ type: 'icmpv6', code, checksum, checksumValid, kind: 'other', icmpType: t, body: buf.subarray(4) });
  }
}

function optionsSize(opts: readonly NdOption[]): number {
  let n = 0;
  for (const o of opts) n += ndOptionSize(o);
  return n;
}

export function icmpv6Size(m: Icmpv6Message): number {
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      return 8 + m.data.length;
    case 'router-solicitation':
      return 8 + optionsSize(m.options);
    case 'router-advertisement':
      return 16 + optionsSize(m.options);
    case 'neighbor-solicitation':
    case 'neighbor-advertisement':
      return 24 + optionsSize(m.options);
    case 'other':
      return 4 + m.body.length;
  }
}

function writeOptions(opts: readonly NdOption[], buf: Buffer, o: number): void {
  for (const opt of opts) o += writeNdOption(opt, buf, o);
}

/** Writes `m` at `off`; the checksum is computed when a pseudo-header is given. */
export function writeIcmpv6(m: Icmpv6Message, buf: Buffer, off: number, pseudo?: PseudoHeader): number {
  const len = icmpv6Size(m);
  buf.fill(0, off, off + Math.min(len, 24));
  buf[off + 1] = m.code & 0xff;
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      buf[off] = m.kind === 'echo-request' ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY;
      buf.writeUInt16BE(m.identifier & 0xffff, off + 4);
      buf.writeUInt16BE(m.sequence & 0xffff, off + 6);
      m.data.copy(buf, off + 8);
      break;
    case 'router-solicitation':
      buf[off] = ICMPV6_ROUTER_SOLICITATION;
      writeOptions(m.options, buf, off + 8);
      break;
    case 'router-advertisement':
      buf[off] = ICMPV6_ROUTER_ADVERTISEMENT;
      buf[off + 4] = m.curHopLimit & 0xff;
      buf[off + 5] = (m.managed ? 0x80 : 0) | (m.other ? 0x40 : 0);
      buf.writeUInt16BE(m.routerLifetime & 0xffff, off + 6);
      buf.writeUInt32BE(m.reachableTime >>> 0, off + 8);
      buf.writeUInt32BE(m.retransTimer >>> 0, off + 12);
      writeOptions(m.options, buf, off + 16);
      break;
    case 'neighbor-solicitation':
    case 'neighbor-advertisement':
      if (m.kind === 'neighbor-solicitation') {
        buf[off] = ICMPV6_NEIGHBOR_SOLICITATION;
      } else {
        buf[off] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
        buf[off + 4] = (m.router ? 0x80 : 0) | (m.solicited ? 0x40 : 0) | (m.override ? 0x20 : 0);
      }
      if (!writeIpv6(m.target, buf, off + 8)) throw new PacketError('bad-address', 'icmpv6', `bad target ${m.target}`);
      writeOptions(m.options, buf, off + 24);
      break;
    case 'other':
      buf[off] = m.icmpType & 0xff;
      m.body.copy(buf, off + 4);
      break;
  }
  const c = pseudo ? finishChecksum(sumWords(buf, off, off + len, pseudoWithLength(pseudo, len))) : (m.checksum ?? 0);
  buf.writeUInt16BE(c & 0xffff, off + 2);
  return len;
}

/** Encodes a standalone ICMPv6 message; the checksum needs the IPv6 `src` and `dst`. */
export function encodeIcmpv6(m: Icmpv6Message, src?: string, dst?: string): Result<Buffer> {
  let pseudo: PseudoHeader | undefined;
  if (src !== undefined && dst !== undefined) {
    const p = pseudoFromAddrs(src, dst, IPPROTO_ICMPV6);
    if (!p || p.family !== 6) return fail('bad-address', 'icmpv6', `bad pseudo-header addresses ${src} ${dst}`);
    pseudo = p;
  }
  return guardEncode(() => {
    const buf = Buffer.alloc(icmpv6Size(m));
    writeIcmpv6(m, buf, 0, pseudo);
    return buf;
  });
}
