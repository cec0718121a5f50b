import { describe, expect, it } from 'vitest';
import type { Action, FlowModBody, Instruction, Match, NatSpec } from '../../src/openflow/types.js';
import { FakeConntrack, type CtPacketView } from '../support/fake-conntrack.js';
import { ctStateText, FakeOFTable, TCP_FLAGS, type OutputRecord, type PacketFields } from '../support/fake-oftable.js';

function fm(tableId: number, priority: number, match: Match, instructions: Instruction[]): { type: 'flow_mod' } & FlowModBody {
  return {
    type: 'flow_mod', command: 'add', tableId, priority, cookie: 0n, cookieMask: 0n, idleTimeout: 0, hardTimeout: 0, flags: {},
    bufferId: 0xffffffff, outPort: 'any', outGroup: 0xffffffff, match, instructions,
  };
}
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const gotoT = (tableId: number): Instruction => ({ type: 'goto_table', tableId });
const keepState = (reg: 'reg1' | 'reg2' | 'reg3' | 'reg4'): Action => ({ type: 'move', src: { field: 'ct_state', ofs: 0, nbits: 8 }, dst: { field: reg, ofs: 0, nbits: 8 } });
const { syn, ack } = TCP_FLAGS;

// A router with one inside network (port 1) and one external network (port 2), OVS-style NAT:
// SNAT zone S, DNAT zone D. V has the floating IP F; the other inside hosts go out as G.
const S = 11;
const D = 12;
const V = '10.0.0.5';
const W = '10.0.0.6';
const U = '10.0.0.7';
const F = '172.24.4.10';
const G = '172.24.4.2';
const X = '203.0.113.9';
const INSIDE = 1;
const OUTSIDE = 2;
const IP = { eth_type: 0x0800 } as const;

/**
 * Ingress (from outside, or a packet to one of the router's own external addresses):
 *   t10 un-SNAT  ct(zone=S,nat,table=11)
 *   t11 DNAT     to F: ct(commit,zone=D,nat(dst=V),table=12); else ct(zone=D,nat,table=12)   reg1 = S state
 *   t12 route    to the inside network: out port 1 (in_port if it came from there)           reg2 = D state
 * Egress (from inside):
 *   t20 un-DNAT  ct(zone=D,nat,table=21)
 *   t21 SNAT     from V: ct(commit,zone=S,nat(src=F),table=22); from the subnet: nat(src=G)    reg3 = D state
 *   t22 route    to F or G (hairpin): back to ingress (resubmit t10); else out port 2          reg4 = last state
 */
function router(): FakeOFTable {
  const t = new FakeOFTable();
  const snat = (ip: string): Action => ({ type: 'ct', commit: true, zone: S, nat: { kind: 'src', ipv4Min: ip }, table: 22 });
  t.apply([
    fm(0, 10, { in_port: INSIDE, ...IP }, [gotoT(20)]),
    fm(0, 10, { in_port: OUTSIDE, ...IP }, [gotoT(10)]),
    fm(10, 1, IP, [apply({ type: 'ct', zone: S, nat: {}, table: 11 })]),
    fm(11, 10, { ...IP, ipv4_dst: F }, [apply(keepState('reg1'), { type: 'ct', commit: true, zone: D, nat: { kind: 'dst', ipv4Min: V }, table: 12 })]),
    fm(11, 1, IP, [apply(keepState('reg1'), { type: 'ct', zone: D, nat: {}, table: 12 })]),
    fm(12, 20, { ...IP, in_port: INSIDE, ipv4_dst: { value: '10.0.0.0', mask: '255.255.255.0' } }, [apply(keepState('reg2'), { type: 'output', port: 'in_port' })]),
    fm(12, 10, { ...IP, ipv4_dst: { value: '10.0.0.0', mask: '255.255.255.0' } }, [apply(keepState('reg2'), { type: 'output', port: INSIDE })]),
    fm(20, 1, IP, [apply({ type: 'ct', zone: D, nat: {}, table: 21 })]),
    fm(21, 10, { ...IP, ipv4_src: V }, [apply(keepState('reg3'), snat(F))]),
    fm(21, 5, { ...IP, ipv4_src: { value: '10.0.0.0', mask: '255.255.255.0' } }, [apply(keepState('reg3'), snat(G))]),
    fm(21, 1, IP, [apply(keepState('reg3')), gotoT(22)]),
    fm(22, 10, { ...IP, ipv4_dst: F }, [apply(keepState('reg4'), { type: 'resubmit', table: 10 })]),
    fm(22, 10, { ...IP, ipv4_dst: G }, [apply(keepState('reg4'), { type: 'resubmit', table: 10 })]),
    fm(22, 1, IP, [apply(keepState('reg4'), { type: 'output', port: OUTSIDE })]),
  ]);
  return t;
}

