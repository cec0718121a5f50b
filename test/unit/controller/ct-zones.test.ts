import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignZones } from '../../../src/controller/ct-zones.js';

describe('conntrack zones of local ports', () => {
  it('keeps the zones recorded on the interfaces, even where a fresh allocation would differ', () => {
    // A fresh allocation would give p-a zone 1; the recorded zone wins (a restart drops nothing).
    const r = assignZones([
      { portId: 'p-a', recorded: '7' },
      { portId: 'p-b', recorded: '1' },
    ]);
    expect([...r.zones]).toEqual([['p-a', 7], ['p-b', 1]]);
    expect(r.toRecord.size).toBe(0);
  });

  it('gives new ports the lowest free zone and asks to record it; keeps what it gave before', () => {
    const first = assignZones([{ portId: 'x', recorded: '1' }, { portId: 'y' }]);
    expect(first.zones.get('y')).toBe(2);
    expect([...first.toRecord]).toEqual([['y', 2]]);
    // Before the record lands, the next pass gives y the same zone again.
    const again = assignZones([{ portId: 'x', recorded: '1' }, { portId: 'y' }, { portId: 'w' }], first.zones);
    expect(again.zones.get('y')).toBe(2);
    expect(again.zones.get('w')).toBe(3);
  });

  it('ignores invalid records and breaks duplicates by port id', () => {
    const r = assignZones([
      { portId: 'b', recorded: '5' },
      { portId: 'a', recorded: '5' },
      { portId: 'c', recorded: 'zero' },
      { portId: 'd', recorded: '70000' },
    ]);
    expect(r.zones.get('a')).toBe(5);
    expect(r.zones.get('b')).not.toBe(5);
    expect(new Set(r.zones.values()).size).toBe(4);
    expect([...r.toRecord.keys()].sort()).toEqual(['b', 'c', 'd']);
  });

  it('property: zones are unique and in range', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ portId: fc.string({ minLength: 1, maxLength: 4 }), recorded: fc.option(fc.integer({ min: -2, max: 70000 }).map(String), { nil: undefined }) }), {
          selector: (c) => c.portId,
          maxLength: 50,
        }),
        (cands) => {
          const r = assignZones(cands);
          const zs = [...r.zones.values()];
          expect(new Set(zs).size).toBe(zs.length);
          expect(r.zones.size).toBe(cands.length);
          for (const z of zs) expect(z >= 1 && z <= 65535).toBe(true);
        },
      ),
    );
  });
});
