import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { portRangeMasks } from '../../../src/pipeline/compile/port-range.js';

const covers = (m: { value: number; mask: number }, p: number): boolean => (p & m.mask) === m.value;

describe('port ranges as masked matches', () => {
  it('known cases', () => {
    expect(portRangeMasks(22, 22)).toEqual([{ value: 22, mask: 0xffff }]);
    expect(portRangeMasks(0, 65535)).toEqual([{ value: 0, mask: 0 }]);
    expect(portRangeMasks(1024, 65535)).toHaveLength(6);
    expect(portRangeMasks(1, 65535)).toHaveLength(16);
    expect(portRangeMasks(5200, 5210)).toEqual([
      { value: 5200, mask: 0xfff8 },
      { value: 5208, mask: 0xfffe },
      { value: 5210, mask: 0xffff },
    ]);
  });

  it('property: exactly the ports of the range, each port by one match, no more matches than the prefix bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const ms = portRangeMasks(min, max);
        expect(ms.length).toBeLessThanOrEqual(30); // 2 × 16 − 2: the bound for prefix covers
        for (const p of [min, max, min - 1, max + 1, (min + max) >> 1].filter((x) => x >= 0 && x <= 65535)) {
          const hits = ms.filter((m) => covers(m, p)).length;
          expect(hits).toBe(p >= min && p <= max ? 1 : 0);
        }
        // aligned blocks: value has no bits outside the mask
        for (const m of ms) expect(m.value & ~m.mask & 0xffff).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a bad range', () => {
    expect(() => portRangeMasks(10, 9)).toThrow(RangeError);
    expect(() => portRangeMasks(0, 65536)).toThrow(RangeError);
  });
});
