// Nicira (vendor 0x00002320) experimenter actions.
//
// Every NX action starts: type=0xffff u16, len u16, vendor u32, subtype u16.
import type { Action, CodecOptions, FieldName, NatSpec, PacketInReason, SubField } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError, OfEncodeError } from './errors.js';
import { portFrom16, portTo16, OFPP_IN_PORT } from './ports.js';
import { fieldFromHeader, fieldHeader, fieldLength, readOxmEntry, writeOxmEntry } from './oxm.js';
import { bigToBytes, bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from './addr.js';
import { reasonFromNumber, reasonToNumber } from './reasons.js';

export const NX_VENDOR_ID = 0x00002320;

export const enum NXAST {
  RESUBMIT = 1,
  REG_MOVE = 6,
  REG_LOAD = 7,
  NOTE = 8,
  RESUBMIT_TABLE = 14,
  REG_LOAD2 = 33,
  CONJUNCTION = 34,
  CT = 35,
  NAT = 36,
  CONTROLLER2 = 37,
  CT_CLEAR = 43,
}

const NX_CT_F_COMMIT = 1;
const NX_CT_F_FORCE = 2;
const NX_CT_RECIRC_NONE = 0xff;

const NAT_F_SRC = 1;
const NAT_F_DST = 2;
const NAT_F_PERSISTENT = 4;
const NAT_F_PROTO_HASH = 8;
const NAT_F_PROTO_RANDOM = 16;
const NAT_R_IPV4_MIN = 1;
const NAT_R_IPV4_MAX = 2;
const NAT_R_IPV6_MIN = 4;
const NAT_R_IPV6_MAX = 8;
const NAT_R_PROTO_MIN = 16;
const NAT_R_PROTO_MAX = 32;

const enum NXAC2PT {
  MAX_LEN = 0,
  CONTROLLER_ID = 1,
  REASON = 2,
  USERDATA = 3,
  PAUSE = 4,
  METER_ID = 5,
}

/** Start an NX action; returns its start offset. Call endNx(w, start) when done. */
function startNx(w: BufferWriter, subtype: number): number {
  const start = w.length;
  w.u16(0xffff).u16(0).u32(NX_VENDOR_ID).u16(subtype);
  return start;
}

function endNx(w: BufferWriter, start: number): void {
  w.pad8(start);
  w.setU16(start + 2, w.length - start);
}

export function ofsNbits(ofs: number, nbits: number): number {
  return (ofs << 6) | (nbits - 1);
}

function checkSubField(sf: SubField, opts: CodecOptions): void {
  const width = fieldLength(sf.field, opts) * 8;
  if (!Number.isInteger(sf.ofs) || !Number.isInteger(sf.nbits) || sf.ofs < 0 || sf.nbits < 1 || sf.ofs + sf.nbits > width) {
    throw new OfEncodeError('bad_value', `bad subfield ${sf.field}[${sf.ofs}..${sf.ofs + sf.nbits - 1}]`);
  }
}

function subFieldFromHeader(header: number, ofs: number, nbits: number): SubField {
  const field = fieldFromHeader(header);
  if (!field) throw new OfDecodeError('bad_action', `unknown field header 0x${header.toString(16)}`);
  return { field, ofs, nbits };
}

function isFullNat(n: NatSpec | Record<string, never>): n is NatSpec {
  return 'kind' in n;
}

/**
 * The OpenFlow action-list codec, for the actions nested in ct(). actions.ts passes itself in, so
 * that it depends on this module and not the other way round.
 */
export interface NestedActionCodec {
  write(w: BufferWriter, actions: readonly Action[], opts: CodecOptions): void;
  read(r: BufferReader): Action[];
}

export function writeNxAction(w: BufferWriter, a: Action, opts: CodecOptions, nested: NestedActionCodec): void {
  switch (a.type) {
    case 'resubmit': {
      const port = a.port === undefined ? OFPP_IN_PORT - 0xffff0000 : portTo16(a.port);
      if (a.table === undefined) {
        const s = startNx(w, NXAST.RESUBMIT);
        w.u16(port).zeros(4);
        endNx(w, s);
      } else {
        const s = startNx(w, NXAST.RESUBMIT_TABLE);
        w.u16(port).u8(a.table).zeros(3);
        endNx(w, s);
      }
      return;
    }
    case 'ct': {
      const s = startNx(w, NXAST.CT);
      w.u16((a.commit ? NX_CT_F_COMMIT : 0) | (a.force ? NX_CT_F_FORCE : 0));
      if (a.zone === undefined || typeof a.zone === 'number') {
        w.u32(0).u16(a.zone ?? 0);
      } else {
        checkSubField(a.zone, opts);
        w.u32(fieldHeader(a.zone.field, opts)).u16(ofsNbits(a.zone.ofs, a.zone.nbits));
      }
      w.u8(a.table ?? NX_CT_RECIRC_NONE).zeros(3).u16(a.alg ?? 0);
      if (a.nat) writeNat(w, a.nat);
      nested.write(w, a.actions ?? [], opts);
      endNx(w, s);
      return;
    }
    case 'ct_clear': {
      const s = startNx(w, NXAST.CT_CLEAR);
      w.zeros(6);
      endNx(w, s);
      return;
    }
    case 'conjunction': {
      if (a.nClauses < 2 || a.nClauses > 64 || a.clause < 1 || a.clause > a.nClauses) {
        throw new OfEncodeError('bad_value', `bad conjunction clause ${a.clause}/${a.nClauses}`);
      }
      const s = startNx(w, NXAST.CONJUNCTION);
      w.u8(a.clause - 1).u8(a.nClauses).u32(a.id);
      endNx(w, s);
      return;
    }
    case 'move': {
      checkSubField(a.src, opts);
      checkSubField(a.dst, opts);
      if (a.src.nbits !== a.dst.nbits) throw new OfEncodeError('bad_value', 'move: src and dst widths differ');
      const s = startNx(w, NXAST.REG_MOVE);
      w.u16(a.src.nbits).u16(a.src.ofs).u16(a.dst.ofs);
      w.u32(fieldHeader(a.src.field, opts)).u32(fieldHeader(a.dst.field, opts));
      endNx(w, s);
      return;
    }
    case 'load': {
      checkSubField(a.dst, opts);
      if (a.value < 0n || a.value >> BigInt(a.dst.nbits) !== 0n) {
        throw new OfEncodeError('bad_value', `load: value does not fit in ${a.dst.nbits} bits`);
      }
      if (a.dst.nbits <= 64) {
        const s = startNx(w, NXAST.REG_LOAD);
        w.u16(ofsNbits(a.dst.ofs, a.dst.nbits)).u32(fieldHeader(a.dst.field, opts)).u64(a.value);
        endNx(w, s);
      } else {
        // NXAST_REG_LOAD2: a masked OXM TLV follows the subtype directly.
        const len = fieldLength(a.dst.field, opts);
        const mask = ((1n << BigInt(a.dst.nbits)) - 1n) << BigInt(a.dst.ofs);
        const s = startNx(w, NXAST.REG_LOAD2);
        const raw = new BufferWriter();
        writeOxmEntry(raw, a.dst.field, { value: 0n, mask: 0n }, opts);
        const hdr = raw.finish().readUInt32BE(0);
        w.u32(hdr).bytes(bigToBytes(a.value << BigInt(a.dst.ofs), len)).bytes(bigToBytes(mask, len));
        endNx(w, s);
      }
      return;
    }
    case 'note': {
      const s = startNx(w, NXAST.NOTE);
      w.bytes(a.data);
      if (w.length - s < 16) w.zeros(16 - (w.length - s));
      endNx(w, s);
      return;
    }
    case 'controller2': {
      const s = startNx(w, NXAST.CONTROLLER2);
      w.zeros(6);
      if (a.maxLen !== undefined) writeProp(w, NXAC2PT.MAX_LEN, Buffer.from([a.maxLen >> 8, a.maxLen & 0xff]));
      if (a.controllerId !== undefined) {
        writeProp(w, NXAC2PT.CONTROLLER_ID, Buffer.from([a.controllerId >> 8, a.controllerId & 0xff]));
      }
      if (a.reason !== undefined) writeProp(w, NXAC2PT.REASON, Buffer.from([reasonToNumber(a.reason)]));
      if (a.userdata !== undefined) writeProp(w, NXAC2PT.USERDATA, a.userdata);
      if (a.pause) writeProp(w, NXAC2PT.PAUSE, Buffer.alloc(0));
      if (a.meterId !== undefined) writeProp(w, NXAC2PT.METER_ID, bigToBytes(BigInt(a.meterId), 4));
      endNx(w, s);
      return;
    }
    default:
      throw new OfEncodeError('unsupported', `cannot encode action ${(a as Action).type}`);
  }
}

/** ofp_prop_header property: type u16, len u16 (without padding), payload, pad to 8. */
export function writeProp(w: BufferWriter, type: number, payload: Uint8Array): void {
  const start = w.length;
  w.u16(type).u16(4 + payload.length).bytes(payload);
  w.pad8(start);
}

function writeNat(w: BufferWriter, nat: NatSpec | Record<string, never>): void {
  const s = startNx(w, NXAST.NAT);
  w.zeros(2);
  if (!isFullNat(nat)) {
    w.u16(0).u16(0);
    endNx(w, s);
    return;
  }
  const flags =
    (nat.kind === 'src' ? NAT_F_SRC : NAT_F_DST) |
    (nat.persistent ? NAT_F_PERSISTENT : 0) |
    (nat.hash ? NAT_F_PROTO_HASH : 0) |
    (nat.random ? NAT_F_PROTO_RANDOM : 0);
  let present = 0;
  const tail = new BufferWriter(64);
  if (nat.ipv4Min !== undefined) {
    present |= NAT_R_IPV4_MIN;
    tail.bytes(ipv4ToBytes(nat.ipv4Min));
  }
  if (nat.ipv4Max !== undefined) {
    present |= NAT_R_IPV4_MAX;
    tail.bytes(ipv4ToBytes(nat.ipv4Max));
  }
  if (nat.ipv6Min !== undefined) {
    present |= NAT_R_IPV6_MIN;
    tail.bytes(ipv6ToBytes(nat.ipv6Min));
  }
  if (nat.ipv6Max !== undefined) {
    present |= NAT_R_IPV6_MAX;
    tail.bytes(ipv6ToBytes(nat.ipv6Max));
  }
  if (nat.portMin !== undefined) {
    present |= NAT_R_PROTO_MIN;
    tail.u16(nat.portMin);
  }
  if (nat.portMax !== undefined) {
    present |= NAT_R_PROTO_MAX;
    tail.u16(nat.portMax);
  }
  w.u16(flags).u16(present).bytes(tail.finish());
  endNx(w, s);
}

/** Decode the rest of an NX action; `r` is positioned after the vendor id. */
export function readNxAction(r: BufferReader, raw: () => Action, nestedCodec: NestedActionCodec): Action {
  const subtype = r.u16();
  switch (subtype) {
    case NXAST.RESUBMIT:
      return { type: 'resubmit', port: portFrom16(r.u16()) };
    case NXAST.RESUBMIT_TABLE: {
      const port = portFrom16(r.u16());
      const table = r.u8();
      return port === 'in_port' ? { type: 'resubmit', table } : { type: 'resubmit', port, table };
    }
    case NXAST.CT: {
      const flags = r.u16();
      const zoneSrc = r.u32();
      const zoneVal = r.u16();
      const table = r.u8();
      r.skip(3);
      const alg = r.u16();
      const nested = nestedCodec.read(r);
      let nat: NatSpec | Record<string, never> | undefined;
      const actions: Action[] = [];
      for (const n of nested) {
        if (n.type === 'unknown_action' && isNatRaw(n.raw)) nat = readNat(n.raw);
        else actions.push(n);
      }
      return {
        type: 'ct',
        ...(flags & NX_CT_F_COMMIT ? { commit: true } : {}),
        ...(flags & NX_CT_F_FORCE ? { force: true } : {}),
        ...(zoneSrc === 0
          ? zoneVal !== 0
            ? { zone: zoneVal }
            : {}
          : { zone: subFieldFromHeader(zoneSrc, zoneVal >> 6, (zoneVal & 0x3f) + 1) }),
        ...(table !== NX_CT_RECIRC_NONE ? { table } : {}),
        ...(alg !== 0 ? { alg } : {}),
        ...(nat ? { nat } : {}),
        ...(actions.length ? { actions } : {}),
      };
    }
    case NXAST.NAT:
      // A nat outside ct() is kept raw; the ct decoder picks it up from there.
      return raw();
    case NXAST.CT_CLEAR:
      return { type: 'ct_clear' };
    case NXAST.CONJUNCTION: {
      const clause = r.u8();
      const nClauses = r.u8();
      const id = r.u32();
      return { type: 'conjunction', id, clause: clause + 1, nClauses };
    }
    case NXAST.REG_MOVE: {
      const nbits = r.u16();
      const srcOfs = r.u16();
      const dstOfs = r.u16();
      const src = r.u32();
      const dst = r.u32();
      return {
        type: 'move',
        src: subFieldFromHeader(src, srcOfs, nbits),
        dst: subFieldFromHeader(dst, dstOfs, nbits),
      };
    }
    case NXAST.REG_LOAD: {
      const on = r.u16();
      const dst = r.u32();
      const value = r.u64();
      return { type: 'load', dst: subFieldFromHeader(dst, on >> 6, (on & 0x3f) + 1), value };
    }
    case NXAST.REG_LOAD2: {
      const e = readOxmEntry(r);
      if (!e.name) return raw();
      if (typeof e.value === 'object') return maskedToLoad(e.name, e.value as { value: unknown; mask: unknown }) ?? raw();
      return { type: 'set_field', field: e.name, value: e.value } as Action;
    }
    case NXAST.NOTE: {
      const data = r.rest();
      let end = data.length;
      while (end > 0 && data[end - 1] === 0) end--;
      return { type: 'note', data: data.subarray(0, end) };
    }
    case NXAST.CONTROLLER2: {
      r.skip(6);
      const a: {
        type: 'controller2';
        maxLen?: number;
        controllerId?: number;
        reason?: PacketInReason;
        userdata?: Buffer;
        pause?: boolean;
        meterId?: number;
      } = { type: 'controller2' };
      for (const p of readProps(r)) {
        const pr = new BufferReader(p.payload);
        if (p.type === NXAC2PT.MAX_LEN) a.maxLen = pr.u16();
        else if (p.type === NXAC2PT.CONTROLLER_ID) a.controllerId = pr.u16();
        else if (p.type === NXAC2PT.REASON) a.reason = reasonFromNumber(pr.u8());
        else if (p.type === NXAC2PT.USERDATA) a.userdata = p.payload;
        else if (p.type === NXAC2PT.PAUSE) a.pause = true;
        else if (p.type === NXAC2PT.METER_ID) a.meterId = pr.u32();
      }
      return a;
    }
    default:
      return raw();
  }
}

export interface RawProp {
  readonly type: number;
  readonly payload: Buffer;
}

/** Read ofp_prop_header properties (each padded to 8) until the reader is exhausted. */
export function readProps(r: BufferReader): RawProp[] {
  const out: RawProp[] = [];
  while (r.remaining > 0) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4) throw new OfDecodeError('bad_value', `bad property length ${len}`);
    const payload = r.bytes(len - 4);
    r.skip(Math.min(r.remaining, (8 - (len % 8)) % 8));
    out.push({ type, payload });
  }
  return out;
}