const tcp = (inPort: number, src: string, dst: string, sport: number, dport: number, flags: number): PacketFields => ({
  in_port: inPort, ...IP, ipv4_src: src, ipv4_dst: dst, ip_proto: 6, tcp_src: sport, tcp_dst: dport, tcp_flags: flags,
});
const udp = (inPort: number, src: string, dst: string, sport: number, dport: number): PacketFields => ({
  in_port: inPort, ...IP, ipv4_src: src, ipv4_dst: dst, ip_proto: 17, udp_src: sport, udp_dst: dport,
});
const echo = (inPort: number, src: string, dst: string, type: number, id: number): PacketFields => ({
  in_port: inPort, ...IP, ipv4_src: src, ipv4_dst: dst, ip_proto: 1, icmpv4_type: type, icmpv4_code: 0, icmp_id: id,
});

/** The one output of a walk (or undefined), with the addresses it left with. */
function one(t: FakeOFTable, p: PacketFields): OutputRecord | undefined {
  const outs = t.walk(p).outputs;
  expect(outs.length).toBeLessThanOrEqual(1);
  return outs[0];
}
const tcpView = (o: OutputRecord | undefined): unknown =>
  o && { port: o.port, src: o.packet.ipv4_src, dst: o.packet.ipv4_dst, sport: o.packet.tcp_src, dport: o.packet.tcp_dst };
const state = (o: OutputRecord | undefined, reg: 'reg1' | 'reg2' | 'reg3' | 'reg4'): string => ctStateText(o?.packet[reg] ?? 0);

