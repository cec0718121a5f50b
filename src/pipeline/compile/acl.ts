/**
 * Security groups (Neutron's semantics), enforced on the chassis that hosts the port, in both
 * directions: `acl_egress*` for what a VM sends (port = reg14), `acl_ingress*` for what is
 * delivered to it (port = reg15).
 *
 * Per filtered local port (port security on; router ports are never filtered):
 *   acl_<dir>          IPv4/IPv6 → reg12 := its zone, ct(zone=reg12, table=acl_<dir>_state)
 *                      (ingress clears the sender's conntrack state first); a port whose groups
 *                      are all stateless goes straight to acl_<dir>_rules. DHCP, ND, RS/RA and
 *                      MLD bypass the filter (the port needs them to work; pipeline flows).
 *   acl_<dir>_state    (pipeline) +inv → drop; +est+rpl or +rel of a connection not blocked →
 *                      pass; the same of a blocked one → drop; everything else → the rules.
 *   acl_<dir>_rules    conjunctive matches, so flows grow as ports + rules + remote members:
 *                        clause 1  the port is in the rule's group: one flow per port
 *                                  (reg14/reg15 = key) carrying the conjunction of each rule;
 *                        clause 2  (remote-group rules) the peer is a member: one flow per member
 *                                  address (ipv4/ipv6 src or dst), owner sg_member:<port key>, so
 *                                  a member joining or leaving changes only its own flows;
 *                        clause n  the rule's match (ethertype, protocol, port range as masked
 *                                  matches, ICMP type/code, remote prefix), owner sg_rule:<key>;
 *                        conj_id = rule key → acl_<dir>_commit (stateful group) or pass
 *                                  (stateless group), cookie sg_rule:<key>.
 *                      A rule with no match beyond its ethertype (e.g. the default egress rules)
 *                      is one flow on the port instead (cookie sg_rule:<key>). No rule → drop
 *                      (port flow, cookie port:<key>); an established connection of the port
 *                      that no rule allows any more is first committed with ct_mark.blocked, so
 *                      its replies stop too.
 *   acl_<dir>_commit   (pipeline) +new, or +est and blocked → ct(commit, zone=reg12,
 *                      ct_mark := 0) → pass.
 * "pass" is `services` from the VM and `output_local` to it.
 */
import type { Action, Match } from '../../openflow/types.js';
import { CT_STATE } from '../../openflow/types.js';
import {
  CT_MARK_BLOCKED,
  CT_ZONE_FIELD,
  CT_ZONE_REG,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_TCP,
  IP_PROTO_SCTP,
  IP_PROTO_UDP,
  type Owner,
} from '../conventions.js';
import { ipv4Prefix, ipv6Prefix, isIpv6 } from '../fields.js';
import { ctTo, type FlowBuilder } from '../flow-builder.js';
import type { StageName } from '../stages.js';
import type { PortInfo, SecurityGroupInfo, SecurityRuleInfo } from '../topology.js';
import { isRouterPort, localOfport, type CompileContext } from './context.js';
import { portRangeMasks } from './port-range.js';

export type Direction = 'egress' | 'ingress';

interface DirStages {
  readonly entry: StageName;
  readonly state: StageName;
  readonly rules: StageName;
  readonly commit: StageName;
  readonly pass: StageName;
  /** The register holding the filtered port's key. */
  readonly portReg: 'reg14' | 'reg15';
}

export const ACL_STAGES: Readonly<Record<Direction, DirStages>> = {
  egress: { entry: 'acl_egress', state: 'acl_egress_state', rules: 'acl_egress_rules', commit: 'acl_egress_commit', pass: 'services', portReg: 'reg14' },
  ingress: { entry: 'acl_ingress', state: 'acl_ingress_state', rules: 'acl_ingress_rules', commit: 'acl_ingress_commit', pass: 'output_local', portReg: 'reg15' },
};

