import { describe, expect, it } from 'vitest';
import {
  applyDatumDiff,
  decodeDatum,
  defaultWireDatum,
  encodeDatum,
  encodeMap,
  encodeSet,
  namedUuid,
  parseColumnType,
  parseSchema,
  uuid,
  wireDatumEqual,
} from '../../../src/ovsdb/datum.js';
import { OvsdbDatumError } from '../../../src/ovsdb/errors.js';
import { encodeOperation } from '../../../src/ovsdb/operations.js';

const U1 = '36bd5a4f-6a5b-4b0c-9d3e-0a1b2c3d4e5f';
const U2 = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';

// Column types as they appear in vswitch.ovsschema (RFC 7047 §3.2 <type>).
const T = {
  name: parseColumnType('string'),
  ofport: parseColumnType({ key: 'integer', min: 0, max: 1 }),
  failMode: parseColumnType({ key: { type: 'string', enum: ['set', ['standalone', 'secure']] }, min: 0, max: 1 }),
  ports: parseColumnType({ key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' }),
  protocols: parseColumnType({ key: 'string', min: 0, max: 'unlimited' }),
  externalIds: parseColumnType({ key: 'string', value: 'string', min: 0, max: 'unlimited' }),
  flowTables: parseColumnType({ key: { type: 'integer', minInteger: 0, maxInteger: 254 }, value: { type: 'uuid', refTable: 'Flow_Table' }, min: 0, max: 'unlimited' }),
  isConnected: parseColumnType('boolean'),
  real: parseColumnType({ key: 'real' }),
};

describe('datum encoding (RFC 7047 §5.1)', () => {
  it('encodes atoms', () => {
    expect(encodeDatum('br-int')).toBe('br-int');
    expect(encodeDatum(42)).toBe(42);
    expect(encodeDatum(true)).toBe(true);
    expect(encodeDatum(uuid(U1))).toEqual(['uuid', U1]);
    expect(encodeDatum(namedUuid('row1'))).toEqual(['named-uuid', 'row1']);
  });
  it('encodes sets, always in the ["set", [...]] form', () => {
    expect(encodeDatum([])).toEqual(['set', []]);
    expect(encodeDatum(['OpenFlow13'])).toEqual(['set', ['OpenFlow13']]);
    expect(encodeDatum([uuid(U1), namedUuid('p')])).toEqual(['set', [['uuid', U1], ['named-uuid', 'p']]]);
    expect(encodeSet(new Set([1, 2]))).toEqual(['set', [1, 2]]);
  });
  it('encodes maps from objects and Maps', () => {
    expect(encodeDatum({ 'iface-id': 'p1', 'attached-mac': 'fa:16:3e:00:00:01' })).toEqual([
      'map',
      [
        ['iface-id', 'p1'],
        ['attached-mac', 'fa:16:3e:00:00:01'],
      ],
    ]);
    expect(encodeDatum({})).toEqual(['map', []]);
    expect(encodeMap(new Map([[0, uuid(U1)]]))).toEqual(['map', [[0, ['uuid', U1]]]]);
  });
  it('refuses non-finite numbers', () => {
    expect(() => encodeDatum(Number.NaN)).toThrow(OvsdbDatumError);
  });
});

describe('datum decoding by column type', () => {
  it('decodes scalars, optional scalars, sets and maps', () => {
    expect(decodeDatum('br-int', T.name)).toBe('br-int');
    expect(decodeDatum(['set', []], T.ofport)).toBeUndefined();
    expect(decodeDatum(5, T.ofport)).toBe(5);
    expect(decodeDatum(['set', [7]], T.ofport)).toBe(7);
    expect(decodeDatum('secure', T.failMode)).toBe('secure');
    expect(decodeDatum(['uuid', U1], T.ports)).toEqual([U1]);
    expect(decodeDatum(['set', [['uuid', U1], ['uuid', U2]]], T.ports)).toEqual([U1, U2]);
    expect(decodeDatum('OpenFlow13', T.protocols)).toEqual(['OpenFlow13']);
    expect(decodeDatum(['map', [['iface-id', 'p1']]], T.externalIds)).toEqual({ 'iface-id': 'p1' });
    expect(decodeDatum(['map', []], T.externalIds)).toEqual({});
    expect(decodeDatum(['map', [[0, ['uuid', U1]]]], T.flowTables)).toEqual(new Map([[0, U1]]));
    expect(decodeDatum(false, T.isConnected)).toBe(false);
    expect(decodeDatum(1.5, T.real)).toBe(1.5);
  });
  it('rejects datums that do not match the type', () => {
    expect(() => decodeDatum(5, T.name)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum(1.5, T.ofport)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum(['set', [1, 2]], T.ofport)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum(['set', []], T.name)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum(['map', [['k']]], T.externalIds)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum('x', T.externalIds)).toThrow(OvsdbDatumError);
    expect(() => decodeDatum(['uuid'], T.ports)).toThrow(OvsdbDatumError);
  });
  it('has the RFC defaults', () => {
    expect(defaultWireDatum(T.name)).toBe('');
    expect(defaultWireDatum(T.ofport)).toEqual(['set', []]);
    expect(defaultWireDatum(T.externalIds)).toEqual(['map', []]);
    expect(defaultWireDatum(T.isConnected)).toBe(false);
  });
  it('parses a schema', () => {
    const s = parseSchema({
      name: 'X',
      version: '1.0.0',
      tables: { Bridge: { columns: { name: { type: 'string' }, datapath_id: { type: { key: 'string', min: 0, max: 1 }, ephemeral: true } }, isRoot: true } },
    });
    expect(s.tables.Bridge.columns.datapath_id).toMatchObject({ ephemeral: true, type: { min: 0, max: 1 } });
    expect(s.tables.Bridge.isRoot).toBe(true);
  });
});

describe('update2 datum diffs', () => {
  it('toggles set elements', () => {
    const old = ['set', [['uuid', U1]]];
    expect(applyDatumDiff(old, ['uuid', U2], T.ports)).toEqual(['set', [['uuid', U1], ['uuid', U2]]]);
    expect(applyDatumDiff(old, ['set', [['uuid', U1], ['uuid', U2]]], T.ports)).toEqual(['set', [['uuid', U2]]]);
  });
  it('adds, removes and replaces map pairs', () => {
    const old = ['map', [['a', '1'], ['b', '2']]];
    const r = applyDatumDiff(old, ['map', [['a', '1'], ['b', '3'], ['c', '4']]], T.externalIds);
    expect(decodeDatum(r, T.externalIds)).toEqual({ b: '3', c: '4' });
  });
  it('replaces max-1 columns (required and optional) with the diff', () => {
    expect(applyDatumDiff('a', 'b', T.name)).toBe('b');
    expect(applyDatumDiff(['set', []], 5, T.ofport)).toBe(5);
    expect(applyDatumDiff(5, 6, T.ofport)).toBe(6);
    expect(applyDatumDiff(5, ['set', []], T.ofport)).toEqual(['set', []]);
  });
  it('compares datums ignoring order', () => {
    expect(wireDatumEqual(['set', [['uuid', U1], ['uuid', U2]]], ['set', [['uuid', U2], ['uuid', U1]]], T.ports)).toBe(true);
    expect(wireDatumEqual(['map', [['a', '1']]], ['map', [['a', '2']]], T.externalIds)).toBe(false);
    expect(wireDatumEqual(5, ['set', [5]], T.ofport)).toBe(true);
  });
});

describe('operation encoding (RFC 7047 §5.2)', () => {
  it('encodes every operation kind', () => {
    expect(encodeOperation({ op: 'insert', table: 'Port', row: { name: 'p', interfaces: [namedUuid('i')] }, uuidName: 'p' })).toEqual({
      op: 'insert',
      table: 'Port',
      row: { name: 'p', interfaces: ['set', [['named-uuid', 'i']]] },
      'uuid-name': 'p',
    });
    expect(encodeOperation({ op: 'select', table: 'Bridge', where: [['name', '==', 'br-int']], columns: ['_uuid'] })).toEqual({
      op: 'select',
      table: 'Bridge',
      where: [['name', '==', 'br-int']],
      columns: ['_uuid'],
    });
    expect(encodeOperation({ op: 'update', table: 'Bridge', where: [['_uuid', '==', uuid(U1)]], row: { fail_mode: 'secure' } })).toEqual({
      op: 'update',
      table: 'Bridge',
      where: [['_uuid', '==', ['uuid', U1]]],
      row: { fail_mode: 'secure' },
    });
    expect(encodeOperation({ op: 'mutate', table: 'Bridge', where: [], mutations: [['external_ids', 'delete', ['k']], ['ports', 'insert', [uuid(U2)]]] })).toEqual({
      op: 'mutate',
      table: 'Bridge',
      where: [],
      mutations: [
        ['external_ids', 'delete', ['set', ['k']]],
        ['ports', 'insert', ['set', [['uuid', U2]]]],
      ],
    });
    expect(encodeOperation({ op: 'delete', table: 'Port', where: [['name', '!=', 'x']] })).toEqual({ op: 'delete', table: 'Port', where: [['name', '!=', 'x']] });
    expect(encodeOperation({ op: 'wait', table: 'Port', where: [['name', '==', 'x']], columns: ['name'], until: '==', rows: [], timeout: 0 })).toEqual({
      op: 'wait',
      table: 'Port',
      where: [['name', '==', 'x']],
      columns: ['name'],
      until: '==',
      rows: [],
      timeout: 0,
    });
    expect(encodeOperation({ op: 'comment', comment: 'hi' })).toEqual({ op: 'comment', comment: 'hi' });
    expect(encodeOperation({ op: 'commit', durable: false })).toEqual({ op: 'commit', durable: false });
    expect(encodeOperation({ op: 'abort' })).toEqual({ op: 'abort' });
    expect(encodeOperation({ op: 'assert', lock: 'l' })).toEqual({ op: 'assert', lock: 'l' });
  });
});
