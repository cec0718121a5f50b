import { describe, expect, it } from 'vitest';
import type { FlowModBody, GroupModBody, Instruction, Match } from '../../src/openflow/types.js';
import { FakeOFTable, FakeTableError } from '../support/fake-oftable.js';

function fm(command: FlowModBody['command'], tableId: number, priority: number, match: Match, instructions: Instruction[] = [], extra: Partial<FlowModBody> = {}): { type: 'flow_mod' } & FlowModBody {
  return {
    type: 'flow_mod',
    command,
    tableId,
    priority,
    cookie: 0n,
    cookieMask: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: {},
    bufferId: 0xffffffff,
    outPort: 'any',
    outGroup: 0xffffffff,
    match,
    instructions,
    ...extra,
  };
}
const out = (port: number): Instruction => ({ type: 'apply_actions', actions: [{ type: 'output', port }] });
const gm = (command: GroupModBody['command'], groupId: number, buckets: number[][]): { type: 'group_mod' } & GroupModBody => ({
  type: 'group_mod',
  command,
  groupId,
  groupType: 'all',
  buckets: buckets.map((ports) => ({ weight: 0, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: ports.map((port) => ({ type: 'output' as const, port })) })),
});

describe('FakeOFTable', () => {
  it('picks the highest priority match, honours masks, misses drop', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: { value: '10.0.0.0', mask: '255.0.0.0' } }, [out(1)]),
      fm('add', 0, 20, { eth_type: 0x0800, ipv4_dst: '10.1.2.3' }, [out(2)]),
    ]);
    expect(t.isOutput({ in_port: 9, eth_type: 0x0800, ipv4_dst: '10.1.2.3' }, 2)).toBe(true);
    expect(t.isOutput({ in_port: 9, eth_type: 0x0800, ipv4_dst: '10.1.2.4' }, 1)).toBe(true);
    expect(t.walk({ in_port: 9, eth_type: 0x0800, ipv4_dst: '11.0.0.1' }).outputs).toEqual([]);
    expect(t.walk({ in_port: 9, eth_type: 0x0806 }).outputs).toEqual([]);
  });

  it('add replaces an identical match+priority; re-applying changes nothing', () => {
    const t = new FakeOFTable();
    const msgs = [fm('add', 0, 10, { in_port: 1 }, [out(2)]), fm('add', 0, 10, { in_port: 1 }, [out(3)])];
    t.apply(msgs);
    expect(t.flowCount).toBe(1);
    expect(t.isOutput({ in_port: 1 }, 3)).toBe(true);
    const d = t.dump();
    t.apply(msgs);
    expect(t.dump()).toBe(d);
  });

  it('modify_strict changes instructions but not the cookie, and adds nothing', () => {
    const t = new FakeOFTable();
    t.apply([fm('add', 0, 10, { in_port: 1 }, [out(2)], { cookie: 5n })]);
    t.apply([fm('modify_strict', 0, 10, { in_port: 1 }, [out(3)], { cookie: 6n })]);
    expect(t.flowsIn(0)[0].cookie).toBe(5n);
    expect(t.isOutput({ in_port: 1 }, 3)).toBe(true);
    t.apply([fm('modify_strict', 0, 11, { in_port: 1 }, [out(4)])]);
    expect(t.flowCount).toBe(1);
  });

  it('non-strict modify/delete cover more specific entries; cookie masks filter', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 10, { metadata: 1n, reg15: 1 }, [out(1)], { cookie: 0x0300000001n }),
      fm('add', 0, 10, { metadata: 1n, reg15: 2 }, [out(2)], { cookie: 0x0300000002n }),
      fm('add', 0, 5, { metadata: 2n }, [out(3)], { cookie: 0x0300000002n }),
    ]);
    t.apply([fm('modify', 0, 0, { metadata: 1n }, [out(9)])]);
    expect(t.isOutput({ in_port: 7, metadata: 1n, reg15: 2 }, 9)).toBe(true);
    t.apply([fm('delete', 0xff, 0, {}, [], { cookie: 0x0300000002n, cookieMask: 0xffffffffffn })]);
    expect(t.flowCount).toBe(1);
    t.apply([fm('delete_strict', 0, 11, { metadata: 1n, reg15: 1 })]);
    expect(t.flowCount).toBe(1);
    t.apply([fm('delete_strict', 0, 10, { metadata: 1n, reg15: 1 })]);
    expect(t.flowCount).toBe(0);
  });

  it('delete filters on out_port', () => {
    const t = new FakeOFTable();
    t.apply([fm('add', 0, 10, { in_port: 1 }, [out(2)]), fm('add', 0, 10, { in_port: 3 }, [out(4)])]);
    t.apply([fm('delete', 0, 0, {}, [], { outPort: 4 })]);
    expect(t.flowCount).toBe(1);
    expect(t.isOutput({ in_port: 1 }, 2)).toBe(true);
  });

  it('rejects missing prerequisites, backward gotos and unknown groups', () => {
    const t = new FakeOFTable();
    expect(() => t.apply([fm('add', 0, 1, { ipv4_src: '1.2.3.4' })])).toThrowError(FakeTableError);
    expect(() => t.apply([fm('add', 0, 1, { eth_type: 0x0800, udp_src: 67 })])).toThrowError(
      expect.objectContaining({ code: 'prereq' }),
    );
    expect(() => t.apply([fm('add', 2, 1, {}, [{ type: 'goto_table', tableId: 1 }])])).toThrowError(
      expect.objectContaining({ code: 'bad_goto' }),
    );
    expect(() => t.apply([fm('add', 0, 1, {}, [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 7 }] }])])).toThrowError(
      expect.objectContaining({ code: 'unknown_group' }),
    );
  });

  it('groups: all buckets on clones, output to in_port dropped, delete removes the flows using it', () => {
    const t = new FakeOFTable();
    t.apply([
      gm('add', 7, [[1], [2], [3]]),
      fm('add', 0, 1, {}, [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 7 }] }]),
    ]);
    expect(t.walk({ in_port: 2 }).outputs.map((o) => o.port)).toEqual([1, 3]);
    expect(() => t.apply([gm('add', 7, [])])).toThrowError(expect.objectContaining({ code: 'group_exists' }));
    t.apply([gm('modify', 7, [[4]])]);
    expect(t.walk({ in_port: 2 }).outputs.map((o) => o.port)).toEqual([4]);
    t.apply([gm('delete', 7, [])]);
    expect(t.flowCount).toBe(0);
    expect(t.hasGroup(7)).toBe(false);
  });

  it('goto_table, write_metadata, set_field, move, load, resubmit, dec_ttl, controller2', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 1, { in_port: 1 }, [
        { type: 'goto_table', tableId: 2 },
        { type: 'write_metadata', metadata: 0x5n, mask: 0xffn },
        {
          type: 'apply_actions',
          actions: [
            { type: 'set_field', field: 'reg15', value: 9 },
            { type: 'move', src: { field: 'eth_src', ofs: 0, nbits: 48 }, dst: { field: 'eth_dst', ofs: 0, nbits: 48 } },
            { type: 'load', dst: { field: 'reg14', ofs: 16, nbits: 8 }, value: 0xabn },
            { type: 'dec_ttl' },
          ],
        },
      ]),
      fm('add', 2, 1, { metadata: 5n, reg15: 9 }, [
        { type: 'apply_actions', actions: [{ type: 'resubmit', table: 3 }, { type: 'output', port: 8 }] },
      ]),
      fm('add', 3, 1, {}, [
        { type: 'apply_actions', actions: [{ type: 'set_field', field: 'eth_src', value: '02:00:00:00:00:03' }, { type: 'controller2', maxLen: 100, userdata: Buffer.from([1]) }] },
      ]),
    ]);
    const r = t.walk({ in_port: 1, eth_src: '02:00:00:00:00:01', eth_dst: '02:00:00:00:00:02', eth_type: 0x0800, nw_ttl: 5 });
    expect(r.trace.map((h) => h.tableId)).toEqual([0, 2, 3]);
    expect(r.outputs.map((o) => o.port)).toEqual(['controller', 8]);
    const o = r.outputs[1].packet;
    expect(o).toMatchObject({ eth_dst: '02:00:00:00:00:01', eth_src: '02:00:00:00:00:03', reg14: 0xab0000, nw_ttl: 4, metadata: 5n });
    expect(r.outputs[0].userdata).toEqual(Buffer.from([1]));
    // TTL expiry drops
    expect(t.walk({ in_port: 1, eth_src: '02:00:00:00:00:01', eth_type: 0x0800, nw_ttl: 1 }).outputs).toEqual([]);
  });

  it('meters: flows need the meter, outputs record it, deleting the meter removes its flows', () => {
    const t = new FakeOFTable();
    const metered = fm('add', 0, 10, { eth_type: 0x0800 }, [{ type: 'meter', meterId: 3 }, out(1)]);
    expect(() => t.apply([metered])).toThrowError(expect.objectContaining({ code: 'unknown_meter' }));
    const meter = { type: 'meter_mod' as const, command: 'add' as const, meterId: 3, flags: { pktps: true }, bands: [{ type: 'drop' as const, rate: 10, burstSize: 1 }] };
    t.apply([meter, metered]);
    expect(t.hasMeter(3)).toBe(true);
    expect(() => t.apply([meter])).toThrowError(expect.objectContaining({ code: 'meter_exists' }));
    expect(t.walk({ in_port: 9, eth_type: 0x0800 }).outputs).toEqual([expect.objectContaining({ port: 1, meters: [3] })]);
    t.apply([{ ...meter, command: 'delete' }]);
    expect(t.flowCount).toBe(0);
  });

  it('reports ambiguous lookups', () => {
    const t = new FakeOFTable();
    t.apply([fm('add', 0, 5, { in_port: 1 }, [out(2)]), fm('add', 0, 5, { reg14: 0 }, [out(3)])]);
    expect(t.walk({ in_port: 1 }).ambiguous).toHaveLength(1);
  });
});
