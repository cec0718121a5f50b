/**
 * Security groups through the fake OpenFlow table, with its connection tracker (modelled and
 * checked against OVS in test/integration/openflow/ct-conj-ovs.test.ts) and conjunctive matches.
 * Local ports of the standard cloud: b1 (10.1.0.11, ofport 1) and b2 (10.1.0.12, ofport 2) on
 * blue, both on hv1; b3 (10.1.0.13) on hv2. Every allowed check has a blocked twin and back.
 */
import { describe, expect, it } from 'vitest';
import { PRIO_ACL_DROP, ruleMatches } from '../../../src/pipeline/compile/acl.js';
import { diffTracked, fullCompile, updateDesired } from '../../../src/pipeline/index.js';
import type { LocalTopology, SecurityGroupInfo, SecurityRuleInfo } from '../../../src/pipeline/topology.js';
import { TCP_FLAGS, type FakeOFTable, type PacketFields } from '../../support/fake-oftable.js';
import { group, rule, World } from './fixture.js';
import { ipPacket, switchFor, type Switch } from './harness.js';

const B1 = 1;
const B2 = 2;

/** b1 in `srvGroups`, b2 in `cliGroups` (default: egress only), both with conntrack zones. */
function world(srvGroups: SecurityGroupInfo[], cliGroups: SecurityGroupInfo[] = [group('client', 20, [rule('client', 2001, 'egress'), rule('client', 2002, 'egress', { ethertype: 6 })])]): World {
  const w = World.standard();
  for (const g of [...srvGroups, ...cliGroups]) w.setGroup(g);
  w.updatePort('b1', { securityGroups: srvGroups.map((g) => g.id) });
  w.updatePort('b2', { securityGroups: cliGroups.map((g) => g.id) });
  w.local.set('b1', { portId: 'b1', ofport: B1, ctZone: 1 });
  w.local.set('b2', { portId: 'b2', ofport: B2, ctZone: 2 });
  return w;
}

function tcp(w: World, from: string, to: string, dport: number, flags: number = TCP_FLAGS.syn, sport = 40000): PacketFields {
  return ipPacket(w, from, w.port(to), { ip_proto: 6, udp_src: undefined, udp_dst: undefined, tcp_src: sport, tcp_dst: dport, tcp_flags: flags });
}
function udp(w: World, from: string, to: string, dport: number, sport = 40000): PacketFields {
  return ipPacket(w, from, w.port(to), { udp_src: sport, udp_dst: dport });
}
function icmp(w: World, from: string, to: string, type: number, code = 0): PacketFields {
  return ipPacket(w, from, w.port(to), { ip_proto: 1, udp_src: undefined, udp_dst: undefined, icmpv4_type: type, icmpv4_code: code });
}
const reaches = (t: FakeOFTable, p: PacketFields, ofport: number): boolean => t.isOutput(p, ofport);

/** Move a programmed switch from topology `prev` to `next` the controller's way (tracked deltas). */
function reprogram(sw: Switch, prev: LocalTopology, next: LocalTopology): void {
  updateDesired(sw.desired, prev, next);
  const msgs = diffTracked(sw.desired, sw.installed);
  sw.table.apply(msgs);
  sw.installed.apply(msgs);
}

