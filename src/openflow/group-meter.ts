// GROUP_MOD / group-desc buckets and METER_MOD bands.
import type { Bucket, CodecOptions, GroupModCommand, GroupType, MeterBand, MeterFlags } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { OfDecodeError } from './errors.js';
import { readActions, writeActions } from './actions.js';

export const GROUP_TYPES: readonly GroupType[] = ['all', 'select', 'indirect', 'ff'];
export const GROUP_COMMANDS: readonly GroupModCommand[] = ['add', 'modify', 'delete'];
export const METER_COMMANDS: readonly ('add' | 'modify' | 'delete')[] = ['add', 'modify', 'delete'];

export function groupTypeFromNumber(n: number): GroupType {
  const t = GROUP_TYPES[n];
  if (!t) throw new OfDecodeError('bad_value', `bad group type ${n}`);
  return t;
}

export function writeBuckets(w: BufferWriter, buckets: readonly Bucket[], opts: CodecOptions): void {
  for (const b of buckets) {
    const start = w.length;
    w.u16(0).u16(b.weight).u32(b.watchPort).u32(b.watchGroup).zeros(4);
    writeActions(w, b.actions, opts);
    w.setU16(start, w.length - start);
  }
}

export function readBuckets(r: BufferReader): Bucket[] {
  const out: Bucket[] = [];
  while (r.remaining > 0) {
    const len = r.u16();
    if (len < 16 || len % 8 !== 0) throw new OfDecodeError('bad_length', `bad bucket length ${len}`);
    const b = r.sub(len - 2);
    const weight = b.u16();
    const watchPort = b.u32();
    const watchGroup = b.u32();
    b.skip(4);
    out.push({ weight, watchPort, watchGroup, actions: readActions(b) });
  }
  return out;
}

export function meterFlagsToNumber(f: MeterFlags): number {
  return (f.kbps ? 1 : 0) | (f.pktps ? 2 : 0) | (f.burst ? 4 : 0) | (f.stats ? 8 : 0);
}

export function meterFlagsFromNumber(n: number): MeterFlags {
  const f: { -readonly [K in keyof MeterFlags]: boolean } = {};
  if (n & 1) f.kbps = true;
  if (n & 2) f.pktps = true;
  if (n & 4) f.burst = true;
  if (n & 8) f.stats = true;
  return f;
}

export function writeBands(w: BufferWriter, bands: readonly MeterBand[]): void {
  for (const b of bands) {
    if (b.type === 'drop') w.u16(1).u16(16).u32(b.rate).u32(b.burstSize).zeros(4);
    else w.u16(2).u16(16).u32(b.rate).u32(b.burstSize).u8(b.precLevel).zeros(3);
  }
}

export function readBands(r: BufferReader): MeterBand[] {
  const out: MeterBand[] = [];
  while (r.remaining > 0) {
    const type = r.u16();
    const len = r.u16();
    if (len < 16 || len % 8 !== 0) throw new OfDecodeError('bad_length', `bad meter band length ${len}`);
    const b = r.sub(len - 4);
    const rate = b.u32();
    const burstSize = b.u32();
    if (type === 1) out.push({ type: 'drop', rate, burstSize });
    else if (type === 2) out.push({ type: 'dscp_remark', rate, burstSize, precLevel: b.u8() });
    else throw new OfDecodeError('bad_value', `unsupported meter band type ${type}`);
  }
  return out;
}