describe('fake conntrack NAT through a router (SNAT zone, DNAT zone)', () => {
  it('SNAT: a new TCP connection leaves as G; its reply is found by the translated tuple and un-SNATed', () => {
    const t = router();
    const out = one(t, tcp(INSIDE, W, X, 40000, 443, syn));
    expect(tcpView(out)).toEqual({ port: OUTSIDE, src: G, dst: X, sport: 40000, dport: 443 });
    expect(state(out, 'reg4')).toBe('+new+trk+snat');
    expect(t.ctEntries(S)).toEqual([
      expect.objectContaining({ nat: 'src', orig: expect.objectContaining({ src: W, dst: X }), reply: expect.objectContaining({ src: X, sport: 443, dst: G, dport: 40000 }) }),
    ]);
    const back = one(t, tcp(OUTSIDE, X, G, 443, 40000, syn | ack));
    expect(tcpView(back)).toEqual({ port: INSIDE, src: X, dst: W, sport: 443, dport: 40000 });
    expect(state(back, 'reg1')).toBe('+est+rpl+trk+dnat'); // the reply of an SNAT has its destination translated
    // The next segment: the commit with nat(src=G) on a committed connection applies its binding.
    const next = one(t, tcp(INSIDE, W, X, 40000, 443, ack));
    expect(tcpView(next)).toEqual({ port: OUTSIDE, src: G, dst: X, sport: 40000, dport: 443 });
    expect(state(next, 'reg4')).toBe('+est+trk+snat');
    expect(t.ctEntries(S)).toHaveLength(1);
    // Controls: a reply to another port of G is no connection (not un-SNATed, no route);
    // the untranslated reverse tuple is no longer the connection's reply.
    expect(one(t, tcp(OUTSIDE, X, G, 443, 40001, ack))).toBeUndefined();
    const direct = one(t, tcp(OUTSIDE, X, W, 443, 40000, ack));
    expect(state(direct, 'reg1')).toBe('+new+trk');
  });

  it('DNAT: a floating IP reaches V; V answers as F; an answer of no connection keeps V', () => {
    const t = router();
    const inb = one(t, tcp(OUTSIDE, X, F, 50000, 22, syn));
    expect(tcpView(inb)).toEqual({ port: INSIDE, src: X, dst: V, sport: 50000, dport: 22 });
    expect(state(inb, 'reg1')).toBe('+new+trk');
    expect(state(inb, 'reg2')).toBe('+new+trk+dnat');
    expect(t.ctEntries(D)).toEqual([expect.objectContaining({ nat: 'dst', reply: expect.objectContaining({ src: V, sport: 22, dst: X, dport: 50000 }) })]);
    expect(t.ctEntries(S)).toEqual([]); // ingress un-SNAT never commits
    const answer = one(t, tcp(INSIDE, V, X, 22, 50000, syn | ack));
    expect(tcpView(answer)).toEqual({ port: OUTSIDE, src: F, dst: X, sport: 22, dport: 50000 });
    expect(state(answer, 'reg3')).toBe('+est+rpl+trk+snat');
    expect(t.ctEntries(S)).toEqual([]); // un-DNATed to F, so egress SNAT (from V) did not match
    const again = one(t, tcp(OUTSIDE, X, F, 50000, 22, ack));
    expect(tcpView(again)).toEqual({ port: INSIDE, src: X, dst: V, sport: 50000, dport: 22 });
    expect(state(again, 'reg2')).toBe('+est+trk+dnat');
    // Control: a SYN-ACK from another port of V is no reply of the DNAT: it is not un-DNATed.
    const stray = one(t, tcp(INSIDE, V, X, 23, 50000, syn | ack));
    expect(stray?.packet.ipv4_src).toBe(V);
    expect(state(stray, 'reg3')).toBe('+inv+trk');
  });

  it('both zones on each packet: V goes out as F (un-DNAT finds nothing, SNAT), the reply comes back (un-SNAT, no DNAT)', () => {
    const t = router();
    const out = one(t, udp(INSIDE, V, X, 6000, 53));
    expect(out?.packet).toMatchObject({ ipv4_src: F, ipv4_dst: X, udp_src: 6000, udp_dst: 53 });
    expect([state(out, 'reg3'), state(out, 'reg4')]).toEqual(['+new+trk', '+new+trk+snat']);
    const back = one(t, udp(OUTSIDE, X, F, 53, 6000));
    expect(back?.packet).toMatchObject({ ipv4_src: X, ipv4_dst: V, udp_src: 53, udp_dst: 6000 });
    // un-SNAT found the connection; the DNAT zone then sees a packet to V, not to F: nothing to do.
    expect([state(back, 'reg1'), state(back, 'reg2')]).toEqual(['+est+rpl+trk+dnat', '+new+trk']);
    expect(t.ctEntries(D)).toEqual([]);
    // Control: once the SNAT zone is flushed the same reply is not un-SNATed: it reaches V only as
    // a new connection to the floating IP, DNATed.
    t.flushConntrackZone(S);
    const fresh = one(t, udp(OUTSIDE, X, F, 53, 6000));
    expect([state(fresh, 'reg1'), state(fresh, 'reg2')]).toEqual(['+new+trk', '+new+trk+dnat']);
  });

  it('hairpin: V reaches its own floating IP: SNATed to F, looped back, DNATed to V; the reply finds both connections', () => {
    const t = router();
    const r = t.walk(tcp(INSIDE, V, F, 41000, 80, syn));
    expect(r.outputs.map(tcpView)).toEqual([{ port: INSIDE, src: F, dst: V, sport: 41000, dport: 80 }]);
    const seen = r.outputs[0];
    expect(state(seen, 'reg4')).toBe('+new+trk+snat'); // after SNAT, before the loop
    expect(state(seen, 'reg1')).toBe('+new+trk+snat'); // the looped packet, already SNATed in zone S, is not NATed again
    expect(state(seen, 'reg2')).toBe('+new+trk+dnat');
    expect(t.ctEntries(S).map((e) => [e.orig.src, e.orig.dst, e.reply.src, e.reply.dst])).toEqual([[V, F, F, F]]);
    expect(t.ctEntries(D).map((e) => [e.orig.src, e.orig.dst, e.reply.src, e.reply.dst])).toEqual([[F, F, V, F]]);
    // V answers the FIP: un-DNAT (zone D) makes it come from F, the loop un-SNATs (zone S) it to V.
    const reply = one(t, tcp(INSIDE, V, F, 80, 41000, syn | ack));
    expect(tcpView(reply)).toEqual({ port: INSIDE, src: F, dst: V, sport: 80, dport: 41000 });
    expect(state(reply, 'reg3')).toBe('+est+rpl+trk+snat');
    expect(state(reply, 'reg1')).toBe('+est+rpl+trk+dnat');
    // Control: without the DNAT connection the answer is not un-DNATed: it stays addressed to F
    // (a SYN-ACK starts no connection in either zone) and never reaches V.
    t.flushConntrackZone(D);
    const lost = t.walk(tcp(INSIDE, V, F, 80, 41000, syn | ack));
    expect(lost.outputs).toEqual([]);
    expect(lost.trace.filter((h) => h.note?.startsWith('ct(')).map((h) => h.note?.split(': ')[1]?.split(',')[0])).toEqual(['+inv+trk', '+inv+trk', '+inv+trk', '+inv+trk']);
  });

  it('ICMP echo through SNAT: the reply returns by id; a second host with the same id gets another one', () => {
    const t = router();
    expect(one(t, echo(INSIDE, W, X, 8, 7))?.packet).toMatchObject({ ipv4_src: G, ipv4_dst: X, icmp_id: 7 });
    expect(one(t, echo(INSIDE, U, X, 8, 7))?.packet).toMatchObject({ ipv4_src: G, ipv4_dst: X, icmp_id: 8 });
    const toW = one(t, echo(OUTSIDE, X, G, 0, 7));
    expect(toW?.packet).toMatchObject({ ipv4_src: X, ipv4_dst: W, icmp_id: 7 });
    expect(state(toW, 'reg1')).toBe('+est+rpl+trk+dnat');
    expect(one(t, echo(OUTSIDE, X, G, 0, 8))?.packet).toMatchObject({ ipv4_src: X, ipv4_dst: U, icmp_id: 7 });
    // Control: a reply with an id no ping used is no connection (and has no route).
    expect(one(t, echo(OUTSIDE, X, G, 0, 9))).toBeUndefined();
  });

  it('ICMP errors about NATed connections: outer address and the embedded packet translated back', () => {
    const t = router();
    one(t, udp(INSIDE, W, X, 5000, 53));
    const error = (src: string, type: number, code: number, dport = 5000): PacketFields => ({
      in_port: OUTSIDE, ...IP, ipv4_src: src, ipv4_dst: G, ip_proto: 1, icmpv4_type: type, icmpv4_code: code,
      icmp_inner: { ipv4_src: G, ipv4_dst: X, ip_proto: 17, udp_src: dport, udp_dst: 53 },
    });
    const ttl = one(t, error('198.51.100.1', 11, 0));
    expect(ttl?.port).toBe(INSIDE);
    expect(ttl?.packet).toMatchObject({ ipv4_src: '198.51.100.1', ipv4_dst: W, icmp_inner: { ipv4_src: W, ipv4_dst: X, ip_proto: 17, udp_src: 5000, udp_dst: 53 } });
    expect(state(ttl, 'reg1')).toBe('+rel+rpl+trk+dnat');
    const unreachable = one(t, error(X, 3, 3));
    expect(unreachable?.packet).toMatchObject({ ipv4_src: X, ipv4_dst: W, icmp_inner: { ipv4_src: W, udp_src: 5000 } });
    expect(t.isOutput(error(X, 3, 3), INSIDE, { ipv4_dst: W, icmp_inner: { ipv4_src: W, ip_proto: 17 } })).toBe(true);
    expect(t.isOutput(error(X, 3, 3), INSIDE, { ipv4_dst: W, icmp_inner: { ipv4_src: G, ip_proto: 17 } })).toBe(false);
    // Control: an error about a port G never used is unrelated (+inv) and stays addressed to G.
    expect(one(t, error(X, 3, 3, 5001))).toBeUndefined();

    // The DNAT side: V's port unreachable to X about X's packet to F leaves from F, about X -> F.
    one(t, tcp(OUTSIDE, X, F, 50000, 22, syn));
    const fromV = one(t, {
      in_port: INSIDE, ...IP, ipv4_src: V, ipv4_dst: X, ip_proto: 1, icmpv4_type: 3, icmpv4_code: 3,
      icmp_inner: { ipv4_src: X, ipv4_dst: V, ip_proto: 6, tcp_src: 50000, tcp_dst: 22 },
    });
    expect(fromV?.port).toBe(OUTSIDE);
    expect(fromV?.packet).toMatchObject({ ipv4_src: F, ipv4_dst: X, icmp_inner: { ipv4_src: X, ipv4_dst: F, tcp_src: 50000, tcp_dst: 22 } });
    expect(state(fromV, 'reg3')).toBe('+rel+rpl+trk+snat');
  });

  it('port collision: two hosts, same source port, same destination, one SNAT address: two ports, replies to the right host', () => {
    const t = router();
    expect(one(t, tcp(INSIDE, W, X, 40000, 80, syn))?.packet.tcp_src).toBe(40000);
    expect(one(t, tcp(INSIDE, U, X, 40000, 80, syn))?.packet.tcp_src).toBe(40001);
    expect(tcpView(one(t, tcp(OUTSIDE, X, G, 80, 40001, syn | ack)))).toEqual({ port: INSIDE, src: X, dst: U, sport: 80, dport: 40000 });
    expect(tcpView(one(t, tcp(OUTSIDE, X, G, 80, 40000, syn | ack)))).toEqual({ port: INSIDE, src: X, dst: W, sport: 80, dport: 40000 });
    // Another destination port does not collide: the source port is kept.
    expect(one(t, tcp(INSIDE, U, X, 40000, 81, syn))?.packet.tcp_src).toBe(40000);
    // Control: U's next segment keeps its binding (40001), it is not re-translated to a free port.
    expect(one(t, tcp(INSIDE, U, X, 40000, 80, ack))?.packet.tcp_src).toBe(40001);
    expect(t.ctEntries(S)).toHaveLength(3);
  });
});

