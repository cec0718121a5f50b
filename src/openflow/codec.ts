// Public codec API: encodeMessage / decodeMessage for OpenFlow 1.3 (+ Nicira / ONF extensions).
//
// decodeMessage never throws. encodeMessage throws OfEncodeError for values the wire cannot carry
// (bad addresses, missing match prerequisites, unmaskable fields with masks, ...).
import type { CodecOptions, ControllerRole, FlowRemovedReason, OfMessage, PortStatusReason } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError, OfEncodeError, errorCodeName, errorTypeName } from './errors.js';
import { OFP13_VERSION, OFP_HEADER_LEN, OFPT } from './header.js';
import { readMatch, writeMatch } from './oxm.js';
import { readActions, writeActions } from './actions.js';
import { portFromNumber, portToNumber } from './ports.js';
import { readFlowMod, readFlowStats, writeFlowMod, writeFlowStats } from './flow-mod.js';
import {
  GROUP_COMMANDS, GROUP_TYPES, METER_COMMANDS, groupTypeFromNumber, meterFlagsFromNumber, meterFlagsToNumber,
  readBands, readBuckets, writeBands, writeBuckets,
} from './group-meter.js';
import { OFP_PORT_LEN, readPortDesc, writePortDesc } from './port-desc.js';
import { readExperimenter, writeExperimenter } from './experimenter.js';
import { reasonFromNumber, reasonToNumber } from './reasons.js';
import { readVersionBitmap, writeVersionBitmap } from './hello.js';

export { OfDecodeError, OfEncodeError } from './errors.js';
export { frameLength } from './header.js';
export type * from './types.js';

export type DecodeResult =
  | { readonly ok: true; readonly msg: OfMessage; readonly length: number }
  | { readonly ok: false; readonly need: number }
  | { readonly ok: false; readonly error: OfDecodeError };

export const enum OFPMP {
  DESC = 0,
  FLOW = 1,
  PORT_STATS = 4,
  GROUP_DESC = 7,
  PORT_DESC = 13,
}

const ROLES: readonly ControllerRole[] = ['nochange', 'equal', 'master', 'slave'];
const FLOW_REMOVED_REASONS: readonly FlowRemovedReason[] = [
  'idle_timeout', 'hard_timeout', 'delete', 'group_delete', 'meter_delete',
];
const PORT_STATUS_REASONS: readonly PortStatusReason[] = ['add', 'delete', 'modify'];

function indexOrThrow<T>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new OfEncodeError('bad_value', `bad ${what} ${String(v)}`);
  return i;
}

function fromList<T>(list: readonly T[], n: number, what: string): T {
  const v = list[n];
  if (v === undefined) throw new OfDecodeError('bad_value', `bad ${what} ${n}`);
  return v;
}

/** Encode one message into a complete OpenFlow 1.3 frame. */
export function encodeMessage(msg: OfMessage, opts: CodecOptions = {}): Buffer {
  if (msg.type === 'unknown') return Buffer.from(msg.raw);
  const w = new BufferWriter();
  // A HELLO's header carries the highest version it offers (OpenFlow 1.3.1 §6.3.1).
  const version = msg.type === 'hello' && msg.versions.length > 0 ? Math.max(...msg.versions) : OFP13_VERSION;
  w.u8(version).u8(0).u16(0).u32(msg.xid);
  const type = writeBody(w, msg, opts);
  const out = w.finish();
  if (out.length > 0xffff) throw new OfEncodeError('too_long', `message of ${out.length} bytes exceeds 65535`);
  out[1] = type;
  out.writeUInt16BE(out.length, 2);
  return out;
}

function multipart(w: BufferWriter, mpType: number, flags: number): void {
  w.u16(mpType).u16(flags).zeros(4);
}

