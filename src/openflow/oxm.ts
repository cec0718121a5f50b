// OXM / NXM match fields: one table with class, field, width, maskability and prerequisites,
// plus encode/decode of TLV entries and of ofp_match.
//
// Encoding rules (what OVS 3.x emits for OpenFlow 1.3):
//  - OXM basic class 0x8000 for standard fields; tunnel_id as OXM TUNNEL_ID.
//  - NXM class 0x0001 (NXM_NX_*) for reg0..15, nw_ttl, tun_ipv4_*, pkt_mark, conj_id,
//    tun_metadata0..63 (variable length), ct_state/zone/mark/label, xxreg0..3.
//  - OXM packet-register class 0x8001 for xreg0..7.
// Decoding also accepts the legacy NXM_OF_* (class 0) and NXM_NX_* aliases of standard fields.
// Unknown fields are skipped on decode (Match only carries the fields we model).
//
// Prerequisites: the encoder REJECTS a match whose prerequisites are not present with an exact
// value (e.g. ipv4_src without eth_type=0x0800 → OfEncodeError('missing_prerequisite')); it
// never adds fields on its own. Callers state eth_type / ip_proto / icmpv6_type explicitly.
import type { CodecOptions, FieldName, Masked, Match } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError, OfEncodeError } from './errors.js';
import {
  bigToBytes, bytesToBig, bytesToIpv4, bytesToIpv6, bytesToMac, ipv4ToBytes, ipv6ToBytes, macToBytes,
} from './addr.js';

export const OFPXMC_NXM_0 = 0x0000;
export const OFPXMC_NXM_1 = 0x0001;
export const OFPXMC_OPENFLOW_BASIC = 0x8000;
export const OFPXMC_PACKET_REGS = 0x8001;
export const OFPXMC_EXPERIMENTER = 0xffff;

export type ValueKind = 'int' | 'big' | 'mac' | 'ipv4' | 'ipv6';

export interface FieldDef {
  readonly name: FieldName;
  readonly cls: number;
  readonly field: number;
  /** Value width in bytes; for tun_metadata the default (real width comes from CodecOptions). */
  readonly len: number;
  readonly maskable: boolean;
  readonly kind: ValueKind;
  readonly variable?: boolean;
  /** Returns a description of the missing prerequisite, or undefined if satisfied. */
  readonly prereq?: (m: Match) => string | undefined;
}

function exact(m: Match, name: FieldName): unknown {
  const v = m[name];
  if (v === undefined) return undefined;
  return typeof v === 'object' ? undefined : v;
}

const isIp = (m: Match): string | undefined =>
  exact(m, 'eth_type') === 0x0800 || exact(m, 'eth_type') === 0x86dd ? undefined : 'eth_type=0x0800 or 0x86dd';
const isIpv4 = (m: Match): string | undefined => (exact(m, 'eth_type') === 0x0800 ? undefined : 'eth_type=0x0800');
const isIpv6 = (m: Match): string | undefined => (exact(m, 'eth_type') === 0x86dd ? undefined : 'eth_type=0x86dd');
const isArp = (m: Match): string | undefined =>
  exact(m, 'eth_type') === 0x0806 || exact(m, 'eth_type') === 0x8035 ? undefined : 'eth_type=0x0806';
const ipProto =
  (proto: number) =>
  (m: Match): string | undefined =>
    isIp(m) ?? (exact(m, 'ip_proto') === proto ? undefined : `ip_proto=${proto}`);
const isIcmpv4 = (m: Match): string | undefined => isIpv4(m) ?? ipProto(1)(m);
const isIcmpv6 = (m: Match): string | undefined => isIpv6(m) ?? ipProto(58)(m);
const ndType =
  (types: number[]) =>
  (m: Match): string | undefined =>
    isIcmpv6(m) ??
    (types.includes(exact(m, 'icmpv6_type') as number) ? undefined : `icmpv6_type=${types.join(' or ')}`);
const vlanPresent = (m: Match): string | undefined => {
  const v = m.vlan_vid;
  const val = typeof v === 'object' ? v.value : v;
  return val !== undefined && (val & 0x1000) !== 0 ? undefined : 'vlan_vid with OFPVID_PRESENT (0x1000)';
};

const B = OFPXMC_OPENFLOW_BASIC;
const N1 = OFPXMC_NXM_1;

function def(
  name: FieldName, cls: number, field: number, len: number, maskable: boolean, kind: ValueKind,
  prereq?: (m: Match) => string | undefined,
): FieldDef {
  return { name, cls, field, len, maskable, kind, prereq };
}

