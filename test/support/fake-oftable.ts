/**
 * A fake OpenFlow 1.3 switch table (after Faucet's clib/fakeoftable.py): apply flow_mod and
 * group_mod bodies with OpenFlow semantics, then walk a packet (a map of field values) through
 * the tables and look at what came out.
 *
 * Semantics kept from OpenFlow 1.3 / OVS:
 * - add replaces an entry with the same table, priority and match (counters reset);
 *   modify/modify_strict change instructions only (never the cookie) and add nothing when no entry
 *   matches; delete is non-strict (entries the mod's match covers), delete_strict exact; cookie
 *   masks, out_port/out_group filters and table 0xff (all) are honoured;
 * - a flow using a missing group or meter is rejected; deleting a group (meter) deletes the flows
 *   that use it; meters do not drop anything here (packets passing them are recorded);
 * - matches must carry their prerequisites (eth_type, ip_proto), as OVS demands;
 * - instructions run in the fixed order apply → clear → write → write_metadata → goto, goto only
 *   forward; table miss drops; output to the packet's own in_port is dropped unless `in_port`;
 * - group buckets (and `all` groups) run on clones of the packet; resubmit changes persist;
 * - Nicira `ct` (test/support/fake-conntrack.ts: connection table, ct_state rules, TCP flags and
 *   ICMP error payloads as walk input): the current action list goes on with the packet untracked
 *   (ct_state/zone/mark/label cleared, as OVS's translation does); with `table`, a copy carrying
 *   the ct fields is recirculated to that table once the current pass has finished (with a copy
 *   of the action set), as OVS's datapath does. `commit` creates the entry and applies the nested
 *   set_field/load on ct_mark/ct_label; nested actions without commit, other nested actions,
 *   and `alg` are rejected when the flow is added. `nat` (see fake-conntrack.ts for what is
 *   modelled) translates the recirculated copy; it needs `table`, a flow matching eth_type IPv4
 *   or IPv6 (of the range's family) and a well-formed range, as OVS checks. `ct_clear` clears
 *   the ct fields;
 * - conjunctive matches as OVS's classifier does them: flows whose actions are only
 *   `conjunction` (and `note`) are clauses; a conjunction whose every clause matched, at a
 *   priority above the best ordinary match, triggers a second lookup with conj_id set that ignores
 *   clause flows; if it finds nothing the next completed conjunction (lowest id first — OVS leaves
 *   the order unspecified) or the next lower clause priority is tried, else the ordinary match.
 */
import type {
  Action,
  BareNat,
  NatSpec,
  FieldName,
  FieldValueMap,
  FlowModBody,
  GroupModBody,
  GroupType,
  Instruction,
  Match,
  MeterBand,
  MeterFlags,
  PacketInReason,
  PortNo,
  Bucket,
} from '../../src/openflow/types.js';
import { OFPG_ANY, OFPTT_ALL } from '../../src/openflow/ports.js';
import { canonicalInstructions, canonicalMatch, groupValueKey, sortInstructions } from '../../src/pipeline/canonical.js';
import { bitsToValue, fieldWidth, fullMask, matchBits, valueToBits } from '../../src/pipeline/fields.js';
import { ctStateText, FakeConntrack, type CtEntry, type IcmpInnerPacket, type NatRewrite, type PacketExtras } from './fake-conntrack.js';

export { TCP_FLAGS, ctStateText, type CtEntry, type CtTuple, type IcmpInnerPacket, type NatRewrite, type PacketExtras } from './fake-conntrack.js';

/**
 * A packet: OpenFlow field values, plus what only the connection tracker reads or its NAT
 * rewrites (`tcp_flags`, `icmp_inner`, `icmp_id`: see PacketExtras). Absent metadata fields
 * (registers, ct_*, ...) read as 0.
 */
export type PacketFields = { -readonly [K in FieldName]?: FieldValueMap[K] } & PacketExtras;

export interface OutputRecord {
  readonly port: number | Exclude<PortNo, number>;
  readonly packet: PacketFields;
  readonly maxLen?: number;
  readonly userdata?: Buffer;
  readonly reason?: PacketInReason;
  /** Meters the packet passed (meter instructions of the flows it hit), if any. */
  readonly meters?: readonly number[];
}

export interface TraceHit {
  readonly tableId: number;
  readonly priority?: number;
  readonly cookie?: bigint;
  readonly match?: Match;
  readonly miss?: boolean;
  readonly note?: string;
  /** Set on the lookup that a completed conjunctive match decided (the conj_id used). */
  readonly conjId?: number;
  /** 0 for the packet's first pass, n for the n-th recirculation (ct with table). */
  readonly pass?: number;
}

export interface WalkResult {
  readonly outputs: OutputRecord[];
  readonly trace: TraceHit[];
  /** Lookups where several entries of the top priority matched (OpenFlow leaves it undefined). */
  readonly ambiguous: TraceHit[];
}

export type FakeTableErrorCode =
  | 'bad_table'
  | 'prereq'
  | 'unknown_group'
  | 'group_exists'
  | 'unknown_meter'
  | 'meter_exists'
  | 'loop'
  | 'unsupported'
  | 'bad_goto'
  | 'bad_conjunction'
  | 'bad_ct';

/** A meter_mod body (as the controller sends it). */
export interface MeterModBody {
  readonly command: 'add' | 'modify' | 'delete';
  readonly meterId: number;
  readonly flags: MeterFlags;
  readonly bands: readonly MeterBand[];
}