const DIRECTIONS: readonly Direction[] = ['egress', 'ingress'];

// Priorities.
export const PRIO_ACL_BYPASS = 110;
export const PRIO_ACL_TRACK = 100;
export const PRIO_ACL_INVALID = 200;
export const PRIO_ACL_REPLY = 190;
export const PRIO_ACL_BLOCKED_REPLY = 180;
/** Conjunctive clause flows and conj_id flows of every rule (OVS: one priority per conjunction). */
export const PRIO_ACL_CONJ = 1000;
/** A rule with no match beyond its ethertype, as one flow on the port. */
export const PRIO_ACL_PORT_RULE = 900;
export const PRIO_ACL_BLOCK_EST = 20;
export const PRIO_ACL_DROP = 10;
export const PRIO_ACL_COMMIT = 100;

const ETH_TYPES: readonly [4 | 6, number][] = [
  [4, ETH_TYPE_IPV4],
  [6, ETH_TYPE_IPV6],
];

const trk = CT_STATE.trk;
const state = (value: number, mask: number): { value: number; mask: number } => ({ value: value | trk, mask: mask | trk });

// ---------------------------------------------------------------------------------------------
// What applies to a port

/** The port is filtered by its security groups here: a local VIF with port security on. */
export function portFiltered(ctx: CompileContext, port: PortInfo): boolean {
  return port.portSecurityEnabled && !isRouterPort(port) && localOfport(ctx, port) !== undefined;
}

/** The port's groups present in the topology (a group not yet loaded allows nothing). */
export function portGroups(ctx: CompileContext, port: PortInfo): SecurityGroupInfo[] {
  const out: SecurityGroupInfo[] = [];
  for (const id of port.securityGroups) {
    const g = ctx.topo.securityGroups?.get(id);
    if (g) out.push(g);
  }
  return out;
}

/** A rule that matches everything of its ethertype and direction (no protocol, peer or ports). */
export function matchesAll(r: SecurityRuleInfo): boolean {
  return r.protocol === null && r.remoteGroupId === null && (r.remoteIpPrefix === null || r.remoteIpPrefix.endsWith('/0'));
}

function ethType(r: { readonly ethertype: 4 | 6 }): number {
  return r.ethertype === 4 ? ETH_TYPE_IPV4 : ETH_TYPE_IPV6;
}

/** Clauses of a rule's conjunction: port, [peer], match. */
function clauses(r: SecurityRuleInfo): number {
  return r.remoteGroupId !== null ? 3 : 2;
}

// ---------------------------------------------------------------------------------------------
// Pipeline flows

export function compileAclPipeline(b: FlowBuilder): void {
  for (const dir of DIRECTIONS) {
    const st = ACL_STAGES[dir];
    // What every port needs to work is never filtered (and never tracked).
    for (const m of bypassMatches(dir)) b.flow(st.entry, { priority: PRIO_ACL_BYPASS, match: m, goto: st.pass });
    b.flow(st.state, { priority: PRIO_ACL_INVALID, match: { ct_state: state(CT_STATE.inv, CT_STATE.inv) } });
    const notBlocked = { value: 0, mask: CT_MARK_BLOCKED };
    const blocked = { value: CT_MARK_BLOCKED, mask: CT_MARK_BLOCKED };
    const reply = state(CT_STATE.est | CT_STATE.rpl, CT_STATE.new | CT_STATE.est | CT_STATE.rpl);
    const related = state(CT_STATE.rel, CT_STATE.new | CT_STATE.rel);
    for (const ct_state of [reply, related]) {
      b.flow(st.state, { priority: PRIO_ACL_REPLY, match: { ct_state, ct_mark: notBlocked }, goto: st.pass });
      b.flow(st.state, { priority: PRIO_ACL_BLOCKED_REPLY, match: { ct_state, ct_mark: blocked } });
    }
    const commit = (actions: Action[] = []): Action => ({ type: 'ct', commit: true, zone: CT_ZONE_FIELD, ...(actions.length ? { actions } : {}) });
    // ct() needs the ethertype in the match (OVS: MATCH_INCONSISTENT otherwise).
    for (const [, eth_type] of ETH_TYPES) {
      b.flow(st.commit, {
        priority: PRIO_ACL_COMMIT,
        match: { eth_type, ct_state: state(CT_STATE.new, CT_STATE.new) },
        actions: [commit()],
        goto: st.pass,
      });
      b.flow(st.commit, {
        priority: PRIO_ACL_COMMIT,
        match: { eth_type, ct_state: state(CT_STATE.est, CT_STATE.est), ct_mark: blocked },
        actions: [commit([{ type: 'set_field', field: 'ct_mark', value: 0 }])],
        goto: st.pass,
      });
    }
  }
}

