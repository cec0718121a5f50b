// OpenFlow 1.3 action list encode/decode. Nicira experimenter actions live in nicira-actions.ts.
import type { Action, CodecOptions } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError, OfEncodeError } from './errors.js';
import { portFromNumber, portToNumber, OFPP_CONTROLLER } from './ports.js';
import { readOxmEntry, writeOxmEntry } from './oxm.js';
import { maskedToLoad, NX_VENDOR_ID, readNxAction, writeNxAction, type NestedActionCodec } from './nicira-actions.js';

export const enum OFPAT {
  OUTPUT = 0,
  SET_QUEUE = 21,
  PUSH_VLAN = 17,
  POP_VLAN = 18,
  GROUP = 22,
  DEC_NW_TTL = 24,
  SET_FIELD = 25,
  EXPERIMENTER = 0xffff,
}

/** OFPCML_NO_BUFFER: send the whole packet to the controller. */
export const OFPCML_NO_BUFFER = 0xffff;

/** This module as the codec of the actions nested in Nicira's ct() (see nicira-actions.ts). */
const NESTED: NestedActionCodec = { write: (w, actions, opts) => writeActions(w, actions, opts), read: (r) => readActions(r) };

export function writeActions(w: BufferWriter, actions: readonly Action[], opts: CodecOptions = {}): void {
  for (const a of actions) writeAction(w, a, opts);
}

export function writeAction(w: BufferWriter, a: Action, opts: CodecOptions = {}): void {
  switch (a.type) {
    case 'output': {
      const port = portToNumber(a.port);
      const maxLen = a.maxLen ?? (port === OFPP_CONTROLLER ? OFPCML_NO_BUFFER : 0);
      w.u16(OFPAT.OUTPUT).u16(16).u32(port).u16(maxLen).zeros(6);
      return;
    }
    case 'group':
      w.u16(OFPAT.GROUP).u16(8).u32(a.groupId);
      return;
    case 'set_queue':
      w.u16(OFPAT.SET_QUEUE).u16(8).u32(a.queueId);
      return;
    case 'push_vlan':
      w.u16(OFPAT.PUSH_VLAN).u16(8).u16(a.ethertype).zeros(2);
      return;
    case 'pop_vlan':
      w.u16(OFPAT.POP_VLAN).u16(8).zeros(4);
      return;
    case 'dec_ttl':
      w.u16(OFPAT.DEC_NW_TTL).u16(8).zeros(4);
      return;
    case 'set_field': {
      if (typeof a.value === 'object') throw new OfEncodeError('bad_value', 'set_field takes an exact value; use load');
      const start = w.length;
      w.u16(OFPAT.SET_FIELD).u16(0);
      writeOxmEntry(w, a.field, a.value, opts);
      w.pad8(start);
      w.setU16(start + 2, w.length - start);
      return;
    }
    case 'unknown_action':
      if (a.raw.length < 8 || a.raw.length % 8 !== 0) {
        throw new OfEncodeError('bad_value', 'raw action must be a non-empty multiple of 8 bytes');
      }
      w.bytes(a.raw);
      return;
    default:
      writeNxAction(w, a, opts, NESTED);
  }
}

/** Decode actions until the reader is exhausted. */
export function readActions(r: BufferReader): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) out.push(readAction(r));
  return out;
}

export function readAction(r: BufferReader): Action {
  const start = r.offset;
  const type = r.u16();
  const len = r.u16();
  if (len < 8 || len % 8 !== 0 || len > r.remaining + 4) {
    throw new OfDecodeError('bad_action', `bad action length ${len} for type ${type}`);
  }
  const body = r.sub(len - 4);
  const raw = (): Action => ({ type: 'unknown_action', raw: Buffer.from(r.buf.subarray(start, start + len)) });
  switch (type) {
    case OFPAT.OUTPUT: {
      const port = portFromNumber(body.u32());
      const maxLen = body.u16();
      return port === 'controller' ? { type: 'output', port, maxLen } : { type: 'output', port };
    }
    case OFPAT.GROUP:
      return { type: 'group', groupId: body.u32() };
    case OFPAT.SET_QUEUE:
      return { type: 'set_queue', queueId: body.u32() };
    case OFPAT.PUSH_VLAN:
      return { type: 'push_vlan', ethertype: body.u16() };
    case OFPAT.POP_VLAN:
      return { type: 'pop_vlan' };
    case OFPAT.DEC_NW_TTL:
      return { type: 'dec_ttl' };
    case OFPAT.SET_FIELD: {
      const e = readOxmEntry(body);
      if (body.buf.subarray(body.offset, body.end).some((x) => x !== 0)) {
        throw new OfDecodeError('bad_action', 'set_field: nonzero padding');
      }
      if (!e.name) return raw();
      if (typeof e.value === 'object') return maskedToLoad(e.name, e.value as { value: unknown; mask: unknown }) ?? raw();
      return { type: 'set_field', field: e.name, value: e.value } as Action;
    }
    case OFPAT.EXPERIMENTER: {
      const vendor = body.u32();
      if (vendor !== NX_VENDOR_ID) return raw();
      return readNxAction(body, raw, NESTED);
    }
    default:
      return raw();
  }
}