function writeBody(w: BufferWriter, m: OfMessage, opts: CodecOptions): number {
  switch (m.type) {
    case 'hello':
      writeVersionBitmap(w, m.versions);
      return OFPT.HELLO;
    case 'error':
      w.u16(m.errType);
      if (m.errType === 0xffff) w.u16(m.code).u32(m.experimenter ?? 0);
      else w.u16(m.code);
      w.bytes(m.data);
      return OFPT.ERROR;
    case 'echo_request':
      w.bytes(m.data);
      return OFPT.ECHO_REQUEST;
    case 'echo_reply':
      w.bytes(m.data);
      return OFPT.ECHO_REPLY;
    case 'features_request':
      return OFPT.FEATURES_REQUEST;
    case 'features_reply':
      w.u64(m.datapathId).u32(m.nBuffers).u8(m.nTables).u8(m.auxiliaryId).zeros(2).u32(m.capabilities).u32(0);
      return OFPT.FEATURES_REPLY;
    case 'get_config_request':
      return OFPT.GET_CONFIG_REQUEST;
    case 'get_config_reply':
      w.u16(m.flags).u16(m.missSendLen);
      return OFPT.GET_CONFIG_REPLY;
    case 'set_config':
      w.u16(m.flags).u16(m.missSendLen);
      return OFPT.SET_CONFIG;
    case 'flow_mod':
      writeFlowMod(w, m, opts);
      return OFPT.FLOW_MOD;
    case 'group_mod':
      w.u16(indexOrThrow(GROUP_COMMANDS, m.command, 'group command'));
      w.u8(indexOrThrow(GROUP_TYPES, m.groupType, 'group type')).zeros(1).u32(m.groupId);
      writeBuckets(w, m.buckets, opts);
      return OFPT.GROUP_MOD;
    case 'meter_mod':
      w.u16(indexOrThrow(METER_COMMANDS, m.command, 'meter command')).u16(meterFlagsToNumber(m.flags)).u32(m.meterId);
      writeBands(w, m.bands);
      return OFPT.METER_MOD;
    case 'packet_in':
      w.u32(m.bufferId).u16(m.totalLen).u8(reasonToNumber(m.reason)).u8(m.tableId).u64(m.cookie);
      writeMatch(w, m.match, opts);
      w.zeros(2).bytes(m.data);
      return OFPT.PACKET_IN;
    case 'packet_out': {
      w.u32(m.bufferId).u32(portToNumber(m.inPort));
      const lenAt = w.length;
      w.u16(0).zeros(6);
      writeActions(w, m.actions, opts);
      w.setU16(lenAt, w.length - lenAt - 8);
      w.bytes(m.data);
      return OFPT.PACKET_OUT;
    }
    case 'flow_removed':
      w.u64(m.cookie).u16(m.priority).u8(indexOrThrow(FLOW_REMOVED_REASONS, m.reason, 'reason')).u8(m.tableId);
      w.u32(m.durationSec).u32(m.durationNsec).u16(m.idleTimeout).u16(m.hardTimeout);
      w.u64(m.packetCount).u64(m.byteCount);
      writeMatch(w, m.match, opts);
      return OFPT.FLOW_REMOVED;
    case 'port_status':
      w.u8(indexOrThrow(PORT_STATUS_REASONS, m.reason, 'reason')).zeros(7);
      writePortDesc(w, m.desc);
      return OFPT.PORT_STATUS;
    case 'barrier_request':
      return OFPT.BARRIER_REQUEST;
    case 'barrier_reply':
      return OFPT.BARRIER_REPLY;
    case 'flow_stats_request':
      multipart(w, OFPMP.FLOW, m.flags);
      w.u8(m.tableId).zeros(3).u32(portToNumber(m.outPort)).u32(m.outGroup).zeros(4).u64(m.cookie).u64(m.cookieMask);
      writeMatch(w, m.match, opts);
      return OFPT.MULTIPART_REQUEST;
    case 'flow_stats_reply':
      multipart(w, OFPMP.FLOW, m.more ? 1 : 0);
      for (const s of m.stats) writeFlowStats(w, s, opts);
      return OFPT.MULTIPART_REPLY;
    case 'port_desc_request':
      multipart(w, OFPMP.PORT_DESC, 0);
      return OFPT.MULTIPART_REQUEST;
    case 'port_desc_reply':
      multipart(w, OFPMP.PORT_DESC, m.more ? 1 : 0);
      for (const p of m.ports) writePortDesc(w, p);
      return OFPT.MULTIPART_REPLY;
    case 'group_desc_request':
      multipart(w, OFPMP.GROUP_DESC, 0);
      return OFPT.MULTIPART_REQUEST;
    case 'group_desc_reply':
      multipart(w, OFPMP.GROUP_DESC, m.more ? 1 : 0);
      for (const g of m.groups) {
        const start = w.length;
        w.u16(0).u8(indexOrThrow(GROUP_TYPES, g.groupType, 'group type')).zeros(1).u32(g.groupId);
        writeBuckets(w, g.buckets, opts);
        w.setU16(start, w.length - start);
      }
      return OFPT.MULTIPART_REPLY;
    case 'port_stats_request':
      multipart(w, OFPMP.PORT_STATS, 0);
      w.u32(portToNumber(m.portNo)).zeros(4);
      return OFPT.MULTIPART_REQUEST;
    case 'port_stats_reply':
      multipart(w, OFPMP.PORT_STATS, m.more ? 1 : 0);
      for (const s of m.stats) {
        w.u32(s.portNo).zeros(4);
        for (const v of [
          s.rxPackets, s.txPackets, s.rxBytes, s.txBytes, s.rxDropped, s.txDropped, s.rxErrors, s.txErrors,
          s.rxFrameErr, s.rxOverErr, s.rxCrcErr, s.collisions,
        ]) {
          w.u64(v);
        }
        w.u32(s.durationSec).u32(s.durationNsec);
      }
      return OFPT.MULTIPART_REPLY;
    case 'role_request':
    case 'role_reply':
      w.u32(indexOrThrow(ROLES, m.role, 'role')).zeros(4).u64(m.generationId);
      return m.type === 'role_request' ? OFPT.ROLE_REQUEST : OFPT.ROLE_REPLY;
    case 'get_async_request':
      return OFPT.GET_ASYNC_REQUEST;
    case 'get_async_reply':
    case 'set_async':
      for (const pair of [m.packetInMask, m.portStatusMask, m.flowRemovedMask]) w.u32(pair[0]).u32(pair[1]);
      return m.type === 'set_async' ? OFPT.SET_ASYNC : OFPT.GET_ASYNC_REPLY;
    case 'bundle_control':
    case 'bundle_add':
    case 'set_packet_in_format':
    case 'set_controller_id':
    case 'tlv_table_mod':
    case 'tlv_table_request':
    case 'tlv_table_reply':
    case 'packet_in2':
    case 'resume':
    case 'experimenter':
      writeExperimenter(w, m, opts, (inner) => encodeMessage(inner, opts));
      return OFPT.EXPERIMENTER;
    case 'unknown':
      throw new OfEncodeError('unsupported', 'unknown is encoded raw');
  }
}

