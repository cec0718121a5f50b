import { describe, expect, it } from 'vitest';
import { CT_STATE, type Action, type FlowModBody, type GroupModBody, type Instruction, type Match, type NatSpec } from '../../src/openflow/types.js';
import { ctStateText, FakeOFTable, FakeTableError, TCP_FLAGS, type IcmpInnerPacket, type PacketFields } from '../support/fake-oftable.js';

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

// ---------------------------------------------------------------------------------------------
// Conntrack and conjunctive matches

const ST = CT_STATE;
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const A = '10.0.0.1';
const B = '10.0.0.2';

/**
 * A stateful firewall in the shape issue 8 needs: table 0 sends IP through ct(zone=reg12[0..15])
 * to table 1; table 1 outputs est/rel to port 9 (with the ct fields in reg0/reg1), commits and
 * outputs allowed new connections (tcp/22, udp, icmp echo) with ct_mark 0x5, drops the rest.
 */
function firewall(): FakeOFTable {
  const t = new FakeOFTable();
  const zone = { field: 'reg12' as const, ofs: 0, nbits: 16 };
  const keep: Action[] = [
    { type: 'move', src: { field: 'ct_state', ofs: 0, nbits: 8 }, dst: { field: 'reg0', ofs: 0, nbits: 8 } },
    { type: 'move', src: { field: 'ct_mark', ofs: 0, nbits: 32 }, dst: { field: 'reg1', ofs: 0, nbits: 32 } },
  ];
  const commit: Action = { type: 'ct', commit: true, zone, actions: [{ type: 'set_field', field: 'ct_mark', value: 5 }] };
  t.apply([
    fm('add', 0, 10, { eth_type: 0x0800 }, [apply({ type: 'ct', zone, table: 1 })]),
    fm('add', 1, 100, { ct_state: { value: ST.trk | ST.inv, mask: ST.trk | ST.inv } }, [apply({ type: 'output', port: 99 })]),
    fm('add', 1, 90, { ct_state: { value: ST.trk | ST.est, mask: ST.trk | ST.est | ST.inv } }, [apply(...keep, { type: 'output', port: 9 })]),
    fm('add', 1, 90, { ct_state: { value: ST.trk | ST.rel, mask: ST.trk | ST.rel | ST.inv } }, [apply(...keep, { type: 'output', port: 8 })]),
    fm('add', 1, 50, { ct_state: { value: ST.trk | ST.new, mask: ST.trk | ST.new }, eth_type: 0x0800, ip_proto: 6, tcp_dst: 22 }, [apply(...keep, commit, { type: 'output', port: 2 })]),
    fm('add', 1, 50, { ct_state: { value: ST.trk | ST.new, mask: ST.trk | ST.new }, eth_type: 0x0800, ip_proto: 17 }, [apply(...keep, commit, { type: 'output', port: 2 })]),
    fm('add', 1, 50, { ct_state: { value: ST.trk | ST.new, mask: ST.trk | ST.new }, eth_type: 0x0800, ip_proto: 1, icmpv4_type: 8 }, [apply(...keep, commit, { type: 'output', port: 2 })]),
    // new but not allowed: seen (port 7) without commit
    fm('add', 1, 10, { ct_state: { value: ST.trk | ST.new, mask: ST.trk | ST.new } }, [apply(...keep, { type: 'output', port: 7 })]),
  ]);
  return t;
}
const tcp = (src: string, dst: string, sport: number, dport: number, flags: number, zone = 1): PacketFields => ({
  in_port: 1, reg12: zone, eth_type: 0x0800, ipv4_src: src, ipv4_dst: dst, ip_proto: 6, tcp_src: sport, tcp_dst: dport, tcp_flags: flags,
});
const udp = (src: string, dst: string, sport: number, dport: number, zone = 1): PacketFields => ({
  in_port: 1, reg12: zone, eth_type: 0x0800, ipv4_src: src, ipv4_dst: dst, ip_proto: 17, udp_src: sport, udp_dst: dport,
});
/** Where the packet went and the ct_state the firewall saw (reg0). */
function verdict(t: FakeOFTable, p: PacketFields): { port?: unknown; state: string } {
  const o = t.walk(p).outputs;
  expect(o.length).toBeLessThanOrEqual(1);
  return { port: o[0]?.port, state: ctStateText(o[0]?.packet.reg0 ?? 0) };
}
const { syn, ack, fin, rst } = TCP_FLAGS;