function isNatRaw(raw: Buffer): boolean {
  return raw.length >= 16 && raw.readUInt32BE(4) === NX_VENDOR_ID && raw.readUInt16BE(8) === NXAST.NAT;
}

function readNat(raw: Buffer): NatSpec | Record<string, never> {
  const r = new BufferReader(raw, 12);
  const flags = r.u16();
  const present = r.u16();
  if ((flags & (NAT_F_SRC | NAT_F_DST)) === 0) return {};
  const nat: {
    kind: 'src' | 'dst';
    ipv4Min?: string;
    ipv4Max?: string;
    ipv6Min?: string;
    ipv6Max?: string;
    portMin?: number;
    portMax?: number;
    persistent?: boolean;
    hash?: boolean;
    random?: boolean;
  } = { kind: flags & NAT_F_SRC ? 'src' : 'dst' };
  if (present & NAT_R_IPV4_MIN) nat.ipv4Min = bytesToIpv4(r.bytes(4));
  if (present & NAT_R_IPV4_MAX) nat.ipv4Max = bytesToIpv4(r.bytes(4));
  if (present & NAT_R_IPV6_MIN) nat.ipv6Min = bytesToIpv6(r.bytes(16));
  if (present & NAT_R_IPV6_MAX) nat.ipv6Max = bytesToIpv6(r.bytes(16));
  if (present & NAT_R_PROTO_MIN) nat.portMin = r.u16();
  if (present & NAT_R_PROTO_MAX) nat.portMax = r.u16();
  if (flags & NAT_F_PERSISTENT) nat.persistent = true;
  if (flags & NAT_F_PROTO_HASH) nat.hash = true;
  if (flags & NAT_F_PROTO_RANDOM) nat.random = true;
  return nat;
}

/** A masked set_field with a contiguous integer mask expressed as a `load` action, else undefined. */
export function maskedToLoad(field: FieldName, mv: { value: unknown; mask: unknown }): Action | undefined {
  const toBig = (x: unknown): bigint | undefined =>
    typeof x === 'bigint' ? x : typeof x === 'number' ? BigInt(x) : undefined;
  const value = toBig(mv.value);
  const mask = toBig(mv.mask);
  if (value === undefined || mask === undefined || mask === 0n) return undefined;
  let ofs = 0;
  while (((mask >> BigInt(ofs)) & 1n) === 0n) ofs++;
  const shifted = mask >> BigInt(ofs);
  if ((shifted & (shifted + 1n)) !== 0n) return undefined;
  const nbits = shifted.toString(2).length;
  return { type: 'load', dst: { field, ofs, nbits }, value: (value & mask) >> BigInt(ofs) };
}