/**
 * Decode the frame at buf[0]. Never throws:
 *  - { ok: true, msg, length }   a whole frame was decoded (length = bytes consumed)
 *  - { ok: false, need }         buf holds a proper prefix; need = total bytes required
 *  - { ok: false, error }        malformed; error.length is the frame length (0 if unusable)
 */
export function decodeMessage(buf: Buffer): DecodeResult {
  if (buf.length < OFP_HEADER_LEN) {
    if (buf.length >= 4) {
      const len = buf.readUInt16BE(2);
      if (len < OFP_HEADER_LEN) return { ok: false, error: new OfDecodeError('bad_length', `frame length ${len}`, 0) };
      return { ok: false, need: len };
    }
    return { ok: false, need: OFP_HEADER_LEN };
  }
  const version = buf[0];
  const type = buf[1];
  const length = buf.readUInt16BE(2);
  const xid = buf.readUInt32BE(4);
  if (length < OFP_HEADER_LEN) return { ok: false, error: new OfDecodeError('bad_length', `frame length ${length}`, 0) };
  if (buf.length < length) return { ok: false, need: length };
  try {
    if (version !== OFP13_VERSION && type !== OFPT.HELLO) {
      throw new OfDecodeError('bad_version', `unsupported OpenFlow version 0x${version.toString(16)}`);
    }
    const r = new BufferReader(buf, OFP_HEADER_LEN, length);
    return { ok: true, msg: readBody(r, buf.subarray(0, length), version, type, xid), length };
  } catch (e) {
    const error =
      e instanceof OfDecodeError ? e : new OfDecodeError('bad_value', e instanceof Error ? e.message : String(e));
    error.length = length;
    return { ok: false, error };
  }
}

function decodeInner(buf: Buffer): OfMessage {
  const d = decodeMessage(buf);
  if (d.ok) return d.msg;
  if ('error' in d) throw d.error;
  throw new OfDecodeError('truncated', 'inner message truncated');
}

