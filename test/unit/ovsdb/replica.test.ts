import { describe, expect, it } from 'vitest';
import { parseSchema } from '../../../src/ovsdb/datum.js';
import { OvsdbDatumError } from '../../../src/ovsdb/errors.js';
import { ReplicaState, type RowChange } from '../../../src/ovsdb/replica.js';

const schema = parseSchema({
  name: 'Open_vSwitch',
  version: '8.3.1',
  tables: {
    Bridge: {
      columns: {
        name: { type: 'string' },
        ports: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' } },
        fail_mode: { type: { key: 'string', min: 0, max: 1 } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
    Interface: {
      columns: {
        name: { type: 'string' },
        ofport: { type: { key: 'integer', min: 0, max: 1 } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
  },
});

const B = '11111111-1111-4111-8111-111111111111';
const I1 = '22222222-2222-4222-8222-222222222222';
const I2 = '33333333-3333-4333-8333-333333333333';
const P1 = '44444444-4444-4444-8444-444444444444';
const P2 = '55555555-5555-4555-8555-555555555555';

const fresh = () => new ReplicaState(schema, { Bridge: undefined, Interface: ['name', 'ofport', 'external_ids'] });
const summary = (cs: RowChange[]) => cs.map((c) => `${c.type} ${c.table} ${c.uuid}`);

describe('ReplicaState: update2 / update3 (monitor_cond, monitor_cond_since)', () => {
  it('applies initial rows, filling omitted (default) columns', () => {
    const r = fresh();
    const cs = r.apply({
      kind: 'initial',
      format: 2,
      full: true,
      method: 'monitor_cond',
      updates: { Bridge: { [B]: { initial: { name: 'br-int' } } }, Interface: { [I1]: { initial: { name: 'vm1', external_ids: ['map', [['iface-id', 'p1']]] } } } },
    });
    expect(summary(cs)).toEqual([`insert Bridge ${B}`, `insert Interface ${I1}`]);
    expect(r.get('Bridge', B)).toEqual({ _uuid: B, name: 'br-int', ports: [], fail_mode: undefined, external_ids: {} });
    expect(r.get('Interface', I1)).toEqual({ _uuid: I1, name: 'vm1', ofport: undefined, external_ids: { 'iface-id': 'p1' } });
  });

  it('applies insert, modify (set, map and optional-scalar diffs) and delete', () => {
    const r = fresh();
    r.apply({ kind: 'initial', format: 2, full: true, method: 'monitor_cond', updates: { Bridge: { [B]: { initial: { name: 'br-int', ports: ['uuid', P1], external_ids: ['map', [['a', '1'], ['b', '2']]] } } } } });
    let cs = r.apply({
      kind: 'update',
      format: 2,
      updates: {
        Bridge: { [B]: { modify: { ports: ['uuid', P2], fail_mode: 'secure', external_ids: ['map', [['a', '1'], ['b', '9'], ['c', '3']]] } } },
        Interface: { [I2]: { insert: { name: 'vm2' } } },
      },
    });
    expect(summary(cs)).toEqual([`modify Bridge ${B}`, `insert Interface ${I2}`]);
    expect(cs[0].old).toMatchObject({ ports: [P1], fail_mode: undefined });
    expect(cs[0].new).toEqual({ _uuid: B, name: 'br-int', ports: [P1, P2], fail_mode: 'secure', external_ids: { b: '9', c: '3' } });

    cs = r.apply({ kind: 'update', format: 2, updates: { Interface: { [I2]: { modify: { ofport: 3 } } }, Bridge: { [B]: { modify: { ports: ['uuid', P1] } } } } });
    expect(r.get('Interface', I2)).toMatchObject({ ofport: 3 });
    expect(r.get('Bridge', B)).toMatchObject({ ports: [P2] });

    cs = r.apply({ kind: 'update', format: 2, updates: { Interface: { [I2]: { delete: null } } } });
    expect(summary(cs)).toEqual([`delete Interface ${I2}`]);
    expect(cs[0].old).toMatchObject({ name: 'vm2', ofport: 3 });
    expect(r.rows('Interface')).toEqual([]);
  });

  it('ignores tables and columns it does not replicate', () => {
    const r = fresh();
    const cs = r.apply({
      kind: 'update',
      format: 2,
      updates: { Port: { [P1]: { insert: { name: 'x' } } }, Interface: { [I1]: { insert: { name: 'vm1', statistics: ['map', []] } } } },
    });
    expect(summary(cs)).toEqual([`insert Interface ${I1}`]);
    expect(Object.keys(r.get('Interface', I1)!)).toEqual(['_uuid', 'name', 'ofport', 'external_ids']);
  });

  it('applies monitor_cond_since changes-only initial state (found=true) without a reset', () => {
    const r = fresh();
    r.apply({ kind: 'initial', format: 2, full: true, method: 'monitor_cond_since', updates: { Interface: { [I1]: { initial: { name: 'vm1' } }, [I2]: { initial: { name: 'vm2' } } } } });
    const cs = r.apply({ kind: 'initial', format: 2, full: false, method: 'monitor_cond_since', updates: { Interface: { [I2]: { modify: { ofport: 9 } } } } });
    expect(summary(cs)).toEqual([`modify Interface ${I2}`]);
    expect(r.rows('Interface')).toHaveLength(2);
  });

  it('rebuilds from a full initial state after a reconnect and reports only the difference', () => {
    const r = fresh();
    r.apply({
      kind: 'initial',
      format: 2,
      full: true,
      method: 'monitor_cond',
      updates: {
        Bridge: { [B]: { initial: { name: 'br-int', ports: ['set', [['uuid', P1], ['uuid', P2]]] } } },
        Interface: { [I1]: { initial: { name: 'vm1', ofport: 1 } }, [I2]: { initial: { name: 'vm2', ofport: 2 } } },
      },
    });
    const I3 = '66666666-6666-4666-8666-666666666666';
    const cs = r.apply({
      kind: 'initial',
      format: 2,
      full: true,
      method: 'monitor_cond',
      updates: {
        // same bridge, ports in another order: not a change
        Bridge: { [B]: { initial: { name: 'br-int', ports: ['set', [['uuid', P2], ['uuid', P1]]] } } },
        Interface: { [I1]: { initial: { name: 'vm1', ofport: 5 } }, [I3]: { initial: { name: 'vm3' } } },
      },
    });
    expect(summary(cs).sort()).toEqual([`delete Interface ${I2}`, `insert Interface ${I3}`, `modify Interface ${I1}`].sort());
    expect(cs.find((c) => c.type === 'modify')).toMatchObject({ old: { ofport: 1 }, new: { ofport: 5 } });
  });

  it('rejects malformed updates with a typed error and keeps the previous state on a failed reset', () => {
    const r = fresh();
    r.apply({ kind: 'initial', format: 2, full: true, method: 'monitor_cond', updates: { Interface: { [I1]: { initial: { name: 'vm1' } } } } });
    expect(() => r.apply({ kind: 'update', format: 2, updates: { Interface: { [I2]: { modify: { ofport: 1 } } } } })).toThrow(OvsdbDatumError);
    expect(() => r.apply({ kind: 'update', format: 2, updates: { Interface: { [I1]: { modify: { ofport: 'x' } } } } })).toThrow(OvsdbDatumError);
    expect(() => r.apply({ kind: 'update', format: 2, updates: { Interface: 7 } })).toThrow(OvsdbDatumError);
    expect(() => r.apply({ kind: 'update', format: 2, updates: null })).toThrow(OvsdbDatumError);
    expect(() => r.apply({ kind: 'update', format: 2, updates: { Interface: { [I1]: { bogus: 1 } } } })).toThrow(OvsdbDatumError);
    expect(() =>
      r.apply({ kind: 'initial', format: 2, full: true, method: 'monitor_cond', updates: { Interface: { [I2]: { initial: { name: 42 } } } } }),
    ).toThrow(OvsdbDatumError);
    expect(r.rows('Interface').map((x) => x.name)).toEqual(['vm1']);
  });
});

describe('ReplicaState: RFC 7047 update (monitor)', () => {
  it('applies {new}, {old,new} and {old}', () => {
    const r = fresh();
    let cs = r.apply({ kind: 'initial', format: 1, full: true, method: 'monitor', updates: { Interface: { [I1]: { new: { name: 'vm1', ofport: ['set', []], external_ids: ['map', []] } } } } });
    expect(summary(cs)).toEqual([`insert Interface ${I1}`]);
    cs = r.apply({ kind: 'update', format: 1, updates: { Interface: { [I1]: { old: { ofport: ['set', []] }, new: { name: 'vm1', ofport: 4, external_ids: ['map', []] } } } } });
    expect(cs[0]).toMatchObject({ type: 'modify', old: { ofport: undefined }, new: { ofport: 4 } });
    cs = r.apply({ kind: 'update', format: 1, updates: { Interface: { [I1]: { old: { name: 'vm1', ofport: 4, external_ids: ['map', []] } } } } });
    expect(summary(cs)).toEqual([`delete Interface ${I1}`]);
  });
});