describe('FakeConntrack NAT bindings', () => {
  const Z = 5;
  const pkt = (src: string, dst: string, sport: number, dport: number, extra: Partial<CtPacketView> = {}): CtPacketView => ({
    eth_type: 0x0800, ipv4_src: src, ipv4_dst: dst, ip_proto: 17, udp_src: sport, udp_dst: dport, ...extra,
  });
  const commit = (nat: NatSpec | Record<string, never>) => ({ zone: Z, commit: true, force: false, nat });

  it('a port range starts at its first port; with none free nothing is committed and the packet is not translated', () => {
    const ct = new FakeConntrack();
    const spec: NatSpec = { kind: 'src', ipv4Min: G, portMin: 30000, portMax: 30001 };
    expect(ct.execute(pkt(W, X, 5, 53), commit(spec)).rewrite).toEqual({ ipv4_src: G, udp_src: 30000, udp_dst: 53 });
    expect(ct.execute(pkt(U, X, 5, 53), commit(spec)).rewrite).toEqual({ ipv4_src: G, udp_src: 30001, udp_dst: 53 });
    const r = ct.execute(pkt(V, X, 5, 53), commit(spec));
    expect([ctStateText(r.state), r.rewrite, r.natExhausted]).toEqual(['+new+trk', undefined, true]);
    expect(ct.entries(Z)).toHaveLength(2);
  });

  it('a kept port moves within its class: below 512 wraps to 1, 600-1023 stays there', () => {
    const ct = new FakeConntrack();
    const spec: NatSpec = { kind: 'src', ipv4Min: G };
    ct.execute(pkt(W, X, 511, 53), commit(spec));
    expect(ct.execute(pkt(U, X, 511, 53), commit(spec)).rewrite?.udp_src).toBe(1);
    ct.execute(pkt(W, X, 1023, 53), commit(spec));
    expect(ct.execute(pkt(U, X, 1023, 53), commit(spec)).rewrite?.udp_src).toBe(600);
  });

  it('a committed connection keeps its binding whatever nat a later commit names; bare nat on a new one records none', () => {
    const ct = new FakeConntrack();
    ct.execute(pkt(W, X, 7000, 53), commit({ kind: 'src', ipv4Min: G }));
    const later = ct.execute(pkt(W, X, 7000, 53), commit({ kind: 'src', ipv4Min: F }));
    expect(later.rewrite?.ipv4_src).toBe(G);
    const bare = ct.execute(pkt(U, X, 7000, 53), commit({}));
    expect([ctStateText(bare.state), bare.rewrite, bare.entry?.nat]).toEqual(['+new+trk', undefined, undefined]);
    // Without nat in the action, a NATed connection is tracked but not translated.
    const plain = ct.execute(pkt(X, G, 53, 7000), { zone: Z, commit: false, force: false });
    expect([ctStateText(plain.state), plain.rewrite]).toEqual(['+est+rpl+trk', undefined]);
  });

  it('DNAT with a port range picks the destination port; IPv6 SNAT translates the address', () => {
    const ct = new FakeConntrack();
    const spec: NatSpec = { kind: 'dst', ipv4Min: V, portMin: 8080, portMax: 8081 };
    expect(ct.execute(pkt(X, F, 9, 80), commit(spec)).rewrite).toEqual({ ipv4_dst: V, udp_src: 9, udp_dst: 8080 });
    expect(ct.execute(pkt(X, F, 9, 80, { ipv4_dst: F }), commit(spec)).rewrite).toEqual({ ipv4_dst: V, udp_src: 9, udp_dst: 8080 }); // same connection
    const back = ct.execute(pkt(V, X, 8080, 9), { zone: Z, commit: false, force: false, nat: {} });
    expect(back.rewrite).toEqual({ ipv4_src: F, udp_src: 80, udp_dst: 9 });
    const v6 = ct.execute(
      { eth_type: 0x86dd, ipv6_src: 'fd00::5', ipv6_dst: '2001:db8::9', ip_proto: 17, udp_src: 1, udp_dst: 2 },
      commit({ kind: 'src', ipv6Min: '2001:db8:0::1' }),
    );
    expect(v6.rewrite).toEqual({ ipv6_src: '2001:db8::1', udp_src: 1, udp_dst: 2 });
  });
});