/** DHCP, DHCPv6, neighbour discovery, router solicitation/advertisement and MLD. */
function bypassMatches(dir: Direction): Match[] {
  const icmp6 = (t: number): Match => ({ eth_type: ETH_TYPE_IPV6, ip_proto: IP_PROTO_ICMPV6, icmpv6_type: t });
  const udp4 = (src: number, dst: number): Match => ({ eth_type: ETH_TYPE_IPV4, ip_proto: IP_PROTO_UDP, udp_src: src, udp_dst: dst });
  const udp6 = (src: number, dst: number): Match => ({ eth_type: ETH_TYPE_IPV6, ip_proto: IP_PROTO_UDP, udp_src: src, udp_dst: dst });
  // MLD query/report/done (130-132), MLDv2 report (143), NS (135), NA (136).
  const common = [130, 131, 132, 143, 135, 136].map(icmp6);
  return dir === 'egress'
    ? [udp4(DHCP_CLIENT_PORT, DHCP_SERVER_PORT), udp6(546, 547), icmp6(133), ...common]
    : [udp4(DHCP_SERVER_PORT, DHCP_CLIENT_PORT), udp6(547, 546), icmp6(134), ...common];
}

// ---------------------------------------------------------------------------------------------
// Per port

export function compilePortAcl(b: FlowBuilder, ctx: CompileContext, port: PortInfo): void {
  if (!portFiltered(ctx, port)) return;
  const groups = portGroups(ctx, port);
  const zone = ctx.topo.local.get(port.id)?.ctZone;
  // Stateful when any group is (stateless groups' rules then allow without committing). Without
  // a zone yet (being allocated) nothing is tracked: only rules pass packets, replies too.
  const tracked = zone !== undefined && groups.some((g) => g.stateful);
  for (const dir of DIRECTIONS) {
    const st = ACL_STAGES[dir];
    const portMatch = { [st.portReg]: port.key } as const;
    for (const [, eth_type] of ETH_TYPES) {
      b.flow(st.entry, {
        priority: PRIO_ACL_TRACK,
        match: { ...portMatch, eth_type },
        ...(tracked
          ? {
              actions: [
                ...(dir === 'ingress' ? [{ type: 'ct_clear' } as const] : []),
                { type: 'set_field', field: CT_ZONE_REG, value: zone },
                ctTo(st.state, { zone: CT_ZONE_FIELD }),
              ],
            }
          : { goto: st.rules }),
      });
    }
    const conj: Action[] = [];
    for (const g of groups) {
      for (const r of g.rules) {
        if (r.direction !== dir) continue;
        if (matchesAll(r)) {
          b.flow(st.rules, {
            priority: PRIO_ACL_PORT_RULE,
            match: { ...portMatch, eth_type: ethType(r), ...prefixMatch(r, dir) },
            goto: g.stateful && tracked ? st.commit : st.pass,
            cookieOwner: ruleOwner(r),
          });
        } else if (ruleMatches(r, dir).length > 0) {
          conj.push({ type: 'conjunction', id: r.key, clause: 1, nClauses: clauses(r) });
        }
      }
    }
    if (conj.length > 0) {
      conj.sort((x, y) => (x.type === 'conjunction' && y.type === 'conjunction' ? x.id - y.id : 0));
      b.flow(st.rules, { priority: PRIO_ACL_CONJ, match: portMatch, actions: conj });
    }
    if (tracked) {
      for (const [, eth_type] of ETH_TYPES) {
        b.flow(st.rules, {
          priority: PRIO_ACL_BLOCK_EST,
          match: { ...portMatch, eth_type, ct_state: state(CT_STATE.est, CT_STATE.est) },
          actions: [{ type: 'ct', commit: true, zone: CT_ZONE_FIELD, actions: [{ type: 'set_field', field: 'ct_mark', value: CT_MARK_BLOCKED }] }],
        });
      }
    }
    b.flow(st.rules, { priority: PRIO_ACL_DROP, match: portMatch });
  }
}

