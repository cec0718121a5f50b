/**
 * Incremental OpenFlow stream splitter. Pure: bytes in, whole frames out. Knows only the 8-byte
 * OpenFlow header (version, type, length, xid); never decodes bodies.
 *
 * - Partial frames are kept until the rest arrives; many frames per chunk are returned in order.
 * - Bounded: at most one partial frame (≤ 65,535 bytes, the largest OpenFlow length) is buffered.
 * - A length below the header size (or above `maxFrame`) is a {@link FrameLengthError}: the stream
 *   cannot be resynchronised, so the framer stops and the owner must reset the connection.
 * - Returned frames are views (no copy) into the pushed chunks; Node does not reuse socket chunks.
 */

import { OFP_HEADER_LEN, OFP_MAX_FRAME } from './header.js';

export { OFP_MAX_FRAME };

/** The stream carried a frame length that cannot be right; the connection must be reset. */
export class FrameLengthError extends Error {
  override readonly name = 'FrameLengthError';
  constructor(
    readonly length: number,
    readonly header: Buffer,
  ) {
    super(`invalid OpenFlow frame length ${length} (header ${header.toString('hex')})`);
  }
}

export type FramerResult =
  | { readonly ok: true; readonly frames: Buffer[] }
  /** `frames` holds the good frames that preceded the bad header. */
  | { readonly ok: false; readonly frames: Buffer[]; readonly error: FrameLengthError };

export interface FramerOptions {
  /** Frames longer than this are rejected (default and maximum 65,535). */
  readonly maxFrame?: number;
}

export class Framer {
  private pending: Buffer | null = null;
  private failed: FrameLengthError | null = null;
  private readonly maxFrame: number;

  constructor(opts: FramerOptions = {}) {
    this.maxFrame = Math.min(opts.maxFrame ?? OFP_MAX_FRAME, OFP_MAX_FRAME);
  }

  /** Bytes held back waiting for the rest of a frame (always < maxFrame). */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  /** Forget buffered bytes and any error (call when the connection is replaced). */
  reset(): void {
    this.pending = null;
    this.failed = null;
  }

  push(chunk: Buffer): FramerResult {
    const frames: Buffer[] = [];
    if (this.failed) return { ok: false, frames, error: this.failed };
    let buf: Buffer;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    } else {
      buf = chunk;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= OFP_HEADER_LEN) {
      const len = (buf[off + 2] << 8) | buf[off + 3];
      if (len < OFP_HEADER_LEN || len > this.maxFrame) {
        this.failed = new FrameLengthError(len, Buffer.from(buf.subarray(off, off + OFP_HEADER_LEN)));
        return { ok: false, frames, error: this.failed };
      }
      if (end - off < len) break;
      frames.push(buf.subarray(off, off + len));
      off += len;
    }
    if (off < end) {
      // Copy the tail so a big chunk is not pinned by a small remainder.
      this.pending = Buffer.from(buf.subarray(off));
    }
    return { ok: true, frames };
  }
}