type FakeMessage =
  | ({ type: 'flow_mod' } & FlowModBody)
  | ({ type: 'group_mod' } & GroupModBody)
  | ({ type: 'meter_mod' } & MeterModBody);

export class FakeTableError extends Error {
  override readonly name = 'FakeTableError';
  constructor(
    readonly code: FakeTableErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface FakeFlow {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly bits: ReadonlyMap<FieldName, { value: bigint; mask: bigint }>;
  readonly matchKey: string;
  instructions: readonly Instruction[];
  readonly cookie: bigint;
  readonly seq: number;
  /** conjunction actions when the flow is a clause flow (its actions are only conjunction/note). */
  conj?: readonly { readonly id: number; readonly clause: number; readonly nClauses: number }[];
}

interface FakeGroup {
  readonly groupType: GroupType;
  readonly buckets: readonly Bucket[];
}

const OFPG_ALL = 0xfffffffc;
const MAX_RESUBMIT_DEPTH = 64;
const MAX_RECIRCULATIONS = 32;
const CT_FIELDS = ['ct_state', 'ct_zone', 'ct_mark', 'ct_label'] as const;

/** OVS's rules for conjunction actions; returns the clause list, or undefined for an ordinary flow. */
function conjunctionsOf(ins: readonly Instruction[]): FakeFlow['conj'] {
  const all = actionsOf(ins);
  if (!all.some((a) => a.type === 'conjunction')) return undefined;
  const only = ins.length === 1 && ins[0].type === 'apply_actions';
  const other = all.find((a) => a.type !== 'conjunction' && a.type !== 'note');
  if (!only || other) {
    throw new FakeTableError('bad_conjunction', `conjunction may be used with note only, not with ${other?.type ?? 'other instructions'}`);
  }
  const out: { id: number; clause: number; nClauses: number }[] = [];
  for (const a of all) {
    if (a.type !== 'conjunction') continue;
    if (!Number.isInteger(a.nClauses) || a.nClauses < 2 || a.nClauses > 64) {
      throw new FakeTableError('bad_conjunction', `conjunction needs 2..64 clauses, not ${a.nClauses}`);
    }
    if (!Number.isInteger(a.clause) || a.clause < 1 || a.clause > a.nClauses) {
      throw new FakeTableError('bad_conjunction', `clause ${a.clause} not in 1..${a.nClauses}`);
    }
    if (!Number.isInteger(a.id) || a.id < 0 || a.id > 0xffffffff) throw new FakeTableError('bad_conjunction', `conjunction id ${a.id}`);
    out.push({ id: a.id, clause: a.clause, nClauses: a.nClauses });
  }
  return out;
}

/** What OVS's decoder accepts in a nat range (decode_NXAST_RAW_NAT), and what the fake models. */
function checkNat(a: Extract<Action, { type: 'ct' }>): void {
  const n = a.nat;
  if (n === undefined) return;
  if (a.table === undefined) {
    throw new FakeTableError('unsupported', 'ct nat without table is not modelled (OVS rewrites the packet but goes on matching its old fields)');
  }
  if (!('kind' in n)) {
    if (Object.keys(n).length) throw new FakeTableError('bad_ct', 'a bare nat has no range');
    return;
  }
  const bad = (why: string): never => {
    throw new FakeTableError('bad_ct', `nat(${n.kind}): ${why}`);
  };
  const v4 = n.ipv4Min !== undefined || n.ipv4Max !== undefined;
  const v6 = n.ipv6Min !== undefined || n.ipv6Max !== undefined;
  if (v4 && v6) bad('IPv4 and IPv6 range');
  if ((n.ipv4Max !== undefined && n.ipv4Min === undefined) || (n.ipv6Max !== undefined && n.ipv6Min === undefined)) bad('max address without min');
  if (n.ipv4Min === '0.0.0.0' || (n.ipv6Min !== undefined && /^[0:]*$/.test(n.ipv6Min))) bad('zero address');
  if (n.ipv4Min !== undefined && n.ipv4Max !== undefined && valueToBits('ipv4_src', n.ipv4Max) < valueToBits('ipv4_src', n.ipv4Min)) bad('max < min');
  if (n.ipv6Min !== undefined && n.ipv6Max !== undefined && valueToBits('ipv6_src', n.ipv6Max) < valueToBits('ipv6_src', n.ipv6Min)) bad('max < min');
  if (n.portMax !== undefined && n.portMin === undefined) bad('max port without min');
  if (n.portMin !== undefined) {
    if (!v4 && !v6) bad('port range without address');
    if (!Number.isInteger(n.portMin) || n.portMin < 1 || n.portMin > 65535) bad(`port ${n.portMin}`);
    if (n.portMax !== undefined && (!Number.isInteger(n.portMax) || n.portMax < n.portMin || n.portMax > 65535)) bad(`port range ${n.portMin}-${n.portMax}`);
  }
  if (n.hash && n.random) bad('hash and random');
}

/** OVS check_NAT: the flow must match IPv4 or IPv6, and the range's family must be that one. */
function checkNatMatch(m: Match, ins: readonly Instruction[]): void {
  for (const a of actionsOf(ins)) {
    if (a.type !== 'ct' || a.nat === undefined) continue;
    const et = m.eth_type;
    if (et !== 0x0800 && et !== 0x86dd) throw new FakeTableError('prereq', 'ct nat needs a match on eth_type IPv4 or IPv6');
    const n = a.nat;
    if ('kind' in n && ((n.ipv4Min !== undefined && et !== 0x0800) || (n.ipv6Min !== undefined && et !== 0x86dd))) {
      throw new FakeTableError('prereq', `nat(${n.kind}) range of another address family than eth_type 0x${et.toString(16)}`);
    }
  }
}

/** What OVS accepts in a ct action (nested exec actions write ct_mark / ct_label only, and need commit). */
function checkCt(a: Extract<Action, { type: 'ct' }>): void {
  if (a.alg !== undefined && a.alg !== 0) throw new FakeTableError('unsupported', 'ct alg is not modelled by the fake table');
  checkNat(a);
  const nested = a.actions ?? [];
  if (nested.length && !a.commit) throw new FakeTableError('bad_ct', 'ct with nested actions needs commit');
  for (const n of nested) {
    const f = n.type === 'set_field' ? n.field : n.type === 'load' ? n.dst.field : undefined;
    if (f !== 'ct_mark' && f !== 'ct_label') throw new FakeTableError('bad_ct', `ct may only set ct_mark or ct_label, not ${n.type}`);
  }
  if (typeof a.zone === 'object' && (a.zone.nbits !== 16 || a.zone.ofs + a.zone.nbits > fieldWidth(a.zone.field))) {
    throw new FakeTableError('bad_ct', 'ct zone must be a 16-bit subfield');
  }
  if (a.table !== undefined && (a.table < 0 || a.table > 254)) throw new FakeTableError('bad_ct', `ct table ${a.table}`);
}

/** ovs-ofctl style text of a ct action's nat, for traces. */
function natText(n: NatSpec | BareNat | undefined): string {
  if (n === undefined) return '';
  if (!('kind' in n)) return ',nat';
  const min = n.ipv4Min ?? n.ipv6Min;
  const max = n.ipv4Max ?? n.ipv6Max;
  const addr = min === undefined ? '' : `=${min}${max !== undefined && max !== min ? `-${max}` : ''}`;
  const ports = n.portMin === undefined ? '' : `:${n.portMin}${n.portMax !== undefined && n.portMax !== n.portMin ? `-${n.portMax}` : ''}`;
  return `,nat(${n.kind}${addr}${ports})`;
}

function rewriteText(r: NatRewrite): string {
  return Object.entries(r)
    .map(([k, v]) => (k === 'icmp_inner' ? `icmp_inner=${JSON.stringify(v)}` : `${k}=${String(v)}`))
    .join(' ');
}

const IP_FIELDS: FieldName[] = ['ip_proto', 'ip_dscp', 'ip_ecn', 'nw_ttl'];

/** OVS prerequisites: returns a description of what is missing. */
function missingPrereq(m: Match, f: FieldName): string | undefined {
  const exact = (k: FieldName): unknown => {
    const v = m[k];
    return typeof v === 'object' && v !== null && 'mask' in v ? undefined : v;
  };
  const et = exact('eth_type');
  const proto = exact('ip_proto');
  const isIp = et === 0x0800 || et === 0x86dd;
  if (f.startsWith('ipv4_') && et !== 0x0800) return 'eth_type=0x0800';
  if ((f.startsWith('ipv6_') || f === 'nd_target' || f.startsWith('icmpv6_')) && et !== 0x86dd) return 'eth_type=0x86dd';
  if (f.startsWith('arp_') && et !== 0x0806) return 'eth_type=0x0806';
  if (IP_FIELDS.includes(f) && !isIp) return 'eth_type ip';
  if (f.startsWith('tcp_') && (!isIp || proto !== 6)) return 'ip_proto=6';
  if (f.startsWith('udp_') && (!isIp || proto !== 17)) return 'ip_proto=17';
  if (f.startsWith('sctp_') && (!isIp || proto !== 132)) return 'ip_proto=132';
  if (f.startsWith('icmpv4_') && (et !== 0x0800 || proto !== 1)) return 'ip_proto=1';
  if (f.startsWith('icmpv6_') && proto !== 58) return 'ip_proto=58';
  return undefined;
}

function checkPrereqs(m: Match): void {
  for (const f of Object.keys(m) as FieldName[]) {
    if (m[f] === undefined) continue;
    const miss = missingPrereq(m, f);
    if (miss) throw new FakeTableError('prereq', `match on ${f} needs ${miss}`);
  }
}

function bitsOf(m: Match): Map<FieldName, { value: bigint; mask: bigint }> {
  const out = new Map<FieldName, { value: bigint; mask: bigint }>();
  for (const f of Object.keys(m) as FieldName[]) {
    const v = m[f];
    if (v === undefined) continue;
    const b = matchBits(f, v);
    if (b.mask !== 0n) out.set(f, b);
  }
  return out;
}

/** Does the (non-strict) mod match cover the flow's match? Every mod field constrains the flow at least as much. */
function covers(mod: ReadonlyMap<FieldName, { value: bigint; mask: bigint }>, flow: FakeFlow): boolean {
  for (const [f, mb] of mod) {
    const fb = flow.bits.get(f);
    if (!fb) return false;
    if ((mb.mask & ~fb.mask) !== 0n) return false;
    if ((fb.value & mb.mask) !== mb.value) return false;
  }
  return true;
}

const ALWAYS_PRESENT = (f: FieldName): boolean =>
  /^(x{0,2}reg\d+)$/.test(f) || f === 'metadata' || f === 'pkt_mark' || f === 'tunnel_id' || f.startsWith('ct_') || f === 'conj_id';

function fieldBits(p: PacketFields, f: FieldName): bigint | undefined {
  const v = p[f];
  if (v === undefined) return ALWAYS_PRESENT(f) ? 0n : undefined;
  return valueToBits(f, v);
}

function packetMatches(flow: FakeFlow, p: PacketFields): boolean {
  for (const [f, b] of flow.bits) {
    const v = fieldBits(p, f);
    if (v === undefined) return false;
    if ((v & b.mask) !== b.value) return false;
  }
  return true;
}

function actionsOf(ins: readonly Instruction[]): Action[] {
  const out: Action[] = [];
  for (const i of ins) if (i.type === 'apply_actions' || i.type === 'write_actions') out.push(...i.actions);
  return out;
}

interface WalkState {
  readonly outputs: OutputRecord[];
  readonly trace: TraceHit[];
  readonly ambiguous: TraceHit[];
  readonly meters: number[];
  depth: number;
  halted: boolean;
  /** The action set of the pass running now (copied into a recirculated packet). */
  actionSet: Map<string, Action>;
  /** Recirculations waiting for the current pass to end. */
  readonly recirc: { table: number; packet: PacketFields; actionSet: Map<string, Action> }[];
  pass: number;
}

export class FakeOFTable {
  private readonly tables: FakeFlow[][];
  private readonly groupTable = new Map<number, FakeGroup>();
  private readonly meterTable = new Map<number, MeterModBody>();
  private seq = 0;
  /** The switch's connection tracker; kept across walks. */
  readonly conntrack = new FakeConntrack();

  constructor(readonly nTables = 254) {
    this.tables = Array.from({ length: nTables }, () => []);
  }

  // -------------------------------------------------------------------------------------------
  // Applying messages

  /** Applies flow_mod / group_mod / meter_mod messages (bodies with `type`); others are ignored. */
  apply(messages: Iterable<FakeMessage>): void {
    for (const m of messages) {
      if (m.type === 'flow_mod') this.flowMod(m);
      else if (m.type === 'group_mod') this.groupMod(m);
      else if (m.type === 'meter_mod') this.meterMod(m);
    }
  }

  meterMod(m: MeterModBody): void {
    switch (m.command) {
      case 'add':
        if (this.meterTable.has(m.meterId)) throw new FakeTableError('meter_exists', `meter ${m.meterId} exists`);
        this.meterTable.set(m.meterId, m);
        return;
      case 'modify':
        if (!this.meterTable.has(m.meterId)) throw new FakeTableError('unknown_meter', `meter ${m.meterId} unknown`);
        this.meterTable.set(m.meterId, m);
        return;
      case 'delete':
        if (!this.meterTable.delete(m.meterId)) return;
        for (let ti = 0; ti < this.tables.length; ti++) {
          this.tables[ti] = this.tables[ti].filter((f) => !f.instructions.some((i) => i.type === 'meter' && i.meterId === m.meterId));
        }
        return;
    }
  }

  hasMeter(id: number): boolean {
    return this.meterTable.has(id);
  }

  flowMod(m: FlowModBody): void {
    if (m.tableId !== OFPTT_ALL && (m.tableId < 0 || m.tableId >= this.nTables)) {
      throw new FakeTableError('bad_table', `table ${m.tableId}`);
    }
    const cookieOk = (f: FakeFlow): boolean => (f.cookie & m.cookieMask) === (m.cookie & m.cookieMask);
    const tables = m.tableId === OFPTT_ALL ? this.tables.map((_, i) => i) : [m.tableId];
    switch (m.command) {
      case 'add': {
        if (m.tableId === OFPTT_ALL) throw new FakeTableError('bad_table', 'add to table all');
        checkPrereqs(m.match);
        this.checkInstructions(m.tableId, m.instructions);
        checkNatMatch(m.match, m.instructions);
        const conj = conjunctionsOf(m.instructions);
        const flow: FakeFlow = {
          tableId: m.tableId,
          priority: m.priority,
          match: m.match,
          bits: bitsOf(m.match),
          matchKey: canonicalMatch(m.match),
          instructions: m.instructions,
          cookie: m.cookie,
          seq: this.seq++,
          conj,
        };
        const t = this.tables[m.tableId];
        const i = t.findIndex((f) => f.priority === flow.priority && f.matchKey === flow.matchKey);
        if (i >= 0) t[i] = flow;
        else t.push(flow);
        return;
      }
      case 'modify':
      case 'modify_strict': {
        checkPrereqs(m.match);
        const modBits = bitsOf(m.match);
        const key = canonicalMatch(m.match);
        for (const ti of tables) {
          for (const f of this.tables[ti]) {
            const hit =
              m.command === 'modify_strict' ? f.priority === m.priority && f.matchKey === key : covers(modBits, f);
            if (hit && cookieOk(f)) {
              this.checkInstructions(ti, m.instructions);
              checkNatMatch(m.match, m.instructions);
              f.instructions = m.instructions;
              f.conj = conjunctionsOf(m.instructions);
            }
          }
        }
        return;
      }
      case 'delete':
      case 'delete_strict': {
        const modBits = bitsOf(m.match);
        const key = canonicalMatch(m.match);
        const outPort = m.outPort === 'any' || m.outPort === 0xffffffff ? undefined : m.outPort;
        const outGroup = m.outGroup === OFPG_ANY ? undefined : m.outGroup;
        for (const ti of tables) {
          this.tables[ti] = this.tables[ti].filter((f) => {
            const hit =
              m.command === 'delete_strict' ? f.priority === m.priority && f.matchKey === key : covers(modBits, f);
            if (!hit || !cookieOk(f)) return true;
            const acts = actionsOf(f.instructions);
            if (outPort !== undefined && !acts.some((a) => a.type === 'output' && a.port === outPort)) return true;
            if (outGroup !== undefined && !acts.some((a) => a.type === 'group' && a.groupId === outGroup)) return true;
            return false;
          });
        }
        return;
      }
    }
  }

  groupMod(m: GroupModBody): void {
    switch (m.command) {
      case 'add':
        if (this.groupTable.has(m.groupId)) throw new FakeTableError('group_exists', `group ${m.groupId} exists`);
        this.groupTable.set(m.groupId, { groupType: m.groupType, buckets: m.buckets });
        return;
      case 'modify':
        if (!this.groupTable.has(m.groupId)) throw new FakeTableError('unknown_group', `group ${m.groupId} unknown`);
        this.groupTable.set(m.groupId, { groupType: m.groupType, buckets: m.buckets });
        return;
      case 'delete': {
        const ids = m.groupId === OFPG_ALL ? [...this.groupTable.keys()] : [m.groupId];
        for (const id of ids) {
          if (!this.groupTable.delete(id)) continue;
          for (let ti = 0; ti < this.tables.length; ti++) {
            this.tables[ti] = this.tables[ti].filter(
              (f) => !actionsOf(f.instructions).some((a) => a.type === 'group' && a.groupId === id),
            );
          }
        }
        return;
      }
    }
  }

  private checkInstructions(tableId: number, ins: readonly Instruction[]): void {
    for (const i of ins) {
      if (i.type === 'meter' && !this.meterTable.has(i.meterId)) {
        throw new FakeTableError('unknown_meter', `flow uses missing meter ${i.meterId}`);
      }
      if (i.type === 'goto_table' && i.tableId <= tableId) {
        throw new FakeTableError('bad_goto', `goto ${i.tableId} from table ${tableId}`);
      }
    }
    for (const a of actionsOf(ins)) {
      if (a.type === 'group' && !this.groupTable.has(a.groupId)) {
        throw new FakeTableError('unknown_group', `flow uses missing group ${a.groupId}`);
      }
      if (a.type === 'ct') checkCt(a);
    }
    conjunctionsOf(ins);
  }

  // -------------------------------------------------------------------------------------------
  // Inspection

  get flowCount(): number {
    return this.tables.reduce((n, t) => n + t.length, 0);
  }
  get groupCount(): number {
    return this.groupTable.size;
  }
  flowsIn(tableId: number): readonly { priority: number; match: Match; cookie: bigint; instructions: readonly Instruction[] }[] {
    return this.tables[tableId];
  }
  hasGroup(id: number): boolean {
    return this.groupTable.has(id);
  }
  group(id: number): FakeGroup | undefined {
    return this.groupTable.get(id);
  }

  /** Canonical dump of everything (for "re-apply changes nothing" and "change then revert"). */
  dump(): string {
    const lines: string[] = [];
    this.tables.forEach((t, ti) => {
      for (const f of t) {
        lines.push(`t${ti} p${f.priority} [${f.matchKey}] c${f.cookie.toString(16)} ${canonicalInstructions(f.instructions)}`);
      }
    });
    for (const [id, g] of this.groupTable) lines.push(`g${id} ${groupValueKey(g)}`);
    return lines.sort().join('\n');
  }

  // -------------------------------------------------------------------------------------------
  // Walking packets

  /**
   * Walks a packet from table 0, then each packet `ct(table=N)` recirculated, in order (the
   * datapath runs a recirculation after the pass that forked it). Conntrack state persists.
   */
  walk(packet: PacketFields): WalkResult {
    const st: WalkState = {
      outputs: [], trace: [], ambiguous: [], meters: [], depth: 0, halted: false, actionSet: new Map(), recirc: [], pass: 0,
    };
    // An untagged frame has vlan_vid 0 (OFPVID_NONE), as OpenFlow 1.3 matches it.
    const p: PacketFields = { vlan_vid: 0, ...packet };
    if (p.in_port === undefined) throw new FakeTableError('unsupported', 'packet needs in_port');
    this.runPass(0, p, st, new Map());
    while (st.recirc.length) {
      const r = st.recirc.shift()!;
      if (++st.pass > MAX_RECIRCULATIONS) throw new FakeTableError('loop', 'too many recirculations');
      st.trace.push({ tableId: r.table, pass: st.pass, note: `recirculation ${st.pass}: ct_state=${ctStateText(r.packet.ct_state ?? 0)} ct_zone=${r.packet.ct_zone ?? 0}, resumes at table ${r.table}` });
      st.halted = false;
      st.depth = 0;
      st.meters.length = 0;
      this.runPass(r.table, r.packet, st, r.actionSet);
    }
    return { outputs: st.outputs, trace: st.trace, ambiguous: st.ambiguous };
  }

  private runPass(table: number, p: PacketFields, st: WalkState, actionSet: Map<string, Action>): void {
    this.runTable(table, p, st, actionSet);
    if (!st.halted) this.execActionSet(actionSet, p, st);
  }

  /** Committed conntrack entries, optionally of one zone. */
  ctEntries(zone?: number): readonly CtEntry[] {
    return this.conntrack.entries(zone);
  }
  /** `ovs-appctl dpctl/flush-conntrack zone=N`: returns the number of entries removed. */
  flushConntrackZone(zone: number): number {
    return this.conntrack.flushZone(zone);
  }
  /** `ovs-appctl dpctl/flush-conntrack`. */
  flushConntrack(): number {
    return this.conntrack.flush();
  }

  /**
   * Outputs of a packet to `port` (optionally only those whose fields include `expect`; of the
   * extras, `icmp_id` is compared, `icmp_inner` field by field, `tcp_flags` not at all).
   */
  outputsTo(packet: PacketFields, port: OutputRecord['port'], expect?: PacketFields): OutputRecord[] {
    return this.walk(packet).outputs.filter(
      (o) =>
        o.port === port &&
        (!expect ||
          (Object.keys(expect) as FieldName[]).every((f) => {
            if ((f as string) === 'tcp_flags') return true;
            if ((f as string) === 'icmp_id') return expect.icmp_id === undefined || (o.packet.icmp_id ?? 0) === expect.icmp_id;
            if ((f as string) === 'icmp_inner') {
              const want = expect.icmp_inner;
              const got = o.packet.icmp_inner;
              return !want || (got !== undefined && (Object.keys(want) as (keyof IcmpInnerPacket)[]).every((k) => want[k] === undefined || got[k] === want[k]));
            }
            const want = expect[f];
            const got = o.packet[f];
            return want === undefined || (got !== undefined && valueToBits(f, got) === valueToBits(f, want));
          })),
    );
  }

  isOutput(packet: PacketFields, port: OutputRecord['port'], expect?: PacketFields): boolean {
    return this.outputsTo(packet, port, expect).length > 0;
  }

  /**
   * The flows of a table that match p, as OVS's classifier holds them: flows with an identical
   * match form one list, highest priority first, and a lookup sees only the head of each list
   * (the others matter only when the conjunctive-match loop falls back to them).
   */
  private matchingLists(t: readonly FakeFlow[], p: PacketFields): FakeFlow[][] {
    const lists = new Map<string, FakeFlow[]>();
    for (const f of t) {
      if (!packetMatches(f, p)) continue;
      const l = lists.get(f.matchKey);
      if (l) l.push(f);
      else lists.set(f.matchKey, [f]);
    }
    const out = [...lists.values()];
    for (const l of out) l.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    return out;
  }

  /** The best of some ordinary flows, recording ties (OpenFlow leaves them undefined). */
  private best(tableId: number, flows: readonly FakeFlow[], st: WalkState): FakeFlow | undefined {
    let best: FakeFlow | undefined;
    let ties = 0;
    for (const f of flows) {
      if (!best || f.priority > best.priority) {
        best = f;
        ties = 0;
      } else if (f.priority === best.priority) {
        ties++;
        if (f.seq < best.seq) best = f;
      }
    }
    if (best && ties > 0) st.ambiguous.push({ tableId, priority: best.priority, match: best.match });
    return best;
  }

  /**
   * A table lookup with OVS's conjunctive matches (lib/classifier.c classifier_lookup__). With
   * `allowConj` false (the conj_id lookup), clause flows are skipped — and so are ordinary flows
   * hidden behind a clause flow of identical match and higher priority, as in OVS.
   */
  private lookup(tableId: number, p: PacketFields, st: WalkState, allowConj = true): { flow?: FakeFlow; conjId?: number } {
    const t = this.tables[tableId];
    if (!t) throw new FakeTableError('bad_table', `table ${tableId}`);
    const lists = this.matchingLists(t, p);
    let hard = this.best(tableId, lists.map((l) => l[0]).filter((f) => !f.conj), st);
    if (!allowConj) return { flow: hard };
    // Soft matches: [list, index of the clause flow in it].
    let soft: [FakeFlow[], number][] = lists.filter((l) => l[0].conj).map((l) => [l, 0]);
    for (;;) {
      const hardPri = hard ? hard.priority : -1;
      soft = soft.filter(([l, i]) => l[i].priority > hardPri);
      if (!soft.length) break;
      const softPri = Math.max(...soft.map(([l, i]) => l[i].priority));
      // id -> clauses seen (bit k-1) and the clause count of the first flow seen, as OVS keeps it.
      const seen = new Map<number, { bits: bigint; n: number }>();
      for (const [l, i] of soft) {
        if (l[i].priority !== softPri) continue;
        for (const c of l[i].conj!) {
          const m = seen.get(c.id) ?? { bits: 0n, n: c.nClauses };
          m.bits |= 1n << BigInt(c.clause - 1);
          seen.set(c.id, m);
        }
      }
      const complete = [...seen].filter(([, m]) => m.bits === (1n << BigInt(m.n)) - 1n).map(([id]) => id).sort((a, b) => a - b);
      for (const id of complete) {
        const { flow } = this.lookup(tableId, { ...p, conj_id: id }, st, false);
        if (flow) return { flow, conjId: id };
        st.trace.push({ tableId, priority: softPri, conjId: id, pass: st.pass, note: `conjunction(${id}) complete at priority ${softPri} but no flow found with conj_id=${id}: ignored` });
      }
      // Fall back to the next lower-priority flow of identical match behind each soft match.
      const next: [FakeFlow[], number][] = [];
      for (const [l, i] of soft) {
        if (l[i].priority !== softPri) {
          next.push([l, i]);
          continue;
        }
        const lower = l[i + 1];
        if (!lower) continue;
        if (lower.conj) next.push([l, i + 1]);
        else if (!hard || lower.priority > hard.priority) hard = lower;
      }
      soft = next;
    }
    return { flow: hard };
  }

  private runTable(tableId: number, p: PacketFields, st: WalkState, actionSet: Map<string, Action>): void {
    if (st.halted) return;
    const { flow: f, conjId } = this.lookup(tableId, p, st);
    const pass = st.pass ? { pass: st.pass } : {};
    if (!f) {
      st.trace.push({ tableId, miss: true, ...pass });
      return;
    }
    st.trace.push({ tableId, priority: f.priority, cookie: f.cookie, match: f.match, ...(conjId === undefined ? {} : { conjId }), ...pass });
    st.actionSet = actionSet;
    let gotoTable: number | undefined;
    for (const i of sortInstructions(f.instructions)) {
      if (st.halted) return;
      switch (i.type) {
        case 'apply_actions':
          this.execActions(i.actions, p, st, tableId);
          break;
        case 'clear_actions':
          actionSet.clear();
          break;
        case 'write_actions':
          for (const a of i.actions) actionSet.set(a.type === 'set_field' ? `set_field:${a.field}` : a.type, a);
          break;
        case 'write_metadata':
          p.metadata = ((p.metadata ?? 0n) & ~i.mask) | (i.metadata & i.mask);
          break;
        case 'goto_table':
          gotoTable = i.tableId;
          break;
        case 'meter':
          st.meters.push(i.meterId);
          break;
        default:
          throw new FakeTableError('unsupported', `instruction ${i.type}`);
      }
    }
    if (gotoTable !== undefined && !st.halted) this.runTable(gotoTable, p, st, actionSet);
  }

  private execActionSet(set: Map<string, Action>, p: PacketFields, st: WalkState): void {
    const acts = [...set.values()];
    const rank = (a: Action): number => (a.type === 'group' ? 2 : a.type === 'output' ? 3 : 1);
    const group = acts.find((a) => a.type === 'group');
    const ordered = acts.filter((a) => !(group && a.type === 'output')).sort((a, b) => rank(a) - rank(b));
    this.execActions(ordered, p, st, -1);
  }

  private output(port: PortNo, p: PacketFields, st: WalkState, more: Partial<OutputRecord> = {}): void {
    const extra: Partial<OutputRecord> = st.meters.length ? { ...more, meters: [...st.meters] } : more;
    if (port === 'in_port') {
      st.outputs.push({ port: p.in_port!, packet: { ...p }, ...extra });
      return;
    }
    if (typeof port === 'number' && port === p.in_port) {
      st.trace.push({ tableId: -1, note: `output:${port} is the in_port: dropped` });
      return;
    }
    st.outputs.push({ port, packet: { ...p }, ...extra });
  }

  private execActions(actions: readonly Action[], p: PacketFields, st: WalkState, tableId: number): void {
    for (const a of actions) {
      if (st.halted) return;
      switch (a.type) {
        case 'output':
          this.output(a.port, p, st, a.port === 'controller' ? { maxLen: a.maxLen } : {});
          break;
        case 'controller2':
          this.output('controller', p, st, { maxLen: a.maxLen, userdata: a.userdata, reason: a.reason });
          break;
        case 'set_field':
          (p as Record<string, unknown>)[a.field] = a.value;
          break;
        case 'move': {
          const src = fieldBits(p, a.src.field);
          if (src === undefined) throw new FakeTableError('prereq', `move from absent ${a.src.field}`);
          const bits = (src >> BigInt(a.src.ofs)) & ((1n << BigInt(a.src.nbits)) - 1n);
          this.writeBits(p, a.dst.field, a.dst.ofs, a.dst.nbits, bits);
          break;
        }
        case 'load':
          this.writeBits(p, a.dst.field, a.dst.ofs, a.dst.nbits, a.value);
          break;
        case 'dec_ttl': {
          const ttl = p.nw_ttl;
          if (ttl === undefined) throw new FakeTableError('prereq', 'dec_ttl without nw_ttl');
          if (ttl <= 1) {
            st.trace.push({ tableId, note: 'dec_ttl: ttl expired, dropped' });
            st.halted = true;
            return;
          }
          p.nw_ttl = ttl - 1;
          break;
        }
        case 'group':
          this.execGroup(a.groupId, p, st);
          break;
        case 'resubmit': {
          if (++st.depth > MAX_RESUBMIT_DEPTH) throw new FakeTableError('loop', 'resubmit depth exceeded');
          const table = a.table ?? tableId;
          const savedInPort = p.in_port;
          if (a.port !== undefined && a.port !== 'in_port') {
            if (typeof a.port !== 'number') throw new FakeTableError('unsupported', `resubmit port ${a.port}`);
            p.in_port = a.port;
          }
          this.runTable(table, p, st, new Map());
          if (a.port !== undefined && a.port !== 'in_port') p.in_port = savedInPort;
          st.depth--;
          break;
        }
        case 'note':
          break;
        case 'push_vlan':
          // One tag (no QinQ): a pushed tag carries vid 0 until set_field vlan_vid.
          if ((p.vlan_vid ?? 0) & 0x1000) throw new FakeTableError('unsupported', 'push_vlan on a tagged packet');
          p.vlan_vid = 0x1000;
          break;
        case 'pop_vlan':
          if (!((p.vlan_vid ?? 0) & 0x1000)) throw new FakeTableError('prereq', 'pop_vlan on an untagged packet');
          p.vlan_vid = 0;
          break;
        case 'ct':
          this.execCt(a, p, st, tableId);
          break;
        case 'ct_clear':
          for (const f of CT_FIELDS) delete p[f];
          break;
        case 'conjunction':
          // Never executed by OVS: a clause flow only takes part in lookups.
          break;
        default:
          throw new FakeTableError('unsupported', `action ${a.type}`);
      }
    }
  }

  private execCt(a: Extract<Action, { type: 'ct' }>, p: PacketFields, st: WalkState, tableId: number): void {
    checkCt(a);
    const zone = typeof a.zone === 'object' ? Number(((fieldBits(p, a.zone.field) ?? 0n) >> BigInt(a.zone.ofs)) & 0xffffn) : (a.zone ?? 0);
    let setMark: { value: number; mask: number } | undefined;
    let setLabel: { value: bigint; mask: bigint } | undefined;
    for (const n of a.actions ?? []) {
      if (n.type === 'set_field' && n.field === 'ct_mark') setMark = { value: n.value, mask: 0xffffffff };
      else if (n.type === 'set_field' && n.field === 'ct_label') setLabel = { value: n.value, mask: (1n << 128n) - 1n };
      else if (n.type === 'load') {
        const mask = ((1n << BigInt(n.dst.nbits)) - 1n) << BigInt(n.dst.ofs);
        const value = (n.value << BigInt(n.dst.ofs)) & mask;
        if (n.dst.field === 'ct_mark') {
          const prev = setMark ?? { value: 0, mask: 0 };
          setMark = { value: Number((BigInt(prev.value) & ~mask) | value), mask: Number(BigInt(prev.mask) | mask) };
        } else {
          const prev = setLabel ?? { value: 0n, mask: 0n };
          setLabel = { value: (prev.value & ~mask) | value, mask: prev.mask | mask };
        }
      }
    }
    const r = this.conntrack.execute(p, { zone, commit: a.commit ?? false, force: a.force ?? false, setMark, setLabel, nat: a.nat });
    const what = `ct(${a.commit ? 'commit,' : ''}zone=${zone}${natText(a.nat)}${a.table === undefined ? '' : `,table=${a.table}`})`;
    if (a.table !== undefined) {
      // The clone is the packet conntrack handled: translated when NAT applied.
      const copy: PacketFields = { ...p, ...r.rewrite, ct_state: r.state, ct_zone: r.zone, ct_mark: r.mark, ct_label: r.label };
      st.recirc.push({ table: a.table, packet: copy, actionSet: new Map(st.actionSet) });
      const nat = r.rewrite ? `, nat: ${rewriteText(r.rewrite)}` : r.natExhausted ? ', nat: no free tuple, not committed' : '';
      st.trace.push({ tableId, pass: st.pass, note: `${what}: ${ctStateText(r.state)}${nat}, a clone recirculates to table ${a.table}` });
    } else {
      st.trace.push({ tableId, pass: st.pass, note: `${what}: ${ctStateText(r.state)}${a.commit && r.entry ? ', committed' : ''}` });
    }
    // The ct_* fields exist only in the recirculated pass: the current packet is untracked now.
    for (const f of CT_FIELDS) delete p[f];
  }

  private writeBits(p: PacketFields, field: FieldName, ofs: number, nbits: number, value: bigint): void {
    if (ofs + nbits > fieldWidth(field)) throw new FakeTableError('unsupported', `${field}[${ofs}+${nbits}] too wide`);
    const cur = fieldBits(p, field) ?? 0n;
    const mask = ((1n << BigInt(nbits)) - 1n) << BigInt(ofs);
    const next = ((cur & ~mask) | ((value << BigInt(ofs)) & mask)) & fullMask(field);
    (p as Record<string, unknown>)[field] = bitsToValue(field, next);
  }

  private execGroup(id: number, p: PacketFields, st: WalkState): void {
    const g = this.groupTable.get(id);
    if (!g) throw new FakeTableError('unknown_group', `group ${id}`);
    st.trace.push({ tableId: -1, note: `group ${id} (${g.groupType}, ${g.buckets.length} buckets)` });
    const buckets = g.groupType === 'all' ? g.buckets : g.buckets.slice(0, 1);
    for (const b of buckets) {
      const clone: PacketFields = { ...p };
      const sub: WalkState = { ...st, meters: [...st.meters], halted: false };
      this.execActions(b.actions, clone, sub, -1);
      st.depth = sub.depth;
    }
  }
}

/** Convenience: a fresh fake table with messages applied. */
export function fakeTableWith(messages: Iterable<FakeMessage>): FakeOFTable {
  const t = new FakeOFTable();
  t.apply(messages);
  return t;
}
