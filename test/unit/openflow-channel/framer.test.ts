import { describe, expect, it } from 'vitest';
import { FrameLengthError, Framer, OFP_MAX_FRAME } from '../../../src/openflow/framer.js';

/** Independent frame builder: version 4, given type, xid, body bytes. */
function frame(type: number, xid: number, body: number[] = []): Buffer {
  const len = 8 + body.length;
  return Buffer.from([4, type, len >> 8, len & 0xff, (xid >>> 24) & 0xff, (xid >>> 16) & 0xff, (xid >>> 8) & 0xff, xid & 0xff, ...body]);
}

function pushAll(f: Framer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    const r = f.push(c);
    expect(r.ok).toBe(true);
    out.push(...r.frames);
  }
  return out;
}

describe('Framer', () => {
  const a = frame(2, 1, [1, 2, 3, 4]);
  const b = frame(3, 0xdeadbeef);
  const c = frame(10, 7, Array.from({ length: 300 }, (_, i) => i & 0xff));
  const stream = Buffer.concat([a, b, c]);

  it('returns many frames from one chunk, in order', () => {
    const out = pushAll(new Framer(), [stream]);
    expect(out.map((x) => x.toString('hex'))).toEqual([a, b, c].map((x) => x.toString('hex')));
  });

  it('reassembles frames split at every offset', () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = new Framer();
      const out = pushAll(f, [stream.subarray(0, i), stream.subarray(i)]);
      expect(Buffer.concat(out).equals(stream)).toBe(true);
      expect(out).toHaveLength(3);
      expect(f.buffered).toBe(0);
    }
  });

  it('reassembles a byte at a time', () => {
    const f = new Framer();
    const chunks = [...stream].map((x) => Buffer.from([x]));
    const out = pushAll(f, chunks);
    expect(out).toHaveLength(3);
    expect(Buffer.concat(out).equals(stream)).toBe(true);
  });

  it('keeps at most one partial frame buffered', () => {
    const f = new Framer();
    const big = frame(10, 1, Array.from({ length: OFP_MAX_FRAME - 8 }, () => 0));
    for (let i = 0; i < big.length - 1; i += 1000) {
      const r = f.push(big.subarray(i, Math.min(i + 1000, big.length - 1)));
      expect(r.frames).toHaveLength(0);
      expect(f.buffered).toBeLessThan(OFP_MAX_FRAME);
    }
    const r = f.push(big.subarray(big.length - 1));
    expect(r.frames).toHaveLength(1);
    expect(r.frames[0].length).toBe(OFP_MAX_FRAME);
  });

  it('rejects a length below the header size with a typed error, keeping earlier frames', () => {
    const f = new Framer();
    const bad = Buffer.from([4, 0, 0, 4, 0, 0, 0, 1]);
    const r = f.push(Buffer.concat([a, bad, b]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(FrameLengthError);
    expect(r.error.length).toBe(4);
    expect(r.frames).toHaveLength(1);
    // Stays failed until reset.
    expect(f.push(b).ok).toBe(false);
    f.reset();
    expect(pushAll(f, [b])).toHaveLength(1);
  });

  it('rejects frames above maxFrame', () => {
    const f = new Framer({ maxFrame: 100 });
    const r = f.push(c);
    expect(r.ok).toBe(false);
  });
});
