import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord, peekHeader } from '../../../src/model/record-codec.js';

const PORT = ['network_id', 'device_owner', 'device_id'] as const;

describe('record codec: routing fields first, read without parsing', () => {
  it('writes id, network_id, device_owner, device_id first and keeps every field', () => {
    const rec = { name: 'vm1', device_id: 'vm-uuid', fixed_ips: [{ subnet_id: 's1' }], network_id: 'n1', id: 'p1', device_owner: 'compute:nova', key: 3 };
    const text = encodeRecord(rec);
    expect(text.startsWith('{"id":"p1","network_id":"n1","device_owner":"compute:nova","device_id":"vm-uuid",')).toBe(true);
    expect(JSON.parse(text)).toEqual(rec);
    expect(peekHeader(text, PORT)).toEqual({ id: 'p1', network_id: 'n1', device_owner: 'compute:nova', device_id: 'vm-uuid' });
  });

  it('reads a header that is the whole record, and records with only some header fields', () => {
    expect(peekHeader(encodeRecord({ id: 'n1' }))).toEqual({ id: 'n1' });
    expect(peekHeader(encodeRecord({ network_id: 'n1', id: 's1', cidr: '10.0.0.0/24' }), ['network_id'])).toEqual({ id: 's1', network_id: 'n1' });
    // A subnet has no device fields: asking for them means "parse it".
    expect(peekHeader(encodeRecord({ network_id: 'n1', id: 's1' }), PORT)).toBeUndefined();
  });

  it('leaves to the full parser what it cannot read safely', () => {
    // Older layout (plain JSON.stringify): network_id is further on, not in the header.
    expect(peekHeader(JSON.stringify({ id: 'p1', name: 'x', network_id: 'n1', device_owner: '', device_id: '' }), PORT)).toBeUndefined();
    // Escapes in a header value.
    expect(peekHeader(encodeRecord({ id: 'p1', network_id: 'n1', device_owner: 'a"b', device_id: '' }), PORT)).toBeUndefined();
    expect(peekHeader(encodeRecord({ id: 'p\\1' }))).toBeUndefined();
    // Non-string id: no header at all.
    expect(peekHeader(encodeRecord({ id: 7, network_id: 'n1' }))).toBeUndefined();
    // Non-string network_id is not put in the header.
    expect(peekHeader(encodeRecord({ id: 'p1', network_id: null, device_owner: '', device_id: '' }), PORT)).toBeUndefined();
    // Garbage and truncation.
    for (const t of ['', '{', '{"id":"p1', '{"id":"p1"', '{"id":"p1"x', '[1,2]', 'null']) expect(peekHeader(t)).toBeUndefined();
  });

  it('is never fooled by a nested object that carries routing field names', () => {
    const rec = { 'binding:profile': { id: 'evil', network_id: 'other' }, id: 'p1', network_id: 'n1', device_owner: '', device_id: '' };
    expect(peekHeader(encodeRecord(rec), PORT)?.network_id).toBe('n1');
    // Written by someone else with the nested object first: no header, so parse.
    expect(peekHeader(JSON.stringify(rec), PORT)).toBeUndefined();
  });

  it('property: the header read is exactly the record\'s fields, or nothing', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.dictionary(fc.string(), fc.string()));
    const record = fc.record(
      { id: fc.oneof(fc.string(), fc.uuid()), network_id: value, device_owner: value, device_id: value, name: fc.string(), extra: value },
      { requiredKeys: ['id'] },
    );
    fc.assert(
      fc.property(record, fc.boolean(), (rec, layout) => {
        const text = layout ? encodeRecord(rec) : JSON.stringify(rec);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(rec)));
        const h = peekHeader(text, PORT);
        if (h !== undefined) {
          expect(h.id).toBe(rec.id);
          expect(h.network_id).toBe(rec.network_id);
          expect(h.device_owner).toBe(rec.device_owner);
          expect(h.device_id).toBe(rec.device_id);
        } else if (layout) {
          // Only unreadable values may fall back.
          const plain = (v: unknown): boolean => typeof v === 'string' && !/["\\]/.test(v) && JSON.stringify(v) === `"${v}"`;
          expect([rec.id, rec.network_id, rec.device_owner, rec.device_id].every(plain)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the security group fields: a rule\'s group, a port\'s groups (a list)', () => {
    const port = { id: 'p1', network_id: 'n1', device_owner: '', device_id: '', security_groups: ['g1', 'g2'], name: 'x' };
    expect(peekHeader(encodeRecord(port), ['security_groups'])).toEqual({ id: 'p1', network_id: 'n1', device_owner: '', device_id: '', security_groups: ['g1', 'g2'] });
    expect(peekHeader(encodeRecord({ ...port, security_groups: [] }), ['security_groups'])?.security_groups).toEqual([]);
    expect(peekHeader(encodeRecord({ id: 'r1', security_group_id: 'g1', direction: 'ingress' }), ['security_group_id'])).toEqual({ id: 'r1', security_group_id: 'g1' });
    // A quote or backslash inside a list item: parse instead.
    expect(peekHeader(encodeRecord({ ...port, security_groups: ['a"b'] }), ['security_groups'])).toBeUndefined();
    // Not a list of strings: not in the header.
    expect(peekHeader(encodeRecord({ ...port, security_groups: [1] }), ['security_groups'])).toBeUndefined();
  });

  it('property: a list header reads back exactly, or not at all', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), (groups) => {
        const h = peekHeader(encodeRecord({ id: 'p', network_id: 'n', security_groups: groups, z: 1 }), ['security_groups']);
        if (h) expect(h.security_groups).toEqual(groups);
        else expect(groups.some((g) => /["\\]/.test(g) || JSON.stringify(g) !== `"${g}"`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
