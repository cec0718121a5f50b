// Bounds-checked big-endian reader. Reading past `end` throws OfDecodeError('truncated'),
// which decodeMessage turns into a returned error.
import { OfDecodeError } from './errors.js';

export class BufferReader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.offset = start;
    this.end = Math.min(end, buf.length);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.end) {
      throw new OfDecodeError('truncated', `need ${n} bytes at offset ${this.offset}, have ${this.remaining}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  /** A copy of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return b;
  }

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  /** A reader over the next n bytes; this reader advances past them. */
  sub(n: number): BufferReader {
    this.need(n);
    const r = new BufferReader(this.buf, this.offset, this.offset + n);
    this.offset += n;
    return r;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}