describe('FakeOFTable conntrack', () => {
  it('tcp: SYN is +new and committed, SYN-ACK is +est+rpl, later segments +est; the walk shows the recirculation', () => {
    const t = firewall();
    const r = t.walk(tcp(A, B, 40000, 22, syn));
    expect(r.outputs.map((o) => o.port)).toEqual([2]);
    expect(r.trace.map((h) => [h.tableId, h.pass ?? 0])).toEqual([[0, 0], [0, 0], [1, 1], [1, 1], [1, 1]]);
    expect(r.trace.some((h) => h.note?.includes('recirculates to table 1'))).toBe(true);
    expect(r.trace.some((h) => h.note?.startsWith('recirculation 1: ct_state=+new+trk'))).toBe(true);
    expect(t.ctEntries(1)).toHaveLength(1);
    expect(verdict(t, tcp(B, A, 22, 40000, syn | ack))).toEqual({ port: 9, state: '+est+rpl+trk' });
    expect(verdict(t, tcp(A, B, 40000, 22, ack))).toEqual({ port: 9, state: '+est+trk' });
    // The packet that left is untracked again (ct fields exist only in the recirculated pass)...
    expect(t.walk(tcp(A, B, 40000, 22, ack)).outputs[0].packet.ct_state).toBe(0x22);
  });

  it('a repeated SYN before the answer is still +new; an uncommitted connection stays +new', () => {
    const t = firewall();
    expect(verdict(t, tcp(A, B, 40000, 22, syn)).state).toBe('+new+trk');
    expect(verdict(t, tcp(A, B, 40000, 22, syn))).toEqual({ port: 2, state: '+new+trk' });
    // tcp/80 is not allowed: never committed, every packet +new, the reply (SYN-ACK) is invalid
    expect(verdict(t, tcp(A, B, 40001, 80, syn))).toEqual({ port: 7, state: '+new+trk' });
    expect(verdict(t, tcp(A, B, 40001, 80, syn))).toEqual({ port: 7, state: '+new+trk' });
    expect(verdict(t, tcp(B, A, 80, 40001, syn | ack)).port).toBe(99);
    expect(t.ctEntries()).toHaveLength(1);
  });

  it('udp: +new until the reply, then +est both ways; zones isolate', () => {
    const t = firewall();
    expect(verdict(t, udp(A, B, 5000, 53))).toEqual({ port: 2, state: '+new+trk' });
    expect(verdict(t, udp(A, B, 5000, 53))).toEqual({ port: 2, state: '+new+trk' });
    expect(verdict(t, udp(B, A, 53, 5000, 2))).toEqual({ port: 2, state: '+new+trk' }); // zone 2: a new connection
    expect(verdict(t, udp(B, A, 53, 5000))).toEqual({ port: 9, state: '+est+rpl+trk' });
    expect(verdict(t, udp(A, B, 5000, 53))).toEqual({ port: 9, state: '+est+trk' });
    expect(t.ctEntries(1)).toHaveLength(1);
    expect(t.ctEntries(2)).toHaveLength(1);
  });

  it('ct_mark set on commit is seen by later packets and by the committing pass', () => {
    const t = firewall();
    const first = t.walk(udp(A, B, 5000, 53)).outputs[0].packet;
    expect(first.reg1).toBe(0); // moved before the commit
    expect(t.ctEntries(1)[0].mark).toBe(5);
    expect(t.walk(udp(B, A, 53, 5000)).outputs[0].packet.reg1).toBe(5);
  });

  it('icmp: echo request/reply are one connection; an unsolicited reply is invalid', () => {
    const t = firewall();
    const echo = (src: string, dst: string, type: number): PacketFields => ({
      in_port: 1, reg12: 1, eth_type: 0x0800, ipv4_src: src, ipv4_dst: dst, ip_proto: 1, icmpv4_type: type, icmpv4_code: 0,
    });
    expect(verdict(t, echo(B, A, 0)).port).toBe(99);
    expect(verdict(t, echo(A, B, 8))).toEqual({ port: 2, state: '+new+trk' });
    expect(verdict(t, echo(B, A, 0))).toEqual({ port: 9, state: '+est+rpl+trk' });
  });

  it('an ICMP error about a committed connection is +rel (+rpl towards the originator); otherwise +inv', () => {
    const t = firewall();
    t.walk(udp(A, B, 5000, 53));
    const unreachable = (inner: Partial<IcmpInnerPacket>, dst = A, zone = 1): PacketFields => ({
      in_port: 1, reg12: zone, eth_type: 0x0800, ipv4_src: '10.0.0.254', ipv4_dst: dst, ip_proto: 1, icmpv4_type: 3, icmpv4_code: 3,
      icmp_inner: { ipv4_src: A, ipv4_dst: B, ip_proto: 17, udp_src: 5000, udp_dst: 53, ...inner },
    });
    expect(verdict(t, unreachable({}))).toEqual({ port: 8, state: '+rel+rpl+trk' });
    expect(verdict(t, unreachable({ udp_dst: 54 })).port).toBe(99); // no such connection
    expect(verdict(t, unreachable({}, B)).port).toBe(99); // not sent to the embedded packet's source
    expect(verdict(t, unreachable({}, A, 2)).port).toBe(99); // another zone
    expect(verdict(t, { ...unreachable({}), icmp_inner: undefined }).port).toBe(99);
    expect(verdict(t, { ...unreachable({}), icmpv4_type: 11, icmpv4_code: 0 })).toEqual({ port: 8, state: '+rel+rpl+trk' });
  });

  it('+inv: bad TCP flags, SYN-ACK without a connection, non-IP; a bare ACK is picked up as +new (as OVS does)', () => {
    const t = firewall();
    expect(verdict(t, tcp(A, B, 1, 22, 0)).port).toBe(99);
    expect(verdict(t, tcp(A, B, 1, 22, syn | fin)).port).toBe(99);
    expect(verdict(t, tcp(A, B, 1, 22, fin)).port).toBe(99);
    expect(verdict(t, tcp(B, A, 22, 1, syn | ack)).port).toBe(99);
    expect(verdict(t, tcp(A, B, 1, 22, ack))).toEqual({ port: 2, state: '+new+trk' });
    const t2 = new FakeOFTable();
    t2.apply([fm('add', 0, 1, {}, [apply({ type: 'ct', zone: 3, table: 1 })]), fm('add', 1, 1, { ct_state: { value: ST.inv, mask: ST.inv }, ct_zone: 3 }, [out(99)])]);
    expect(t2.isOutput({ in_port: 1, eth_type: 0x0806 }, 99)).toBe(true);
  });

  it('after RST (or FIN both ways) a new SYN starts a fresh connection', () => {
    const t = firewall();
    t.walk(tcp(A, B, 40000, 22, syn));
    t.walk(tcp(B, A, 22, 40000, syn | ack));
    expect(verdict(t, tcp(A, B, 40000, 22, rst | ack)).state).toBe('+est+trk');
    expect(verdict(t, tcp(A, B, 40000, 22, syn))).toEqual({ port: 2, state: '+new+trk' });
    expect(verdict(t, tcp(B, A, 22, 40000, syn | ack)).state).toBe('+est+rpl+trk');
  });

  it('ct without table: the action list goes on untracked; commit still creates the entry', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 1, { eth_type: 0x0800 }, [
        apply({ type: 'set_field', field: 'ct_mark', value: 7 }, { type: 'ct', commit: true, zone: 4, actions: [{ type: 'load', dst: { field: 'ct_label', ofs: 64, nbits: 8 }, value: 0xabn }] }, { type: 'output', port: 2 }),
      ]),
    ]);
    const r = t.walk(udp(A, B, 1, 2));
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].packet.ct_mark).toBeUndefined();
    expect(t.ctEntries(4)).toEqual([expect.objectContaining({ zone: 4, label: 0xabn << 64n, mark: 0 })]);
  });

  it('ct_clear resets the ct fields; flushes remove entries by zone or all', () => {
    const t = firewall();
    t.apply([fm('add', 2, 1, {}, [apply({ type: 'ct_clear' }, { type: 'output', port: 3 })])]);
    t.apply([fm('add', 1, 95, { ct_state: { value: ST.trk | ST.est, mask: ST.trk | ST.est }, ip_proto: 17, eth_type: 0x0800 }, [apply({ type: 'output', port: 9 }, { type: 'resubmit', table: 2 })])]);
    t.walk(udp(A, B, 5000, 53));
    t.walk(udp(A, B, 5000, 53, 2));
    const outs = t.walk(udp(B, A, 53, 5000)).outputs;
    expect(outs.map((o) => [o.port, o.packet.ct_state])).toEqual([[9, ST.trk | ST.est | ST.rpl], [3, undefined]]);
    expect(t.flushConntrackZone(1)).toBe(1);
    expect(verdict(t, udp(B, A, 53, 5000)).state).toBe('+new+trk');
    expect(t.ctEntries()).toHaveLength(2); // the reply above was committed as a new connection in zone 1
    expect(t.flushConntrack()).toBe(2);
    expect(t.ctEntries()).toEqual([]);
  });

  it('ipv6: udp and sctp by ports, icmpv6 echo pairs, packet-too-big is related, neighbour discovery is not trackable', () => {
    const t = new FakeOFTable();
    const X = 'fd00::1';
    const Y = 'fd00::2';
    t.apply([
      fm('add', 0, 1, { eth_type: 0x86dd }, [apply({ type: 'ct', zone: 9, table: 1 })]),
      ...[0x21, 0x22, 0x2a, 0x2c, 0x30].map((s) => fm('add', 1, 10, { ct_state: { value: s, mask: 0x3f } }, [out(0x100 | s)])),
      fm('add', 1, 20, { ct_state: { value: 0x21, mask: 0x3f }, eth_type: 0x86dd, ip_proto: 17 }, [apply({ type: 'ct', commit: true, zone: 9 }, { type: 'output', port: 0x121 })]),
      fm('add', 1, 20, { ct_state: { value: 0x21, mask: 0x3f }, eth_type: 0x86dd, ip_proto: 132 }, [apply({ type: 'ct', commit: true, zone: 9 }, { type: 'output', port: 0x121 })]),
      fm('add', 1, 20, { ct_state: { value: 0x21, mask: 0x3f }, eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 128 }, [apply({ type: 'ct', commit: true, zone: 9 }, { type: 'output', port: 0x121 })]),
    ]);
    const v6 = (src: string, dst: string, rest: PacketFields): PacketFields => ({ in_port: 1, eth_type: 0x86dd, ipv6_src: src, ipv6_dst: dst, ...rest });
    const port = (p: PacketFields): unknown => t.walk(p).outputs[0]?.port;
    expect(port(v6(X, Y, { ip_proto: 17, udp_src: 1, udp_dst: 2 }))).toBe(0x121);
    expect(port(v6(Y, X, { ip_proto: 17, udp_src: 2, udp_dst: 1 }))).toBe(0x12a);
    expect(port(v6(X, Y, { ip_proto: 132, sctp_src: 7, sctp_dst: 8 }))).toBe(0x121);
    expect(port(v6(Y, X, { ip_proto: 132, sctp_src: 8, sctp_dst: 9 }))).toBe(0x121); // another association
    expect(port(v6(Y, X, { ip_proto: 132, sctp_src: 8, sctp_dst: 7 }))).toBe(0x12a);
    expect(port(v6(X, Y, { ip_proto: 58, icmpv6_type: 128, icmpv6_code: 0 }))).toBe(0x121);
    expect(port(v6(Y, X, { ip_proto: 58, icmpv6_type: 129, icmpv6_code: 0 }))).toBe(0x12a);
    const tooBig = v6('fd00::fe', 'fd00:0:0::1', {
      ip_proto: 58, icmpv6_type: 2, icmpv6_code: 0, icmp_inner: { ipv6_src: X, ipv6_dst: Y, ip_proto: 17, udp_src: 1, udp_dst: 2 },
    });
    expect(port(tooBig)).toBe(0x12c);
    expect(port(v6(X, 'ff02::1:ff00:2', { ip_proto: 58, icmpv6_type: 135, icmpv6_code: 0, nd_target: Y }))).toBe(0x130);
  });

  it('rejects ct with nested actions but no commit, nested actions other than ct_mark/ct_label, alg, and nat OVS or the model refuse', () => {
    const t = new FakeOFTable();
    const add = (a: Action, match: Match = { eth_type: 0x0800 }): void => t.apply([fm('add', 0, 1, match, [apply(a)])]);
    const code = (c: string) => expect.objectContaining({ code: c }) as Error;
    expect(() => add({ type: 'ct', zone: 1, actions: [{ type: 'set_field', field: 'ct_mark', value: 1 }] })).toThrowError(code('bad_ct'));
    expect(() => add({ type: 'ct', commit: true, actions: [{ type: 'output', port: 1 }] })).toThrowError(code('bad_ct'));
    expect(() => add({ type: 'ct', commit: true, alg: 21, table: 1 })).toThrowError(code('unsupported'));
    const snat = (nat: Omit<NatSpec, 'kind'>): Action => ({ type: 'ct', commit: true, table: 1, nat: { kind: 'src', ...nat } });
    expect(() => add({ type: 'ct', commit: true, nat: { kind: 'src', ipv4Min: '1.1.1.1' } })).toThrowError(code('unsupported')); // no table
    expect(() => add(snat({ ipv4Min: '1.1.1.2', ipv4Max: '1.1.1.1' }))).toThrowError(code('bad_ct'));
    expect(() => add(snat({ ipv4Max: '1.1.1.1' }))).toThrowError(code('bad_ct'));
    expect(() => add(snat({ portMin: 1000 }))).toThrowError(code('bad_ct'));
    expect(() => add(snat({ ipv4Min: '1.1.1.1', portMin: 2000, portMax: 1000 }))).toThrowError(code('bad_ct'));
    expect(() => add(snat({ ipv4Min: '1.1.1.1', hash: true, random: true }))).toThrowError(code('bad_ct'));
    expect(() => add(snat({ ipv4Min: '1.1.1.1' }), {})).toThrowError(code('prereq'));
    expect(() => add(snat({ ipv6Min: 'fd00::1' }))).toThrowError(code('prereq'));
    expect(t.flowCount).toBe(0);
    add(snat({ ipv4Min: '1.1.1.1', ipv4Max: '1.1.1.9', portMin: 1000, portMax: 2000 }));
    add({ type: 'ct', zone: 2, table: 1, nat: {} }, { eth_type: 0x86dd });
    expect(t.flowCount).toBe(2);
  });
});

