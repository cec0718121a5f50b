// Experimenter messages (OFPT_EXPERIMENTER = 4): ONF bundles (ext 230) and Nicira NXT_*.
//
// Layout: ofp_header, experimenter u32, exp_type u32, body.
import type { BundleCtrlType, BundleFlags, CodecOptions, Match, MessageOf, OfMessage, PacketInReason, TlvMap } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError } from './errors.js';
import { NX_VENDOR_ID, readProps, writeProp } from './nicira-actions.js';
import { readOxmFields, writeOxmFields } from './oxm.js';
import { reasonFromNumber, reasonToNumber } from './reasons.js';

export const ONF_VENDOR_ID = 0x4f4e4600;
export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;

export const enum NXT {
  SET_PACKET_IN_FORMAT = 16,
  SET_CONTROLLER_ID = 20,
  TLV_TABLE_MOD = 24,
  TLV_TABLE_REQUEST = 25,
  TLV_TABLE_REPLY = 26,
  RESUME = 28,
  PACKET_IN2 = 30,
}

const enum NXPINT {
  PACKET = 0,
  FULL_LEN = 1,
  BUFFER_ID = 2,
  TABLE_ID = 3,
  COOKIE = 4,
  REASON = 5,
  METADATA = 6,
  USERDATA = 7,
  CONTINUATION = 8,
}

const BUNDLE_TYPES: readonly BundleCtrlType[] = [
  'open_request', 'open_reply', 'close_request', 'close_reply', 'commit_request', 'commit_reply', 'discard_request',
  'discard_reply',
];
const PIF_FORMATS = ['standard', 'nxt_packet_in', 'nxt_packet_in2'] as const;
const TLV_COMMANDS = ['add', 'delete', 'clear'] as const;

export type ExperimenterMessage = MessageOf<
  | 'bundle_control'
  | 'bundle_add'
  | 'set_packet_in_format'
  | 'set_controller_id'
  | 'tlv_table_mod'
  | 'tlv_table_request'
  | 'tlv_table_reply'
  | 'packet_in2'
  | 'resume'
  | 'experimenter'
>;

function bundleFlagsToNumber(f: BundleFlags): number {
  return (f.atomic ? 1 : 0) | (f.ordered ? 2 : 0);
}

function bundleFlagsFromNumber(n: number): BundleFlags {
  const f: { atomic?: boolean; ordered?: boolean } = {};
  if (n & 1) f.atomic = true;
  if (n & 2) f.ordered = true;
  return f;
}

function writeTlvMaps(w: BufferWriter, maps: readonly TlvMap[]): void {
  for (const m of maps) w.u16(m.optClass).u8(m.optType).u8(m.optLen).u16(m.index).zeros(2);
}