function readBody(r: BufferReader, frame: Buffer, version: number, type: number, xid: number): OfMessage {
  const unknown = (): OfMessage => ({ type: 'unknown', xid, version, msgType: type, raw: Buffer.from(frame) });
  switch (type) {
    case OFPT.HELLO: {
      const versions = readVersionBitmap(r);
      return { type: 'hello', xid, versions: versions?.length ? versions : [version] };
    }
    case OFPT.ERROR: {
      const errType = r.u16();
      const code = r.u16();
      let experimenter: number | undefined;
      if (errType === 0xffff) experimenter = r.u32();
      const data = r.rest();
      const failedRequest =
        data.length >= OFP_HEADER_LEN
          ? { type: data[1], length: data.readUInt16BE(2), xid: data.readUInt32BE(4) }
          : undefined;
      const errTypeName = errorTypeName(errType);
      const codeName = errorCodeName(errType, code);
      return {
        type: 'error', xid, errType, code, data,
        ...(errTypeName ? { errTypeName } : {}),
        ...(codeName ? { codeName } : {}),
        ...(experimenter !== undefined ? { experimenter } : {}),
        ...(failedRequest ? { failedRequest } : {}),
      };
    }
    case OFPT.ECHO_REQUEST:
      return { type: 'echo_request', xid, data: r.rest() };
    case OFPT.ECHO_REPLY:
      return { type: 'echo_reply', xid, data: r.rest() };
    case OFPT.FEATURES_REQUEST:
      return { type: 'features_request', xid };
    case OFPT.FEATURES_REPLY: {
      const datapathId = r.u64();
      const nBuffers = r.u32();
      const nTables = r.u8();
      const auxiliaryId = r.u8();
      r.skip(2);
      const capabilities = r.u32();
      r.skip(4);
      return { type: 'features_reply', xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
    }
    case OFPT.GET_CONFIG_REQUEST:
      return { type: 'get_config_request', xid };
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG: {
      const flags = r.u16();
      const missSendLen = r.u16();
      return { type: type === OFPT.SET_CONFIG ? 'set_config' : 'get_config_reply', xid, flags, missSendLen };
    }
    case OFPT.FLOW_MOD:
      return { type: 'flow_mod', xid, ...readFlowMod(r) };
    case OFPT.GROUP_MOD: {
      const command = fromList(GROUP_COMMANDS, r.u16(), 'group command');
      const groupType = groupTypeFromNumber(r.u8());
      r.skip(1);
      const groupId = r.u32();
      return { type: 'group_mod', xid, command, groupType, groupId, buckets: readBuckets(r) };
    }
    case OFPT.METER_MOD: {
      const command = fromList(METER_COMMANDS, r.u16(), 'meter command');
      const flags = meterFlagsFromNumber(r.u16());
      const meterId = r.u32();
      return { type: 'meter_mod', xid, command, flags, meterId, bands: readBands(r) };
    }
    case OFPT.PACKET_IN: {
      const bufferId = r.u32();
      const totalLen = r.u16();
      const reason = reasonFromNumber(r.u8());
      const tableId = r.u8();
      const cookie = r.u64();
      const match = readMatch(r);
      r.skip(2);
      return { type: 'packet_in', xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.rest() };
    }
    case OFPT.PACKET_OUT: {
      const bufferId = r.u32();
      const inPort = portFromNumber(r.u32());
      const actionsLen = r.u16();
      r.skip(6);
      const actions = readActions(r.sub(actionsLen));
      return { type: 'packet_out', xid, bufferId, inPort, actions, data: r.rest() };
    }
    case OFPT.FLOW_REMOVED: {
      const cookie = r.u64();
      const priority = r.u16();
      const reason = fromList(FLOW_REMOVED_REASONS, r.u8(), 'flow removed reason');
      const tableId = r.u8();
      const durationSec = r.u32();
      const durationNsec = r.u32();
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const packetCount = r.u64();
      const byteCount = r.u64();
      const match = readMatch(r);
      return {
        type: 'flow_removed', xid, cookie, priority, reason, tableId, durationSec, durationNsec, idleTimeout,
        hardTimeout, packetCount, byteCount, match,
      };
    }
    case OFPT.PORT_STATUS: {
      const reason = fromList(PORT_STATUS_REASONS, r.u8(), 'port status reason');
      r.skip(7);
      return { type: 'port_status', xid, reason, desc: readPortDesc(r) };
    }
    case OFPT.BARRIER_REQUEST:
      return { type: 'barrier_request', xid };
    case OFPT.BARRIER_REPLY:
      return { type: 'barrier_reply', xid };
    case OFPT.MULTIPART_REQUEST: {
      const mp = r.u16();
      const flags = r.u16();
      r.skip(4);
      switch (mp) {
        case OFPMP.FLOW: {
          const tableId = r.u8();
          r.skip(3);
          const outPort = portFromNumber(r.u32());
          const outGroup = r.u32();
          r.skip(4);
          const cookie = r.u64();
          const cookieMask = r.u64();
          const match = readMatch(r);
          return { type: 'flow_stats_request', xid, flags, tableId, outPort, outGroup, cookie, cookieMask, match };
        }
        case OFPMP.PORT_DESC:
          return { type: 'port_desc_request', xid };
        case OFPMP.GROUP_DESC:
          return { type: 'group_desc_request', xid };
        case OFPMP.PORT_STATS: {
          const portNo = portFromNumber(r.u32());
          r.skip(4);
          return { type: 'port_stats_request', xid, portNo };
        }
        default:
          return unknown();
      }
    }
    case OFPT.MULTIPART_REPLY: {
      const mp = r.u16();
      const more = (r.u16() & 1) !== 0;
      r.skip(4);
      switch (mp) {
        case OFPMP.FLOW: {
          const stats = [];
          while (r.remaining > 0) stats.push(readFlowStats(r));
          return { type: 'flow_stats_reply', xid, more, stats };
        }
        case OFPMP.PORT_DESC: {
          const ports = [];
          while (r.remaining > 0) ports.push(readPortDesc(r.sub(OFP_PORT_LEN)));
          return { type: 'port_desc_reply', xid, more, ports };
        }
        case OFPMP.GROUP_DESC: {
          const groups = [];
          while (r.remaining > 0) {
            const len = r.u16();
            if (len < 8) throw new OfDecodeError('bad_length', `group desc length ${len}`);
            const g = r.sub(len - 2);
            const groupType = groupTypeFromNumber(g.u8());
            g.skip(1);
            const groupId = g.u32();
            groups.push({ groupType, groupId, buckets: readBuckets(g) });
          }
          return { type: 'group_desc_reply', xid, more, groups };
        }
        case OFPMP.PORT_STATS: {
          const stats = [];
          while (r.remaining > 0) {
            const e = r.sub(112);
            const portNo = e.u32();
            e.skip(4);
            const c = Array.from({ length: 12 }, () => e.u64());
            stats.push({
              portNo,
              rxPackets: c[0], txPackets: c[1], rxBytes: c[2], txBytes: c[3], rxDropped: c[4], txDropped: c[5],
              rxErrors: c[6], txErrors: c[7], rxFrameErr: c[8], rxOverErr: c[9], rxCrcErr: c[10], collisions: c[11],
              durationSec: e.u32(), durationNsec: e.u32(),
            });
          }
          return { type: 'port_stats_reply', xid, more, stats };
        }
        default:
          return unknown();
      }
    }
    case OFPT.ROLE_REQUEST:
    case OFPT.ROLE_REPLY: {
      const role = fromList(ROLES, r.u32(), 'role');
      r.skip(4);
      const generationId = r.u64();
      return { type: type === OFPT.ROLE_REQUEST ? 'role_request' : 'role_reply', xid, role, generationId };
    }
    case OFPT.GET_ASYNC_REQUEST:
      return { type: 'get_async_request', xid };
    case OFPT.GET_ASYNC_REPLY:
    case OFPT.SET_ASYNC: {
      const pair = (): [number, number] => [r.u32(), r.u32()];
      const packetInMask = pair();
      const portStatusMask = pair();
      const flowRemovedMask = pair();
      return {
        type: type === OFPT.SET_ASYNC ? 'set_async' : 'get_async_reply', xid, packetInMask, portStatusMask,
        flowRemovedMask,
      };
    }
    case OFPT.EXPERIMENTER:
      return readExperimenter(r, xid, decodeInner);
    default:
      return unknown();
  }
}
