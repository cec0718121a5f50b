// OpenFlow 1.3 instructions.
import type { CodecOptions, Instruction } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError, OfEncodeError } from './errors.js';
import { readActions, writeActions } from './actions.js';

export const enum OFPIT {
  GOTO_TABLE = 1,
  WRITE_METADATA = 2,
  WRITE_ACTIONS = 3,
  APPLY_ACTIONS = 4,
  CLEAR_ACTIONS = 5,
  METER = 6,
}

export function writeInstructions(w: BufferWriter, insts: readonly Instruction[], opts: CodecOptions = {}): void {
  for (const i of insts) {
    switch (i.type) {
      case 'goto_table':
        w.u16(OFPIT.GOTO_TABLE).u16(8).u8(i.tableId).zeros(3);
        break;
      case 'write_metadata':
        w.u16(OFPIT.WRITE_METADATA).u16(24).zeros(4).u64(i.metadata).u64(i.mask);
        break;
      case 'apply_actions':
      case 'write_actions': {
        const start = w.length;
        w.u16(i.type === 'apply_actions' ? OFPIT.APPLY_ACTIONS : OFPIT.WRITE_ACTIONS).u16(0).zeros(4);
        writeActions(w, i.actions, opts);
        w.setU16(start + 2, w.length - start);
        break;
      }
      case 'clear_actions':
        w.u16(OFPIT.CLEAR_ACTIONS).u16(8).zeros(4);
        break;
      case 'meter':
        w.u16(OFPIT.METER).u16(8).u32(i.meterId);
        break;
      case 'unknown_instruction':
        if (i.raw.length < 8 || i.raw.length % 8 !== 0) {
          throw new OfEncodeError('bad_value', 'raw instruction must be a non-empty multiple of 8 bytes');
        }
        w.bytes(i.raw);
        break;
    }
  }
}

export function readInstructions(r: BufferReader): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) {
    const start = r.offset;
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8 !== 0) throw new OfDecodeError('bad_instruction', `bad instruction length ${len}`);
    const body = r.sub(len - 4);
    switch (type) {
      case OFPIT.GOTO_TABLE:
        out.push({ type: 'goto_table', tableId: body.u8() });
        break;
      case OFPIT.WRITE_METADATA:
        body.skip(4);
        out.push({ type: 'write_metadata', metadata: body.u64(), mask: body.u64() });
        break;
      case OFPIT.APPLY_ACTIONS:
      case OFPIT.WRITE_ACTIONS:
        body.skip(4);
        out.push({
          type: type === OFPIT.APPLY_ACTIONS ? 'apply_actions' : 'write_actions',
          actions: readActions(body),
        });
        break;
      case OFPIT.CLEAR_ACTIONS:
        out.push({ type: 'clear_actions' });
        break;
      case OFPIT.METER:
        out.push({ type: 'meter', meterId: body.u32() });
        break;
      default:
        out.push({ type: 'unknown_instruction', raw: Buffer.from(r.buf.subarray(start, start + len)) });
    }
  }
  return out;
}