// ---------------------------------------------------------------------------------------------
// Per rule

export function ruleOwner(r: SecurityRuleInfo): Owner {
  return { kind: 'sg_rule', key: r.key };
}

/** The remote prefix as a match on the peer's address (src to the VM, dst from it). */
function prefixMatch(r: SecurityRuleInfo, dir: Direction): Match {
  const p = r.remoteIpPrefix;
  if (p === null || p.endsWith('/0')) return {};
  return addressMatch(p, r.ethertype, dir);
}

/** Peer address `addr` (IP or CIDR) of family `v` for direction `dir`; {} if of the other family. */
function addressMatch(addr: string, v: 4 | 6, dir: Direction): Match {
  if (isIpv6(addr) !== (v === 6)) return {};
  if (v === 4) {
    const p = ipv4Prefix(addr);
    const value = p.len === 32 ? p.value : { value: p.value, mask: p.mask };
    return dir === 'egress' ? { ipv4_dst: value } : { ipv4_src: value };
  }
  const p = ipv6Prefix(addr);
  const value = p.len === 128 ? p.value : { value: p.value, mask: p.mask };
  return dir === 'egress' ? { ipv6_dst: value } : { ipv6_src: value };
}

/**
 * The rule's own match, as one or more flows (a port range is several masked matches): ethertype,
 * protocol, destination port range or ICMP type/code, remote prefix. Empty when the data plane
 * cannot match it exactly (OVS has no DCCP/UDP-Lite port fields: such a rule with ports allows
 * nothing, see docs/api.md).
 */
export function ruleMatches(r: SecurityRuleInfo, dir: Direction): Match[] {
  let byDir = ruleMatchCache.get(r);
  if (!byDir) ruleMatchCache.set(r, (byDir = new Map()));
  let m = byDir.get(dir);
  if (!m) byDir.set(dir, (m = computeRuleMatches(r, dir)));
  return m;
}

/** Rules are immutable (replaced on change): their matches are computed once. */
const ruleMatchCache = new WeakMap<SecurityRuleInfo, Map<Direction, Match[]>>();

function computeRuleMatches(r: SecurityRuleInfo, dir: Direction): Match[] {
  const base: Match = { eth_type: ethType(r), ...prefixMatch(r, dir) };
  if (r.protocol === null) return [base];
  const proto: Match = { ...base, ip_proto: r.protocol };
  const icmp = (r.protocol === IP_PROTO_ICMP && r.ethertype === 4) || (r.protocol === IP_PROTO_ICMPV6 && r.ethertype === 6);
  if (icmp) {
    const [typeField, codeField] = r.ethertype === 4 ? (['icmpv4_type', 'icmpv4_code'] as const) : (['icmpv6_type', 'icmpv6_code'] as const);
    const m: Record<string, unknown> = { ...proto };
    if (r.portMin !== null) m[typeField] = r.portMin;
    if (r.portMin !== null && r.portMax !== null) m[codeField] = r.portMax;
    return [m as Match];
  }
  if (r.portMin === null && r.portMax === null) return [proto];
  const field = r.protocol === IP_PROTO_TCP ? 'tcp_dst' : r.protocol === IP_PROTO_UDP ? 'udp_dst' : r.protocol === IP_PROTO_SCTP ? 'sctp_dst' : undefined;
  if (field === undefined) return [];
  const min = r.portMin ?? r.portMax!;
  const max = r.portMax ?? r.portMin!;
  if (min <= 1 && max === 65535) return [proto];
  return portRangeMasks(min, max).map((pm) => ({ ...proto, [field]: pm.mask === 0xffff ? pm.value : pm }) as Match);
}

