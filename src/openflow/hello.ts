/**
 * HELLO: the version bitmap element (OpenFlow 1.3.1+ §A.5.1) and version negotiation (§6.3.1).
 * The one place that reads and writes HELLO elements: the codec (`hello` messages) and the
 * channel's handshake both use it.
 */
import { BufferReader } from './buffer-reader.js';
import type { BufferWriter } from './buffer-writer.js';
import { OfDecodeError } from './errors.js';
import { OFP_HEADER_LEN } from './header.js';

/** ofp_hello_elem_type OFPHET_VERSIONBITMAP. */
export const OFPHET_VERSIONBITMAP = 1;

/** What a peer's HELLO offers: its header version, and its version bitmap when it sent one. */
export interface HelloVersions {
  readonly headerVersion: number;
  readonly bitmap: number[] | undefined;
}

/** Write a VERSIONBITMAP element for `versions` (padded to 8 bytes). Nothing for an empty list. */
export function writeVersionBitmap(w: BufferWriter, versions: readonly number[]): void {
  if (versions.length === 0) return;
  const words = Math.floor(Math.max(...versions) / 32) + 1;
  const bitmap = new Array<number>(words).fill(0);
  for (const v of versions) bitmap[Math.floor(v / 32)] |= 1 << v % 32;
  const start = w.length;
  w.u16(OFPHET_VERSIONBITMAP).u16(4 + 4 * words);
  for (const x of bitmap) w.u32(x >>> 0);
  w.pad8(start);
}

/**
 * Read HELLO elements from `r` (positioned after the header) up to the first VERSIONBITMAP;
 * its versions, or undefined when there is none. Throws OfDecodeError on a malformed element.
 */
export function readVersionBitmap(r: BufferReader): number[] | undefined {
  while (r.remaining >= 4) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4) throw new OfDecodeError('bad_length', `hello element length ${len}`);
    const body = r.sub(len - 4);
    r.skip(Math.min(r.remaining, (8 - (len % 8)) % 8));
    if (type !== OFPHET_VERSIONBITMAP) continue;
    const versions: number[] = [];
    for (let word = 0; body.remaining >= 4; word++) {
      const bits = body.u32();
      for (let bit = 0; bit < 32; bit++) if (bits & (1 << bit)) versions.push(word * 32 + bit);
    }
    return versions;
  }
  return undefined;
}

/**
 * The versions a HELLO frame offers. Lenient, as a handshake must be: a malformed element ends
 * the walk (the header version still counts).
 */
export function parseHelloVersions(frame: Buffer): HelloVersions {
  const headerVersion = frame[0];
  let bitmap: number[] | undefined;
  try {
    bitmap = readVersionBitmap(new BufferReader(frame, OFP_HEADER_LEN, frame.readUInt16BE(2)));
  } catch {
    bitmap = undefined;
  }
  return { headerVersion, bitmap };
}

/** Negotiate as in OpenFlow 1.3.1 §6.3.1; undefined when there is no common version. */
export function negotiateVersion(ours: readonly number[], peer: HelloVersions): number | undefined {
  if (peer.bitmap) {
    const common = ours.filter((v) => peer.bitmap!.includes(v));
    return common.length ? Math.max(...common) : undefined;
  }
  const v = Math.min(Math.max(...ours), peer.headerVersion);
  return ours.includes(v) ? v : undefined;
}

/** The versions a peer offered, for error messages. */
export function peerVersionsOf(peer: HelloVersions): number[] {
  return peer.bitmap ?? [peer.headerVersion];
}
