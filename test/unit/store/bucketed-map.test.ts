import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketedMap } from '../../../src/store/bucketed-map.js';
import { compareKeys } from '../../../src/store/keys.js';

describe('BucketedMap (the memory store key space)', () => {
  it('ranges within a collection and across collections, sorted', () => {
    const m = new BucketedMap<number>();
    for (const k of ['/nb/ports/b', '/nb/ports/a', '/nb/subnets/x', '/chassis/hv2', '/chassis/hv1', '/nb/ports/a/deep', '/top']) m.set(k, k.length);
    expect(m.keysWithPrefix('/nb/ports/')).toEqual(['/nb/ports/a', '/nb/ports/a/deep', '/nb/ports/b']);
    expect(m.keysWithPrefix('/nb/')).toEqual(['/nb/ports/a', '/nb/ports/a/deep', '/nb/ports/b', '/nb/subnets/x']);
    expect(m.keysWithPrefix('/chassis/hv')).toEqual(['/chassis/hv1', '/chassis/hv2']);
    expect(m.keysWithPrefix('/nb/ports/a/')).toEqual(['/nb/ports/a/deep']);
    expect(m.keysWithPrefix('')).toHaveLength(7);
    expect(m.size).toBe(7);
    expect(m.delete('/nb/ports/a')).toBe(true);
    expect(m.delete('/nb/ports/a')).toBe(false);
    m.set('/nb/ports/b', 99); // an update keeps the order
    expect(m.valuesWithPrefix('/nb/ports/')).toEqual([16, 99]);
    expect(m.get('/nb/ports/b')).toBe(99);
    expect(m.size).toBe(6);
  });

  it('property: agrees with a filtered, sorted plain map under any sequence of writes', () => {
    const seg = fc.constantFrom('', 'a', 'b', 'nb', 'ports', 'x1');
    const key = fc.array(seg, { minLength: 0, maxLength: 5 }).map((parts) => `/${parts.join('/')}`);
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: key, v: fc.integer() }),
      fc.record({ t: fc.constant('del' as const), k: key }),
      fc.record({ t: fc.constant('range' as const), k: fc.oneof(key, key.map((k) => `${k}/`), key.map((k) => k.slice(0, -1))) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = new BucketedMap<number>();
        const ref = new Map<string, number>();
        for (const o of ops) {
          if (o.t === 'set') {
            m.set(o.k, o.v);
            ref.set(o.k, o.v);
          } else if (o.t === 'del') {
            expect(m.delete(o.k)).toBe(ref.delete(o.k));
          } else {
            const want = [...ref.keys()].filter((k) => k.startsWith(o.k)).sort(compareKeys);
            expect(m.keysWithPrefix(o.k)).toEqual(want);
            expect(m.valuesWithPrefix(o.k)).toEqual(want.map((k) => ref.get(k)));
          }
          expect(m.size).toBe(ref.size);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