/** Canonical order of fields on the wire = order of this table. */
export const FIELD_DEFS: readonly FieldDef[] = [
  def('in_port', B, 0, 4, false, 'int'),
  def('metadata', B, 2, 8, true, 'big'),
  def('eth_dst', B, 3, 6, true, 'mac'),
  def('eth_src', B, 4, 6, true, 'mac'),
  def('eth_type', B, 5, 2, false, 'int'),
  def('vlan_vid', B, 6, 2, true, 'int'),
  def('vlan_pcp', B, 7, 1, false, 'int', vlanPresent),
  def('ip_dscp', B, 8, 1, false, 'int', isIp),
  def('ip_ecn', B, 9, 1, false, 'int', isIp),
  def('ip_proto', B, 10, 1, false, 'int', isIp),
  def('ipv4_src', B, 11, 4, true, 'ipv4', isIpv4),
  def('ipv4_dst', B, 12, 4, true, 'ipv4', isIpv4),
  def('tcp_src', B, 13, 2, true, 'int', ipProto(6)),
  def('tcp_dst', B, 14, 2, true, 'int', ipProto(6)),
  def('udp_src', B, 15, 2, true, 'int', ipProto(17)),
  def('udp_dst', B, 16, 2, true, 'int', ipProto(17)),
  def('sctp_src', B, 17, 2, true, 'int', ipProto(132)),
  def('sctp_dst', B, 18, 2, true, 'int', ipProto(132)),
  def('icmpv4_type', B, 19, 1, false, 'int', isIcmpv4),
  def('icmpv4_code', B, 20, 1, false, 'int', isIcmpv4),
  def('arp_op', B, 21, 2, false, 'int', isArp),
  def('arp_spa', B, 22, 4, true, 'ipv4', isArp),
  def('arp_tpa', B, 23, 4, true, 'ipv4', isArp),
  def('arp_sha', B, 24, 6, true, 'mac', isArp),
  def('arp_tha', B, 25, 6, true, 'mac', isArp),
  def('ipv6_src', B, 26, 16, true, 'ipv6', isIpv6),
  def('ipv6_dst', B, 27, 16, true, 'ipv6', isIpv6),
  def('icmpv6_type', B, 29, 1, false, 'int', isIcmpv6),
  def('icmpv6_code', B, 30, 1, false, 'int', isIcmpv6),
  def('nd_target', B, 31, 16, true, 'ipv6', ndType([135, 136])),
  def('nd_sll', B, 32, 6, true, 'mac', ndType([135])),
  def('nd_tll', B, 33, 6, true, 'mac', ndType([136])),
  def('tunnel_id', B, 38, 8, true, 'big'),
  def('nw_ttl', N1, 29, 1, false, 'int', isIp),
  def('tun_ipv4_src', N1, 31, 4, true, 'ipv4'),
  def('tun_ipv4_dst', N1, 32, 4, true, 'ipv4'),
  ...Array.from({ length: 64 }, (_, i) => ({
    ...def(`tun_metadata${i}` as FieldName, N1, 40 + i, 4, true, 'big'),
    variable: true,
  })),
  ...Array.from({ length: 16 }, (_, i) => def(`reg${i}` as FieldName, N1, i, 4, true, 'int')),
  ...Array.from({ length: 8 }, (_, i) => def(`xreg${i}` as FieldName, OFPXMC_PACKET_REGS, i, 8, true, 'big')),
  ...Array.from({ length: 4 }, (_, i) => def(`xxreg${i}` as FieldName, N1, 111 + i, 16, true, 'big')),
  def('pkt_mark', N1, 33, 4, true, 'int'),
  def('conj_id', N1, 37, 4, false, 'int'),
  def('ct_state', N1, 105, 4, true, 'int'),
  def('ct_zone', N1, 106, 2, false, 'int'),
  def('ct_mark', N1, 107, 4, true, 'int'),
  def('ct_label', N1, 108, 16, true, 'big'),
];

export const FIELDS_BY_NAME: ReadonlyMap<FieldName, FieldDef> = new Map(FIELD_DEFS.map((d) => [d.name, d]));
const ORDER = new Map(FIELD_DEFS.map((d, i) => [d.name, i]));