function readTlvMaps(r: BufferReader): TlvMap[] {
  const out: TlvMap[] = [];
  while (r.remaining > 0) {
    const optClass = r.u16();
    const optType = r.u8();
    const optLen = r.u8();
    const index = r.u16();
    r.skip(2);
    out.push({ optClass, optType, optLen, index });
  }
  return out;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/**
 * Write the body after the ofp_header. `encodeInner` encodes a nested message (bundle_add).
 */
export function writeExperimenter(
  w: BufferWriter,
  m: ExperimenterMessage,
  opts: CodecOptions,
  encodeInner: (msg: OfMessage) => Buffer,
): void {
  switch (m.type) {
    case 'bundle_control':
      w.u32(ONF_VENDOR_ID).u32(ONFT_BUNDLE_CONTROL).u32(m.bundleId);
      w.u16(BUNDLE_TYPES.indexOf(m.ctrlType)).u16(bundleFlagsToNumber(m.flags));
      return;
    case 'bundle_add':
      w.u32(ONF_VENDOR_ID).u32(ONFT_BUNDLE_ADD_MESSAGE).u32(m.bundleId).zeros(2).u16(bundleFlagsToNumber(m.flags));
      w.bytes(encodeInner(m.message));
      return;
    case 'set_packet_in_format':
      w.u32(NX_VENDOR_ID).u32(NXT.SET_PACKET_IN_FORMAT).u32(PIF_FORMATS.indexOf(m.format));
      return;
    case 'set_controller_id':
      w.u32(NX_VENDOR_ID).u32(NXT.SET_CONTROLLER_ID).zeros(6).u16(m.controllerId);
      return;
    case 'tlv_table_mod':
      w.u32(NX_VENDOR_ID).u32(NXT.TLV_TABLE_MOD).u16(TLV_COMMANDS.indexOf(m.command)).zeros(6);
      writeTlvMaps(w, m.mappings);
      return;
    case 'tlv_table_request':
      w.u32(NX_VENDOR_ID).u32(NXT.TLV_TABLE_REQUEST);
      return;
    case 'tlv_table_reply':
      w.u32(NX_VENDOR_ID).u32(NXT.TLV_TABLE_REPLY).u32(m.maxOptionSpace).u16(m.maxFields).zeros(10);
      writeTlvMaps(w, m.mappings);
      return;
    case 'packet_in2': {
      w.u32(NX_VENDOR_ID).u32(NXT.PACKET_IN2);
      writeProp(w, NXPINT.PACKET, m.packet);
      if (m.fullLen !== undefined) writeProp(w, NXPINT.FULL_LEN, u32(m.fullLen));
      if (m.bufferId !== undefined) writeProp(w, NXPINT.BUFFER_ID, u32(m.bufferId));
      if (m.tableId !== undefined) writeProp(w, NXPINT.TABLE_ID, Buffer.from([m.tableId]));
      if (m.cookie !== undefined) {
        const b = Buffer.alloc(12);
        b.writeBigUInt64BE(m.cookie, 4);
        writeProp(w, NXPINT.COOKIE, b);
      }
      if (m.reason !== undefined) writeProp(w, NXPINT.REASON, Buffer.from([reasonToNumber(m.reason)]));
      writeMetadataProp(w, m.metadata, opts);
      if (m.userdata !== undefined) writeProp(w, NXPINT.USERDATA, m.userdata);
      if (m.continuation !== undefined) writeProp(w, NXPINT.CONTINUATION, m.continuation);
      return;
    }
    case 'resume':
      w.u32(NX_VENDOR_ID).u32(NXT.RESUME);
      writeProp(w, NXPINT.PACKET, m.packet);
      writeMetadataProp(w, m.metadata, opts);
      writeProp(w, NXPINT.CONTINUATION, m.continuation);
      return;
    case 'experimenter':
      w.u32(m.experimenter).u32(m.expType).bytes(m.data);
      return;
  }
}

function writeMetadataProp(w: BufferWriter, metadata: Match, opts: CodecOptions): void {
  const mw = new BufferWriter();
  // Packet-in metadata is a pipeline snapshot, not a match: no prerequisite checks apply.
  writeOxmFields(mw, metadata, opts, false);
  writeProp(w, NXPINT.METADATA, mw.finish());
}

/** Decode the body after the ofp_header (reader positioned at the experimenter id). */
export function readExperimenter(
  r: BufferReader,
  xid: number,
  decodeInner: (buf: Buffer) => OfMessage,
): ExperimenterMessage {
  const experimenter = r.u32();
  const expType = r.u32();
  if (experimenter === ONF_VENDOR_ID && expType === ONFT_BUNDLE_CONTROL) {
    const bundleId = r.u32();
    const t = r.u16();
    const ctrlType = BUNDLE_TYPES[t];
    if (!ctrlType) throw new OfDecodeError('bad_value', `bad bundle control type ${t}`);
    return { type: 'bundle_control', xid, bundleId, ctrlType, flags: bundleFlagsFromNumber(r.u16()) };
  }
  if (experimenter === ONF_VENDOR_ID && expType === ONFT_BUNDLE_ADD_MESSAGE) {
    const bundleId = r.u32();
    r.skip(2);
    const flags = bundleFlagsFromNumber(r.u16());
    if (r.remaining < 8) throw new OfDecodeError('truncated', 'bundle_add without inner message');
    const innerLen = r.buf.readUInt16BE(r.offset + 2);
    if (innerLen < 8 || innerLen > r.remaining) throw new OfDecodeError('bad_length', `bad inner length ${innerLen}`);
    const message = decodeInner(r.bytes(innerLen));
    return { type: 'bundle_add', xid, bundleId, flags, message };
  }
  if (experimenter === NX_VENDOR_ID) {
    switch (expType) {
      case NXT.SET_PACKET_IN_FORMAT: {
        const f = r.u32();
        const format = PIF_FORMATS[f];
        if (!format) throw new OfDecodeError('bad_value', `bad packet-in format ${f}`);
        return { type: 'set_packet_in_format', xid, format };
      }
      case NXT.SET_CONTROLLER_ID:
        r.skip(6);
        return { type: 'set_controller_id', xid, controllerId: r.u16() };
      case NXT.TLV_TABLE_MOD: {
        const c = r.u16();
        const command = TLV_COMMANDS[c];
        if (!command) throw new OfDecodeError('bad_value', `bad tlv_table_mod command ${c}`);
        r.skip(6);
        return { type: 'tlv_table_mod', xid, command, mappings: readTlvMaps(r) };
      }
      case NXT.TLV_TABLE_REQUEST:
        return { type: 'tlv_table_request', xid };
      case NXT.TLV_TABLE_REPLY: {
        const maxOptionSpace = r.u32();
        const maxFields = r.u16();
        r.skip(10);
        return { type: 'tlv_table_reply', xid, maxOptionSpace, maxFields, mappings: readTlvMaps(r) };
      }
      case NXT.PACKET_IN2:
      case NXT.RESUME: {
        const pi: {
          packet?: Buffer;
          fullLen?: number;
          bufferId?: number;
          tableId?: number;
          cookie?: bigint;
          reason?: PacketInReason;
          metadata?: ReturnType<typeof readOxmFields>;
          userdata?: Buffer;
          continuation?: Buffer;
        } = {};
        for (const p of readProps(r)) {
          const pr = new BufferReader(p.payload);
          switch (p.type) {
            case NXPINT.PACKET: pi.packet = p.payload; break;
            case NXPINT.FULL_LEN: pi.fullLen = pr.u32(); break;
            case NXPINT.BUFFER_ID: pi.bufferId = pr.u32(); break;
            case NXPINT.TABLE_ID: pi.tableId = pr.u8(); break;
            case NXPINT.COOKIE: pr.skip(4); pi.cookie = pr.u64(); break;
            case NXPINT.REASON: pi.reason = reasonFromNumber(pr.u8()); break;
            case NXPINT.METADATA: pi.metadata = readOxmFields(pr); break;
            case NXPINT.USERDATA: pi.userdata = p.payload; break;
            case NXPINT.CONTINUATION: pi.continuation = p.payload; break;
            default: break;
          }
        }
        if (expType === NXT.RESUME) {
          return {
            type: 'resume',
            xid,
            packet: pi.packet ?? Buffer.alloc(0),
            metadata: pi.metadata ?? {},
            continuation: pi.continuation ?? Buffer.alloc(0),
          };
        }
        return { type: 'packet_in2', xid, ...pi, packet: pi.packet ?? Buffer.alloc(0), metadata: pi.metadata ?? {} };
      }
      default:
        break;
    }
  }
  return { type: 'experimenter', xid, experimenter, expType, data: r.rest() };
}