/** A rule's clause and conj_id flows (nothing for a rule compiled onto its ports, or unmatchable). */
export function compileRuleAcl(b: FlowBuilder, ctx: CompileContext, ruleKey: number): void {
  const found = ctx.ruleByKey.get(ruleKey);
  if (!found) return;
  const { rule: r, group } = found;
  if (matchesAll(r)) return;
  const matches = ruleMatches(r, r.direction);
  if (matches.length === 0) return;
  const st = ACL_STAGES[r.direction];
  const n = clauses(r);
  for (const m of matches) {
    b.flow(st.rules, { priority: PRIO_ACL_CONJ, match: m, actions: [{ type: 'conjunction', id: r.key, clause: n, nClauses: n }] });
  }
  // A stateless group's rule allows without committing; on a port without conntrack (all its
  // groups stateless) the commit stage is never reached with a tracked packet anyway.
  b.flow(st.rules, { priority: PRIO_ACL_CONJ, match: { conj_id: r.key }, goto: group.stateful ? st.commit : st.pass });
}

// ---------------------------------------------------------------------------------------------
// Per remote group member

/**
 * The address flows of one member port of remote groups: clause 2 of every rule naming one of its
 * groups. (Two members holding the same address produce the same match: the desired table
 * merges their conjunctions.)
 */
export function compileMemberAcl(b: FlowBuilder, ctx: CompileContext, portKey: number): void {
  const m = ctx.topo.groupMembers?.get(portKey);
  if (!m) return;
  for (const dir of DIRECTIONS) {
    for (const [v, eth_type] of ETH_TYPES) {
      const actions = memberConjunctions(ctx, m.groups, dir, v);
      if (actions.length === 0) continue;
      for (const addr of m.addresses) {
        if (isIpv6(addr) !== (v === 6)) continue;
        b.flow(ACL_STAGES[dir].rules, { priority: PRIO_ACL_CONJ, match: { eth_type, ...addressMatch(addr, v, dir) }, actions });
      }
    }
  }
}

/**
 * The conjunctions (clause 2) a member of `groups` carries for one direction and ethertype: one
 * list object per snapshot and group set, shared by every member with that set (1,000 members
 * of one group compute it once; the canonical text of the list is cached by identity too).
 */
const memberConjCache = new WeakMap<CompileContext, Map<string, Action[]>>();
function memberConjunctions(ctx: CompileContext, groups: readonly string[], dir: Direction, v: 4 | 6): Action[] {
  let cache = memberConjCache.get(ctx);
  if (!cache) memberConjCache.set(ctx, (cache = new Map()));
  const key = `${dir}|${v}|${groups.join(',')}`;
  let out = cache.get(key);
  if (out) return out;
  const ids = new Set<number>();
  for (const g of groups) {
    for (const r of ctx.rulesByRemoteGroup.get(g) ?? []) {
      if (r.direction === dir && r.ethertype === v && ruleMatches(r, dir).length > 0) ids.add(r.key);
    }
  }
  out = [...ids].sort((x, y) => x - y).map((id) => ({ type: 'conjunction', id, clause: 2, nClauses: 3 }) as const);
  cache.set(key, out);
  return out;
}