/** Decode-side aliases: (class, field) → our field, with the legacy encoding's width. */
interface Alias {
  readonly def: FieldDef;
  /** Legacy 16-bit in_port. */
  readonly port16?: boolean;
}
const key = (cls: number, field: number): number => cls * 128 + field;
const DECODE = new Map<number, Alias>();
for (const d of FIELD_DEFS) DECODE.set(key(d.cls, d.field), { def: d });
{
  const f = (n: FieldName): FieldDef => FIELDS_BY_NAME.get(n) as FieldDef;
  const nxm0: [number, FieldName][] = [
    [1, 'eth_dst'], [2, 'eth_src'], [3, 'eth_type'], [6, 'ip_proto'], [7, 'ipv4_src'], [8, 'ipv4_dst'],
    [9, 'tcp_src'], [10, 'tcp_dst'], [11, 'udp_src'], [12, 'udp_dst'], [13, 'icmpv4_type'], [14, 'icmpv4_code'],
    [15, 'arp_op'], [16, 'arp_spa'], [17, 'arp_tpa'],
  ];
  for (const [n, name] of nxm0) DECODE.set(key(OFPXMC_NXM_0, n), { def: f(name) });
  DECODE.set(key(OFPXMC_NXM_0, 0), { def: { ...f('in_port'), len: 2 }, port16: true });
  const nxm1: [number, FieldName][] = [
    [16, 'tunnel_id'], [17, 'arp_sha'], [18, 'arp_tha'], [19, 'ipv6_src'], [20, 'ipv6_dst'], [21, 'icmpv6_type'],
    [22, 'icmpv6_code'], [23, 'nd_target'], [24, 'nd_sll'], [25, 'nd_tll'], [28, 'ip_ecn'],
  ];
  for (const [n, name] of nxm1) DECODE.set(key(OFPXMC_NXM_1, n), { def: f(name) });
}

export function fieldDef(name: FieldName): FieldDef {
  const d = FIELDS_BY_NAME.get(name);
  if (!d) throw new OfEncodeError('bad_field', `unknown field ${String(name)}`);
  return d;
}

/** Wire width of a field in bytes, honouring tun_metadata TLV lengths. */
export function fieldLength(name: FieldName, opts: CodecOptions = {}): number {
  const d = fieldDef(name);
  if (d.variable) {
    const len = opts.tunMetadataLengths?.[d.field - 40] ?? 4;
    if (!Number.isInteger(len) || len < 1 || len > 124) {
      throw new OfEncodeError('bad_value', `bad tun_metadata length ${len}`);
    }
    return len;
  }
  return d.len;
}

/** The 32-bit NXM/OXM header of a field without mask (as used in reg_move, reg_load, ct zone_src). */
export function fieldHeader(name: FieldName, opts: CodecOptions = {}): number {
  const d = fieldDef(name);
  return ((d.cls << 16) | (d.field << 9) | fieldLength(name, opts)) >>> 0;
}

/** Field named by a 32-bit header (mask bit and length ignored), or undefined. */
export function fieldFromHeader(header: number): FieldName | undefined {
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const a = DECODE.get(key(cls, field));
  return a && !a.port16 ? a.def.name : undefined;
}

function badValue(d: FieldDef, v: unknown): never {
  throw new OfEncodeError('bad_value', `bad value for ${d.name}: ${String(v)}`);
}

export function valueToBytes(d: FieldDef, v: unknown, len: number): Buffer {
  // No closure here: this runs per field per flow (a closure per call costs ~15% under tsx).
  switch (d.kind) {
    case 'mac':
      return typeof v === 'string' ? macToBytes(v) : badValue(d, v);
    case 'ipv4':
      return typeof v === 'string' ? ipv4ToBytes(v) : badValue(d, v);
    case 'ipv6':
      return typeof v === 'string' ? ipv6ToBytes(v) : badValue(d, v);
    case 'big':
      return typeof v === 'bigint' ? bigToBytes(v, len) : typeof v === 'number' ? bigToBytes(BigInt(v), len) : badValue(d, v);
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return badValue(d, v);
      if (len <= 6 && v < 2 ** (len * 8)) {
        // Fast path (no BigInt) for the common case; bigToBytes reports out-of-range values.
        const b = Buffer.allocUnsafe(len);
        b.writeUIntBE(v, 0, len);
        return b;
      }
      return bigToBytes(BigInt(v), len);
  }
}

export function bytesToValue(d: FieldDef, b: Buffer): unknown {
  switch (d.kind) {
    case 'mac':
      return bytesToMac(b);
    case 'ipv4':
      return bytesToIpv4(b);
    case 'ipv6':
      return bytesToIpv6(b);
    case 'big':
      return bytesToBig(b);
    case 'int':
      return Number(bytesToBig(b));
  }
}

function isMasked(v: unknown): v is Masked<unknown> {
  return typeof v === 'object' && v !== null && 'value' in v && 'mask' in v;
}

