import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OvsdbFrameTooLargeError, OvsdbFramingError } from '../../../src/ovsdb/errors.js';
import { JsonSplitter, type SplitResult } from '../../../src/ovsdb/framing.js';

// Hand-written messages, each parsed independently with JSON.parse for the expected values.
const TEXTS = [
  '{"id":1,"method":"echo","params":[]}',
  '{"id":2,"result":["Open_vSwitch","_Server"],"error":null}',
  // braces and brackets inside strings, escaped quotes and backslashes
  '{"method":"update2","params":["m",{"T":{"u":{"insert":{"s":"a}b{c]d[\\"}{\\\\","t":"\\\\"}}}}],"id":null}',
  // UTF-8: 2-, 3- and 4-byte sequences, and a \u escape
  '{"id":3,"result":{"name":"br-é日本🐉","x":"\\u00e9\\""},"error":null}',
  '[1,{"a":[]}]',
  '{}',
];
const FIXTURE = Buffer.from(TEXTS.join('') + '\n  ' + '{"id":4,"result":"tail","error":null}\r\n', 'utf8');
const EXPECTED = [...TEXTS.map((t) => JSON.parse(t) as unknown), { id: 4, result: 'tail', error: null }];

function messages(rs: SplitResult[]): unknown[] {
  return rs.map((r) => {
    if (r.type !== 'message') throw r.error;
    return r.value;
  });
}

function feed(chunks: Uint8Array[], sp = new JsonSplitter()): SplitResult[] {
  return chunks.flatMap((c) => sp.push(c));
}

describe('JsonSplitter', () => {
  it('parses the fixture in one chunk', () => {
    expect(messages(feed([FIXTURE]))).toEqual(EXPECTED);
  });

  it('parses the fixture split at every offset', () => {
    for (let i = 0; i <= FIXTURE.length; i++) {
      const sp = new JsonSplitter();
      expect(messages(feed([FIXTURE.subarray(0, i), FIXTURE.subarray(i)], sp)), `split at ${i}`).toEqual(EXPECTED);
      expect(sp.buffered).toBe(0);
    }
  });

  it('parses the fixture split at every pair of offsets', () => {
    const step = 3; // every pair would be n^2/2 ≈ 40k runs; every 3rd second cut keeps it quick
    for (let i = 0; i <= FIXTURE.length; i++) {
      for (let j = i; j <= FIXTURE.length; j += step) {
        const r = feed([FIXTURE.subarray(0, i), FIXTURE.subarray(i, j), FIXTURE.subarray(j)]);
        expect(messages(r)).toEqual(EXPECTED);
      }
    }
  });

  it('parses the fixture fed one byte at a time (UTF-8 sequences split across chunks)', () => {
    const chunks = [...FIXTURE].map((b) => Uint8Array.of(b));
    expect(messages(feed(chunks))).toEqual(EXPECTED);
  });

  it('does not keep references to the caller’s buffers', () => {
    const sp = new JsonSplitter();
    const buf = Buffer.from('{"a":"xyz');
    expect(sp.push(buf)).toEqual([]);
    buf.fill(0x20);
    expect(messages(sp.push(Buffer.from('"}')))).toEqual([{ a: 'xyz' }]);
  });

  it('reports an oversized frame with a typed error and recovers for the next frame', () => {
    const sp = new JsonSplitter({ maxFrameBytes: 32 });
    const big = `{"x":"${'a'.repeat(100)}"}`;
    const input = Buffer.from(`${big}{"ok":1}`);
    // in one chunk
    let r = sp.push(input);
    expect(r[0].type).toBe('error');
    expect(r[0].type === 'error' && r[0].error).toBeInstanceOf(OvsdbFrameTooLargeError);
    expect(r.slice(1)).toEqual([{ type: 'message', value: { ok: 1 } }]);
    // across chunks: the buffer stays bounded while the frame is discarded
    sp.reset();
    r = [];
    for (let i = 0; i < input.length; i += 7) {
      r.push(...sp.push(input.subarray(i, i + 7)));
      expect(sp.buffered).toBeLessThanOrEqual(32);
    }
    expect(r.map((x) => x.type)).toEqual(['error', 'message']);
    expect(r[1]).toEqual({ type: 'message', value: { ok: 1 } });
  });

  it('reports garbage between frames, bad JSON and bad UTF-8 as typed errors', () => {
    const sp = new JsonSplitter();
    const r = sp.push(Buffer.from('xyz{"a":1}{"a":,}'));
    expect(r.map((x) => x.type)).toEqual(['error', 'message', 'error']);
    expect(r[0].type === 'error' && r[0].error).toBeInstanceOf(OvsdbFramingError);
    const bad = sp.push(Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])); // {"a":"\xff"}
    expect(bad).toHaveLength(1);
    expect(bad[0].type === 'error' && bad[0].error.message).toMatch(/UTF-8/);
  });

  it('never throws or hangs on random bytes in random chunks (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const sp = new JsonSplitter({ maxFrameBytes: 256 });
        for (const c of chunks) {
          const rs = sp.push(c);
          for (const r of rs) expect(['message', 'error']).toContain(r.type);
          expect(sp.buffered).toBeLessThanOrEqual(256);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated fixture bytes (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(FIXTURE.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(FIXTURE.length),
        (muts, cut) => {
          const b = Buffer.from(FIXTURE);
          for (const [i, v] of muts) b[i] = v;
          const sp = new JsonSplitter();
          sp.push(b.subarray(0, cut));
          sp.push(b.subarray(cut));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('splits any sequence of JSON objects and arrays, in any chunking (fast-check)', () => {
    const value = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue()));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (vals, cuts) => {
        const bytes = Buffer.from(vals.map((v) => JSON.stringify(v)).join(' '), 'utf8');
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        // JSON.parse(JSON.stringify(v)) normalizes -0 and the like
        expect(messages(feed(chunks))).toEqual(vals.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: 500 },
    );
  });
});