describe('security groups through the fake switch (conntrack, conjunctions)', () => {
  it('tcp by port: 22 allowed, 23 dropped; the reply needs no ingress rule; an unsolicited packet back is dropped', () => {
    const w = world([group('web', 10, [rule('web', 101, 'ingress', { protocol: 6, portMin: 22, portMax: 22 })])]);
    const { table } = switchFor(w.snapshot());
    expect(reaches(table, tcp(w, 'b2', 'b1', 23), B1)).toBe(false);
    expect(reaches(table, tcp(w, 'b2', 'b1', 22), B1)).toBe(true);
    // The reply (SYN-ACK) to b2, whose group has no ingress rule: a reply of its own connection.
    expect(reaches(table, tcp(w, 'b1', 'b2', 40000, TCP_FLAGS.syn | TCP_FLAGS.ack, 22), B2)).toBe(true);
    expect(reaches(table, tcp(w, 'b2', 'b1', 22, TCP_FLAGS.ack), B1)).toBe(true);
    // b1 opening a connection to b2: b2 allows no ingress.
    expect(reaches(table, tcp(w, 'b1', 'b2', 8080, TCP_FLAGS.syn, 41000), B2)).toBe(false);
    // b1's zone holds the connection its rule allowed; b2's zone both it sent (its egress rule
    // allowed both: 23 was dropped at b1), and not b1's refused attempt.
    expect(table.ctEntries(1).map((e) => e.orig.dport)).toEqual([22]);
    expect(table.ctEntries(2).map((e) => e.orig.dport).sort()).toEqual([22, 23]);
  });

  it('port ranges, UDP and SCTP: the edges in, one past them out', () => {
    const w = world([
      group('g', 10, [
        rule('g', 101, 'ingress', { protocol: 17, portMin: 1000, portMax: 2000 }),
        rule('g', 102, 'ingress', { protocol: 132, portMin: 3868, portMax: 3868 }),
      ]),
    ]);
    const { table } = switchFor(w.snapshot());
    for (const [p, ok] of [[999, false], [1000, true], [1500, true], [2000, true], [2001, false]] as const) {
      expect(reaches(table, udp(w, 'b2', 'b1', p, 30000 + p), B1), `udp ${p}`).toBe(ok);
    }
    const sctp = (dport: number): PacketFields =>
      ipPacket(w, 'b2', w.port('b1'), { ip_proto: 132, udp_src: undefined, udp_dst: undefined, sctp_src: 5000, sctp_dst: dport });
    expect(reaches(table, sctp(3868), B1)).toBe(true);
    expect(reaches(table, sctp(3869), B1)).toBe(false);
  });

  it('ICMP by type and code; a remote prefix', () => {
    const w = world([
      group('g', 10, [
        rule('g', 101, 'ingress', { protocol: 1, portMin: 8, portMax: 0 }),
        rule('g', 102, 'ingress', { protocol: 6, portMin: 80, portMax: 80, remoteIpPrefix: '10.1.0.12/32' }),
        rule('g', 103, 'ingress', { protocol: 6, portMin: 81, portMax: 81, remoteIpPrefix: '10.9.0.0/16' }),
      ]),
    ]);
    const { table } = switchFor(w.snapshot());
    expect(reaches(table, icmp(w, 'b2', 'b1', 8, 0), B1)).toBe(true);
    expect(reaches(table, icmp(w, 'b2', 'b1', 13, 0), B1), 'timestamp request').toBe(false);
    expect(reaches(table, tcp(w, 'b2', 'b1', 80), B1), 'from 10.1.0.12/32').toBe(true);
    expect(reaches(table, tcp(w, 'b2', 'b1', 81), B1), 'not from 10.9.0.0/16').toBe(false);
  });

  it('remote groups by conjunction: a member reaches, a non-member does not; membership is by address pairs too', () => {
    const app = group('app', 30, []);
    const db = group('db', 31, [rule('db', 301, 'ingress', { protocol: 6, portMin: 5432, portMax: 5432, remoteGroupId: 'app' })]);
    const w = world([db]);
    w.setGroup(app);
    expect(reaches(switchFor(w.snapshot()).table, tcp(w, 'b2', 'b1', 5432), B1)).toBe(false);
    w.updatePort('b2', { securityGroups: ['client', 'app'] });
    const t = switchFor(w.snapshot()).table;
    expect(reaches(t, tcp(w, 'b2', 'b1', 5432), B1)).toBe(true);
    expect(reaches(t, tcp(w, 'b2', 'b1', 5433), B1), 'the rule\'s own match still applies').toBe(false);
    // Out of app, but another port of app holds b2's address as an allowed address pair.
    w.updatePort('b2', { securityGroups: ['client'] });
    w.updatePort('b3', { securityGroups: ['app'], allowedAddressPairs: [{ ipAddress: '10.1.0.12', macAddress: '' }] });
    expect(reaches(switchFor(w.snapshot()).table, tcp(w, 'b2', 'b1', 5432), B1)).toBe(true);
  });

  it('flows grow as members + rules: one address flow per member, one clause per rule match', () => {
    const app = group('app', 30, []);
    const rules = Array.from({ length: 10 }, (_, i) => rule('db', 400 + i, 'ingress', { protocol: 6, portMin: 1000 + i, portMax: 1000 + i, remoteGroupId: 'app' }));
    const w = world([group('db', 31, rules)]);
    w.setGroup(app);
    const count = (): number => [...fullCompile(w.snapshot()).flows()].filter(([, f]) => f.stage === 'acl_ingress_rules').length;
    const before = count();
    for (let i = 0; i < 5; i++) w.addPort({ ...w.port('b4'), id: `m${i}`, key: 900 + i, fixedIps: [{ subnetId: 'blue-v4', ipAddress: `10.1.0.${100 + i}` }], securityGroups: ['app'] });
    expect(count() - before).toBe(5);
  });

  it('ICMP errors related to an allowed connection pass; an unrelated one does not', () => {
    const w = world([group('g', 10, [rule('g', 101, 'ingress', { protocol: 17, portMin: 7001, portMax: 7001 })])]);
    const { table } = switchFor(w.snapshot());
    expect(reaches(table, udp(w, 'b2', 'b1', 7001, 45000), B1)).toBe(true);
    const err = (sport: number): PacketFields => ({
      ...icmp(w, 'b1', 'b2', 3, 3),
      icmp_inner: { ipv4_src: '10.1.0.12', ipv4_dst: '10.1.0.11', ip_proto: 17, udp_src: sport, udp_dst: 7001 },
    });
    expect(reaches(table, err(45000), B2), 'port unreachable for the allowed datagram').toBe(true);
    expect(reaches(table, err(45001), B2), 'for a datagram never sent').toBe(false);
  });

  it('an invalid packet is dropped even where a rule would allow it', () => {
    const w = world([group('g', 10, [rule('g', 101, 'ingress', { protocol: 6, portMin: 22, portMax: 22 })])]);
    const { table } = switchFor(w.snapshot());
    expect(reaches(table, tcp(w, 'b2', 'b1', 22, TCP_FLAGS.syn | TCP_FLAGS.fin), B1)).toBe(false);
    expect(reaches(table, tcp(w, 'b2', 'b1', 22), B1), 'control: a SYN').toBe(true);
  });

  it('a deleted rule stops its established connection both ways; another connection goes on', () => {
    const ssh = rule('web', 101, 'ingress', { protocol: 6, portMin: 22, portMax: 22 });
    const http = rule('web', 102, 'ingress', { protocol: 6, portMin: 80, portMax: 80 });
    const w = world([group('web', 10, [ssh, http])]);
    const t0 = w.snapshot();
    const sw = switchFor(t0);
    const before = sw.table;
    for (const port of [22, 80]) {
      expect(reaches(before, tcp(w, 'b2', 'b1', port, TCP_FLAGS.syn, 40000 + port), B1)).toBe(true);
      expect(reaches(before, tcp(w, 'b1', 'b2', 40000 + port, TCP_FLAGS.syn | TCP_FLAGS.ack, port), B2)).toBe(true);
    }
    // Rule 22 deleted: the same switch (its conntrack), the flows updated incrementally.
    w.setGroup(group('web', 10, [http]));
    const t1 = w.snapshot();
    reprogram(sw, t0, t1);
    const table = before;
    expect(reaches(table, tcp(w, 'b2', 'b1', 22, TCP_FLAGS.ack, 40022), B1), 'the next packet of the ssh connection').toBe(false);
    expect(reaches(table, tcp(w, 'b1', 'b2', 40022, TCP_FLAGS.ack, 22), B2), 'its replies, once blocked').toBe(false);
    expect(reaches(table, tcp(w, 'b2', 'b1', 80, TCP_FLAGS.ack, 40080), B1), 'the http connection').toBe(true);
    expect(reaches(table, tcp(w, 'b1', 'b2', 40080, TCP_FLAGS.ack, 80), B2)).toBe(true);
    // The rule back: the blocked connection passes again.
    w.setGroup(group('web', 10, [ssh, http]));
    reprogram(sw, t1, w.snapshot());
    const again = table;
    expect(reaches(again, tcp(w, 'b2', 'b1', 22, TCP_FLAGS.ack, 40022), B1)).toBe(true);
    expect(reaches(again, tcp(w, 'b1', 'b2', 40022, TCP_FLAGS.ack, 22), B2)).toBe(true);
  });

  it('a stateless group: no conntrack, replies need a rule of their own', () => {
    const sl = group('sl', 40, [rule('sl', 401, 'ingress', { protocol: 6, portMin: 22, portMax: 22 }), rule('sl', 402, 'egress')], false);
    const cli = group('cli-sl', 41, [rule('cli-sl', 411, 'egress')], false);
    const w = world([sl], [cli]);
    const { table } = switchFor(w.snapshot());
    expect(reaches(table, tcp(w, 'b2', 'b1', 22), B1)).toBe(true);
    expect(reaches(table, tcp(w, 'b1', 'b2', 40000, TCP_FLAGS.syn | TCP_FLAGS.ack, 22), B2), 'no ingress rule on b2, no conntrack').toBe(false);
    expect(table.ctEntries().length).toBe(0);
    w.setGroup(group('cli-sl', 41, [rule('cli-sl', 411, 'egress'), rule('cli-sl', 412, 'ingress', { protocol: 6 })], false));
    expect(reaches(switchFor(w.snapshot()).table, tcp(w, 'b1', 'b2', 40000, TCP_FLAGS.syn | TCP_FLAGS.ack, 22), B2)).toBe(true);
  });

  it('no group: nothing but DHCP and neighbour discovery; port security off: everything', () => {
    const w = world([]);
    const t = switchFor(w.snapshot()).table;
    expect(reaches(t, tcp(w, 'b2', 'b1', 22), B1)).toBe(false);
    const dhcp: PacketFields = { ...udp(w, 'b1', 'b2', 67, 68), ipv4_src: '0.0.0.0', ipv4_dst: '255.255.255.255', eth_dst: 'ff:ff:ff:ff:ff:ff' };
    expect(t.walk(dhcp).outputs.some((o) => o.port === 'controller'), 'DHCP still reaches the controller').toBe(true);
    w.updatePort('b1', { portSecurityEnabled: false, securityGroups: [] });
    expect(reaches(switchFor(w.snapshot()).table, tcp(w, 'b2', 'b1', 9999), B1)).toBe(true);
  });

  it('IPv6 rules match IPv6 only', () => {
    const w = world([group('g', 10, [rule('g', 101, 'ingress', { ethertype: 6, protocol: 6, portMin: 22, portMax: 22 })])]);
    w.updatePort('b1', { fixedIps: [...w.port('b1').fixedIps, { subnetId: 'blue-v6', ipAddress: '2001:db8::11' }] });
    w.updatePort('b2', { fixedIps: [...w.port('b2').fixedIps, { subnetId: 'blue-v6', ipAddress: '2001:db8::12' }] });
    const { table } = switchFor(w.snapshot());
    const v6: PacketFields = {
      in_port: B2, eth_src: w.port('b2').macAddress, eth_dst: w.port('b1').macAddress, eth_type: 0x86dd,
      ipv6_src: '2001:db8::12', ipv6_dst: '2001:db8::11', ip_proto: 6, tcp_src: 40000, tcp_dst: 22, tcp_flags: TCP_FLAGS.syn,
    };
    expect(reaches(table, v6, B1)).toBe(true);
    expect(reaches(table, tcp(w, 'b2', 'b1', 22), B1), 'IPv4 to the same port').toBe(false);
  });

  it('names the rule in the cookie of the flow that allows, and the port in the drop', () => {
    const w = world([group('web', 10, [rule('web', 101, 'ingress', { protocol: 6, portMin: 22, portMax: 22 })])]);
    const { table } = switchFor(w.snapshot());
    const allowed = table.walk(tcp(w, 'b2', 'b1', 22));
    expect(allowed.trace.some((h) => h.cookie === (0x08n << 56n) + 101n)).toBe(true);
    const dropped = table.walk(tcp(w, 'b2', 'b1', 23, TCP_FLAGS.syn, 40001));
    const last = dropped.trace.filter((h) => h.priority === PRIO_ACL_DROP).at(-1);
    expect(last?.cookie).toBe((0x03n << 56n) + BigInt(w.port('b1').key));
  });

  it('a rule the data plane cannot match exactly allows nothing (DCCP ports)', () => {
    const r: SecurityRuleInfo = rule('g', 1, 'ingress', { protocol: 33, portMin: 5000, portMax: 5000 });
    expect(ruleMatches(r, 'ingress')).toEqual([]);
    expect(ruleMatches({ ...r, portMin: null, portMax: null }, 'ingress')).toEqual([{ eth_type: 0x0800, ip_proto: 33 }]);
  });
});
