// FLOW_MOD body, flow-mod flags, and the flow-stats entry (which shares the flags and layout ideas).
import type { CodecOptions, FlowModBody, FlowModCommand, FlowModFlags, FlowStats } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError } from './errors.js';
import { readMatch, writeMatch } from './oxm.js';
import { readInstructions, writeInstructions } from './instructions.js';
import { portFromNumber, portToNumber } from './ports.js';

const COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];

export function flagsToNumber(f: FlowModFlags): number {
  return (
    (f.sendFlowRem ? 1 : 0) |
    (f.checkOverlap ? 2 : 0) |
    (f.resetCounts ? 4 : 0) |
    (f.noPktCounts ? 8 : 0) |
    (f.noBytCounts ? 16 : 0)
  );
}

/** Only the flags that are set appear (as `true`). */
export function flagsFromNumber(n: number): FlowModFlags {
  const f: { -readonly [K in keyof FlowModFlags]: boolean } = {};
  if (n & 1) f.sendFlowRem = true;
  if (n & 2) f.checkOverlap = true;
  if (n & 4) f.resetCounts = true;
  if (n & 8) f.noPktCounts = true;
  if (n & 16) f.noBytCounts = true;
  return f;
}

export function writeFlowMod(w: BufferWriter, m: FlowModBody, opts: CodecOptions): void {
  w.u64(m.cookie).u64(m.cookieMask).u8(m.tableId).u8(COMMANDS.indexOf(m.command));
  w.u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority).u32(m.bufferId);
  w.u32(portToNumber(m.outPort)).u32(m.outGroup).u16(flagsToNumber(m.flags)).zeros(2);
  writeMatch(w, m.match, opts);
  writeInstructions(w, m.instructions, opts);
}

export function readFlowMod(r: BufferReader): FlowModBody {
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const cmd = r.u8();
  const command = COMMANDS[cmd];
  if (!command) throw new OfDecodeError('bad_value', `bad flow_mod command ${cmd}`);
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = portFromNumber(r.u32());
  const outGroup = r.u32();
  const flags = flagsFromNumber(r.u16());
  r.skip(2);
  const match = readMatch(r);
  const instructions = readInstructions(r);
  return {
    command, tableId, priority, cookie, cookieMask, idleTimeout, hardTimeout, flags, bufferId, outPort, outGroup,
    match, instructions,
  };
}

export function writeFlowStats(w: BufferWriter, s: FlowStats, opts: CodecOptions): void {
  const start = w.length;
  w.u16(0).u8(s.tableId).zeros(1).u32(s.durationSec).u32(s.durationNsec);
  w.u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(flagsToNumber(s.flags)).zeros(4);
  w.u64(s.cookie).u64(s.packetCount).u64(s.byteCount);
  writeMatch(w, s.match, opts);
  writeInstructions(w, s.instructions, opts);
  w.setU16(start, w.length - start);
}

export function readFlowStats(r: BufferReader): FlowStats {
  const length = r.u16();
  if (length < 56) throw new OfDecodeError('bad_length', `flow stats entry length ${length}`);
  const e = r.sub(length - 2);
  const tableId = e.u8();
  e.skip(1);
  const durationSec = e.u32();
  const durationNsec = e.u32();
  const priority = e.u16();
  const idleTimeout = e.u16();
  const hardTimeout = e.u16();
  const flags = flagsFromNumber(e.u16());
  e.skip(4);
  const cookie = e.u64();
  const packetCount = e.u64();
  const byteCount = e.u64();
  const match = readMatch(e);
  const instructions = readInstructions(e);
  return {
    tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount,
    match, instructions,
  };
}