/** Write one OXM/NXM TLV (header, value, mask). */
export function writeOxmEntry(w: BufferWriter, name: FieldName, v: unknown, opts: CodecOptions = {}): void {
  const d = fieldDef(name);
  const len = fieldLength(name, opts);
  if (isMasked(v)) {
    if (!d.maskable) throw new OfEncodeError('not_maskable', `${name} is not maskable`);
    w.u32(((d.cls << 16) | (d.field << 9) | 0x100 | (len * 2)) >>> 0);
    w.bytes(valueToBytes(d, v.value, len));
    w.bytes(valueToBytes(d, v.mask, len));
  } else {
    w.u32(((d.cls << 16) | (d.field << 9) | len) >>> 0);
    w.bytes(valueToBytes(d, v, len));
  }
}

/** Field names of a match in canonical wire order. */
export function matchFieldsInOrder(m: Match): FieldName[] {
  const names = Object.keys(m).filter((k) => m[k as FieldName] !== undefined) as FieldName[];
  for (const n of names) fieldDef(n);
  return names.sort((a, b) => (ORDER.get(a) as number) - (ORDER.get(b) as number));
}

/** Throws OfEncodeError('missing_prerequisite') if a field's prerequisites are not in the match. */
export function checkPrerequisites(m: Match, names: readonly FieldName[] = matchFieldsInOrder(m)): void {
  for (const n of names) {
    const missing = fieldDef(n).prereq?.(m);
    if (missing) throw new OfEncodeError('missing_prerequisite', `${n} requires ${missing}`);
  }
}

/** Bare OXM TLVs in canonical order (no ofp_match header, no padding). */
export function writeOxmFields(w: BufferWriter, m: Match, opts: CodecOptions = {}, prerequisites = true): void {
  const names = matchFieldsInOrder(m);
  if (prerequisites) checkPrerequisites(m, names);
  for (const n of names) writeOxmEntry(w, n, m[n], opts);
}

/** ofp_match (type OXM) padded to 8 bytes. */
export function writeMatch(w: BufferWriter, m: Match, opts: CodecOptions = {}): void {
  const start = w.length;
  w.u16(1).u16(0);
  writeOxmFields(w, m, opts);
  w.setU16(start + 2, w.length - start);
  w.pad8(start);
}

export interface OxmEntry {
  readonly name?: FieldName;
  readonly value?: unknown;
  readonly header: number;
}

/** Read one TLV. Unknown fields come back with `name` undefined. */
export function readOxmEntry(r: BufferReader): OxmEntry {
  const header = r.u32();
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  let len = header & 0xff;
  if (cls === OFPXMC_EXPERIMENTER) {
    r.skip(Math.max(0, len));
    return { header };
  }
  const body = r.sub(len);
  const alias = DECODE.get(key(cls, field));
  if (!alias) return { header };
  const d = alias.def;
  if (hasMask) {
    if (len % 2 !== 0) throw new OfDecodeError('bad_match', `odd masked length for ${d.name}`);
    len /= 2;
  }
  // Variable-length fields (tun_metadata) come back as short as their value: OVS encodes a
  // set_field of 0x5 in one byte and of 0 in zero bytes (seen in group desc replies).
  if (d.variable ? len > 124 : len !== d.len) {
    throw new OfDecodeError('bad_match', `bad length ${len} for ${d.name}`);
  }
  let value = bytesToValue(d, body.bytes(len));
  if (alias.port16 && typeof value === 'number' && value >= 0xff00) value += 0xffff0000;
  if (hasMask) value = { value, mask: bytesToValue(d, body.bytes(len)) };
  return { name: d.name, value, header };
}

/** Read TLVs until the reader is exhausted. */
export function readOxmFields(r: BufferReader): Match {
  const out: Record<string, unknown> = {};
  while (r.remaining > 0) {
    const e = readOxmEntry(r);
    if (!e.name) continue;
    if (e.name in out) throw new OfDecodeError('bad_match', `duplicate field ${e.name}`);
    out[e.name] = e.value;
  }
  return out as Match;
}

/** Read an ofp_match including its padding. */
export function readMatch(r: BufferReader): Match {
  const type = r.u16();
  const length = r.u16();
  if (type !== 1) throw new OfDecodeError('bad_match', `unsupported match type ${type}`);
  if (length < 4) throw new OfDecodeError('bad_match', `bad match length ${length}`);
  const m = readOxmFields(r.sub(length - 4));
  r.skip((8 - (length % 8)) % 8);
  return m;
}
