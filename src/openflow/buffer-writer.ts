// Growable big-endian writer.

export class BufferWriter {
  private buf: Buffer;
  length = 0;

  constructor(size = 256) {
    // Every byte below `length` is written before finish(); no need to zero (pooled allocation).
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v & 0xff, this.length);
    this.length += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.length);
    this.length += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  /** Zero-pad so that (length - start) is a multiple of 8. */
  pad8(start = 0): this {
    const rem = (this.length - start) % 8;
    return rem === 0 ? this : this.zeros(8 - rem);
  }

  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
