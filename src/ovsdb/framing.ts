/**
 * Streaming splitter for RFC 7047's wire format: a byte stream of concatenated JSON texts
 * (objects, in practice) with optional whitespace between them. Pure and incremental: feed it
 * chunks of any size; it tracks string/escape state and bracket depth across chunk boundaries,
 * and yields every complete frame. It never throws: problems come back as typed error results.
 *
 * Scanning works on bytes, which is safe for UTF-8: every byte of a multi-byte sequence is
 * >= 0x80 and so never mistaken for a quote, backslash or bracket. A frame is decoded (UTF-8,
 * then JSON.parse) only once it is complete, so a code point split across chunks is fine.
 */
import { OvsdbFrameTooLargeError, OvsdbFramingError } from './errors.js';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type SplitResult =
  | { readonly type: 'message'; readonly value: unknown }
  | { readonly type: 'error'; readonly error: OvsdbFramingError };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class JsonSplitter {
  private readonly maxFrameBytes: number;
  /** Chunks (or chunk tails) that belong to the frame being scanned. */
  private parts: Uint8Array[] = [];
  private partsLen = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Skipping the rest of an oversized frame until depth returns to 0. */
  private discarding = false;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.partsLen;
  }

  /** Forget any partial frame (after a connection reset). */
  reset(): void {
    this.parts = [];
    this.partsLen = 0;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.discarding = false;
  }

  push(chunk: Uint8Array): SplitResult[] {
    const out: SplitResult[] = [];
    let start = 0; // start of the current frame within this chunk (if it began here)
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const b = chunk[i];
      if (this.depth === 0) {
        // Between frames.
        if (isSpace(b)) {
          i++;
          continue;
        }
        if (b === LBRACE || b === LBRACKET) {
          this.depth = 1;
          this.inString = false;
          this.escape = false;
          start = i;
          i++;
          continue;
        }
        out.push({
          type: 'error',
          error: new OvsdbFramingError(`unexpected byte 0x${b.toString(16).padStart(2, '0')} between JSON frames`),
        });
        i++;
        // Skip garbage up to the next plausible frame start.
        while (i < n && chunk[i] !== LBRACE && chunk[i] !== LBRACKET) i++;
        continue;
      }
      // Inside a frame.
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) {
        this.inString = true;
      } else if (b === LBRACE || b === LBRACKET) {
        this.depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const end = i + 1;
          if (this.discarding) {
            this.discarding = false;
          } else {
            const frameLen = this.partsLen + (end - start);
            if (frameLen > this.maxFrameBytes) {
              out.push({ type: 'error', error: new OvsdbFrameTooLargeError(this.maxFrameBytes) });
            } else {
              out.push(this.finish(chunk.subarray(start, end)));
            }
          }
          this.parts = [];
          this.partsLen = 0;
          i = end;
          continue;
        }
      }
      i++;
    }
    if (this.depth > 0 && !this.discarding) {
      const tail = chunk.subarray(start, n);
      if (this.partsLen + tail.length > this.maxFrameBytes) {
        out.push({ type: 'error', error: new OvsdbFrameTooLargeError(this.maxFrameBytes) });
        this.parts = [];
        this.partsLen = 0;
        this.discarding = true;
      } else if (tail.length > 0) {
        // Copy: the caller may reuse its buffer.
        this.parts.push(Uint8Array.prototype.slice.call(tail));
        this.partsLen += tail.length;
      }
    }
    return out;
  }

  private finish(last: Uint8Array): SplitResult {
    let bytes: Uint8Array;
    if (this.parts.length === 0) {
      bytes = last;
    } else {
      bytes = new Uint8Array(this.partsLen + last.length);
      let off = 0;
      for (const p of this.parts) {
        bytes.set(p, off);
        off += p.length;
      }
      bytes.set(last, off);
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return { type: 'error', error: new OvsdbFramingError('frame is not valid UTF-8') };
    }
    try {
      return { type: 'message', value: JSON.parse(text) as unknown };
    } catch (err) {
      return { type: 'error', error: new OvsdbFramingError(`frame is not valid JSON: ${(err as Error).message}`) };
    }
  }
}