describe('FakeOFTable conjunctive matches', () => {
  const conj = (id: number, clause: number, nClauses: number): Action => ({ type: 'conjunction', id, clause, nClauses });
  const ip = (src: string, dst: string, extra: PacketFields = {}): PacketFields => ({ in_port: 1, eth_type: 0x0800, ipv4_src: src, ipv4_dst: dst, ...extra });

  it('two clauses: completes only when both match, then looks up conj_id', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_src: '10.0.0.1' }, [apply(conj(7, 1, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_src: '10.0.0.4' }, [apply(conj(7, 1, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: '10.0.0.2' }, [apply(conj(7, 2, 2))]),
      fm('add', 0, 10, { conj_id: 7 }, [out(5)]),
      fm('add', 0, 1, {}, [out(6)]),
    ]);
    expect(t.walk(ip('10.0.0.4', '10.0.0.2')).outputs.map((o) => o.port)).toEqual([5]);
    expect(t.walk(ip('10.0.0.4', '10.0.0.2')).trace[0]).toMatchObject({ tableId: 0, priority: 10, conjId: 7 });
    expect(t.walk(ip('10.0.0.1', '10.0.0.3')).outputs.map((o) => o.port)).toEqual([6]);
    expect(t.walk(ip('10.0.0.9', '10.0.0.2')).outputs.map((o) => o.port)).toEqual([6]);
    // the conj_id is not visible after the lookup
    expect(t.walk(ip('10.0.0.4', '10.0.0.2')).outputs[0].packet.conj_id).toBeUndefined();
  });

  it('three clauses; partial matches do not complete', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 20, { eth_type: 0x0800, ipv4_src: { value: '10.0.0.0', mask: '255.255.255.0' } }, [apply(conj(3, 1, 3))]),
      fm('add', 0, 20, { eth_type: 0x0800, ipv4_dst: '10.0.1.1' }, [apply(conj(3, 2, 3))]),
      fm('add', 0, 20, { eth_type: 0x0800, ip_proto: 6, tcp_dst: 22 }, [apply(conj(3, 3, 3))]),
      fm('add', 0, 20, { eth_type: 0x0800, ip_proto: 6, tcp_dst: { value: 0x1000, mask: 0xf000 } }, [apply(conj(3, 3, 3))]),
      fm('add', 0, 20, { conj_id: 3 }, [out(5)]),
    ]);
    const hit = (src: string, dst: string, port: number): boolean => t.isOutput(ip(src, dst, { ip_proto: 6, tcp_dst: port }), 5);
    expect(hit('10.0.0.7', '10.0.1.1', 22)).toBe(true);
    expect(hit('10.0.0.7', '10.0.1.1', 0x1234)).toBe(true);
    expect(hit('10.0.0.7', '10.0.1.1', 80)).toBe(false);
    expect(hit('10.0.9.7', '10.0.1.1', 22)).toBe(false);
    expect(hit('10.0.0.7', '10.0.1.2', 22)).toBe(false);
  });

  it('priority: an ordinary flow at the same or higher priority wins; a lower one loses; no conj_id flow falls back', () => {
    const base = [
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_src: A }, [apply(conj(1, 1, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: B }, [apply(conj(1, 2, 2))]),
    ];
    const withHard = (pri: number, conjFlow = true): FakeOFTable => {
      const t = new FakeOFTable();
      t.apply([...base, fm('add', 0, pri, { eth_type: 0x0800, ipv4_src: A }, [out(6)])]);
      // The second lookup is an ordinary one: the conj_id flow must outrank the ordinary flow there too.
      if (conjFlow) t.apply([fm('add', 0, 10, { conj_id: 1 }, [out(5)])]);
      return t;
    };
    expect(withHard(9).walk(ip(A, B)).outputs.map((o) => o.port)).toEqual([5]);
    expect(withHard(10).walk(ip(A, B)).outputs.map((o) => o.port)).toEqual([6]);
    expect(withHard(11).walk(ip(A, B)).outputs.map((o) => o.port)).toEqual([6]);
    expect(withHard(9, false).walk(ip(A, B)).outputs.map((o) => o.port)).toEqual([6]);
  });

  it('second lookup is an ordinary lookup: a higher-priority ordinary flow matching conj_id wildcarded still wins there', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_src: A }, [apply(conj(1, 1, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: B }, [apply(conj(1, 2, 2))]),
      fm('add', 0, 5, { conj_id: 1 }, [out(5)]),
      fm('add', 0, 8, { eth_type: 0x0800, ip_proto: 17 }, [out(6)]),
    ]);
    expect(t.walk(ip(A, B)).outputs.map((o) => o.port)).toEqual([5]);
    expect(t.walk(ip(A, B, { ip_proto: 17 })).outputs.map((o) => o.port)).toEqual([6]);
  });

  it('several conjunction actions on one flow; the lowest complete id wins at one priority; lower priorities are tried next', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_src: A }, [apply(conj(2, 1, 2), conj(1, 1, 2), { type: 'note', data: Buffer.from('x') })]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: B }, [apply(conj(1, 2, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: '10.0.0.3' }, [apply(conj(2, 2, 2))]),
      fm('add', 0, 10, { eth_type: 0x0800, ipv4_dst: { value: '10.0.0.0', mask: '255.255.255.0' } }, [apply(conj(2, 2, 2))]),
      fm('add', 0, 5, { eth_type: 0x0800, ipv4_src: A }, [apply(conj(9, 1, 2))]),
      fm('add', 0, 5, { eth_type: 0x0800, ipv4_dst: '10.0.0.4' }, [apply(conj(9, 2, 2))]),
      fm('add', 0, 1, { conj_id: 1 }, [out(1)]),
      fm('add', 0, 1, { conj_id: 2 }, [out(2)]),
      fm('add', 0, 1, { conj_id: 9 }, [out(9)]),
    ]);
    const ports = (dst: string): unknown[] => t.walk({ ...ip(A, dst), in_port: 100 }).outputs.map((o) => o.port);
    expect(ports(B)).toEqual([1]); // 1 and 2 both complete: lowest id
    expect(ports('10.0.0.3')).toEqual([2]);
    expect(ports('10.0.0.4')).toEqual([2]); // 2 completes at priority 10 before 9 at 5
    t.apply([fm('delete_strict', 0, 1, { conj_id: 2 })]);
    expect(ports('10.0.0.4')).toEqual([9]); // no conj_id=2 flow: falls back to priority 5
  });

  it('as in OVS, an ordinary flow hidden behind a clause flow of identical match is skipped by the conj_id lookup (checked against ovs-vswitchd)', () => {
    const t = new FakeOFTable();
    t.apply([
      fm('add', 0, 30, { eth_type: 0x0800, ipv4_src: '10.0.0.9' }, [apply(conj(3, 1, 2))]),
      fm('add', 0, 30, { eth_type: 0x0800, ipv4_dst: B }, [apply(conj(3, 2, 2))]),
      fm('add', 0, 15, { eth_type: 0x0800, ipv4_dst: B }, [out(4)]),
      fm('add', 0, 1, {}, [out(5)]),
    ]);
    // conjunction 3 completes, has no conj_id flow; the second lookup sees the priority-30 clause
    // flow (not the priority-15 flow of the same match behind it) and finds only the catch-all.
    expect(t.walk(ip('10.0.0.9', B)).outputs.map((o) => o.port)).toEqual([5]);
    // Without the completed conjunction the fallback reaches the hidden flow.
    expect(t.walk(ip('10.0.0.8', B)).outputs.map((o) => o.port)).toEqual([4]);
  });

  it('validates like OVS', () => {
    const t = new FakeOFTable();
    const add = (ins: Instruction[]): void => t.apply([fm('add', 0, 1, { eth_type: 0x0800 }, ins)]);
    const bad = expect.objectContaining({ code: 'bad_conjunction' });
    expect(() => add([apply(conj(1, 1, 2), { type: 'output', port: 1 })])).toThrowError(bad);
    expect(() => add([apply(conj(1, 1, 2)), { type: 'goto_table', tableId: 1 }])).toThrowError(bad);
    expect(() => add([apply(conj(1, 1, 1))])).toThrowError(bad);
    expect(() => add([apply(conj(1, 1, 65))])).toThrowError(bad);
    expect(() => add([apply(conj(1, 0, 2))])).toThrowError(bad);
    expect(() => add([apply(conj(1, 3, 2))])).toThrowError(bad);
    expect(t.flowCount).toBe(0);
    add([apply(conj(1, 1, 2), conj(2, 2, 64), { type: 'note', data: Buffer.alloc(6) })]);
    expect(t.flowCount).toBe(1);
  });
});
