/**
 * The connection tracker of the fake OpenFlow switch (test/support/fake-oftable.ts), modelled on
 * Open vSwitch's userspace conntrack (lib/conntrack.c, conntrack-tcp.c, conntrack-icmp.c,
 * conntrack-other.c) — the one `ovs-appctl ofproto/trace` exercises on a dummy/netdev bridge.
 *
 * What a packet needs beyond its match fields (see `PacketExtras`):
 * - `tcp_flags` (the TCP header flags, as OVS's `tcp_flags` field: FIN 0x01, SYN 0x02, RST 0x04,
 *   PSH 0x08, ACK 0x10, URG 0x20; `TCP_FLAGS` below). Absent means ACK, a mid-stream segment.
 * - `icmp_inner`: the packet embedded in an ICMP/ICMPv6 error (addresses, ip_proto, ports or
 *   ICMP type/code of the packet that caused the error).
 *
 * - `icmp_id`: the identifier of an ICMP/ICMPv6 echo (or timestamp/info) message. OpenFlow has no
 *   such field; absent reads as 0. NAT may rewrite it (see below).
 *
 * Connection key: zone, eth_type, source and destination address, ip_proto, and
 * - TCP/UDP/SCTP: the ports;
 * - ICMP echo (v4 8/0, also timestamp 13/14 and info 15/16; v6 128/129): the type, the type of
 *   its answer and the identifier, so a request and its reply are one connection (pings without
 *   `icmp_id` between two hosts in a zone are one connection);
 * - any other protocol: addresses and protocol only.
 *
 * ct_state, as OVS computes it:
 * - +trk always; +inv (alone with +trk) when the packet cannot be tracked: not IP; TCP flags
 *   OVS calls invalid (no SYN/ACK/RST, SYN with FIN or RST, FIN/PSH/URG without ACK); a TCP
 *   SYN+ACK, ICMP echo reply or any other non-request that would have to start a connection; an
 *   ICMP type conntrack does not parse (ICMPv6 neighbour discovery included); an ICMP error
 *   whose embedded packet is no connection in that zone or was not sent by the error's destination.
 *   ICMP errors are v4 types 3, 4, 5, 11, 12 and v6 types 1-4 (OVS also counts source quench and
 *   redirect); conntrack never starts a connection from an error.
 *   Note that OVS (like Linux by default) lets a TCP ACK without a SYN start a connection
 *   ("mid-stream pickup"): such a packet is +new, not +inv.
 * - +new when no committed entry exists; also for an original-direction packet of a committed
 *   UDP/SCTP/other/ICMP connection that has not yet seen a reply, and for a repeated SYN;
 * - +est once a committed connection is bidirectional (the reply itself is +est+rpl);
 * - +rpl in the reply direction; +rel for an ICMP error related to a committed connection (with
 *   +rpl when it travels towards the connection's originator, which is the usual case).
 * TCP is tracked by coarse peer states (SYN sent, established, closing, time-wait after RST or
 * both FINs: a new SYN then starts a fresh connection); sequence windows are not modelled.
 *
 * NAT (`ct(..., nat...)`), after lib/conntrack.c (conn_not_found, nat_get_unique_tuple,
 * nat_packet, handle_nat, initial_conn_lookup):
 * - A connection has an original tuple and a reply tuple. Without NAT the reply tuple is the
 *   reverse of the original; a NATed connection's reply tuple is the translated one (SNAT: the
 *   reply goes to the NAT address/port; DNAT: it comes from them), and replies are found by it.
 * - `nat(src=...)` / `nat(dst=...)` with commit on a new connection records the binding and
 *   translates the packet: the new address is the first of the range (OVS hashes into the range);
 *   no address keeps the packet's own. Ports (the ICMPv4 echo id counts as a port, both ends):
 *   SNAT without a port range and DNAT keep the source port unless the reply tuple collides with
 *   one already in the zone, then try the next ports of its class (1-511, 600-1023 or 1024-65535,
 *   wrapping; OVS gives up after 128 tries and then probes random starts, the model walks the
 *   whole class); SNAT with a port range starts at its first port (OVS: at a hashed offset);
 *   DNAT with a port range tries its ports for the destination (first one first) before falling
 *   back to moving the source port. No free tuple ("exhaustion"): nothing is committed, the
 *   packet stays +new and untranslated. `persistent`, `hash` and `random` change nothing here.
 * - Bare `nat`, `nat` without commit, or any `nat` on an existing connection applies the recorded
 *   binding: original direction as committed, reply direction reversed (the reply of an SNATed
 *   connection gets its destination translated, so it is +dnat, and vice versa). A bare `nat` that
 *   commits a new connection records no translation (the kernel's null binding).
 * - ct_state gets +snat (0x40) or +dnat (0x80) when the packet was translated. Entering ct in
 *   the zone of the packet's previous ct keeps its ct_state bits (OVS resets them only on a zone
 *   change); a packet already translated in that zone (+snat/+dnat) is looked up by its reverse
 *   tuple and not translated twice (OVS's natted lookup). OVS's fallback lookup by the recorded
 *   original tuple (check_orig_tuple) is not modelled. The fake table clears the ct fields of the
 *   pass that goes on after a ct (xlate's view), so a second ct in that pass starts from no
 *   ct_state where OVS's datapath would still carry the first one's bits; since `nat` needs
 *   `table=`, +snat/+dnat are never lost that way.
 * - Related ICMP errors: the outer destination (or source) is translated like any packet of that
 *   direction, and the embedded packet is rewritten to the tuple the other end knows (addresses
 *   and ports), as OVS's nat_inner_packet does. OVS's userspace datapath also does this for
 *   errors in the original direction (the kernel only when committing).
 * - The fake table accepts `nat` only with `table=` (the recirculated copy is the translated
 *   packet; the pass that goes on is untranslated, as ovs-actions(7) describes the fork).
 *   ALGs (`alg=`), expectations and their NAT are not modelled; ICMPv6 ids are not translated
 *   (OVS translates only ICMPv4 ids); IPv6 address ranges use their first address only.
 */
import type { BareNat, Ipv4Addr, Ipv6Addr, NatSpec } from '../../src/openflow/types.js';
import { bitsToIpv6, ipv6ToBits } from '../../src/pipeline/fields.js';

/** One spelling per address, so "fd00::1" and "fd00:0::1" are one endpoint. */
const canon = (a: string | undefined): string | undefined => (a !== undefined && a.includes(':') ? bitsToIpv6(ipv6ToBits(a)) : a);

export const TCP_FLAGS = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20 } as const;

/** The packet inside an ICMP/ICMPv6 error (its IP version is the outer packet's). */
export interface IcmpInnerPacket {
  readonly ipv4_src?: Ipv4Addr;
  readonly ipv4_dst?: Ipv4Addr;
  readonly ipv6_src?: Ipv6Addr;
  readonly ipv6_dst?: Ipv6Addr;
  readonly ip_proto: number;
  readonly tcp_src?: number;
  readonly tcp_dst?: number;
  readonly udp_src?: number;
  readonly udp_dst?: number;
  readonly sctp_src?: number;
  readonly sctp_dst?: number;
  readonly icmpv4_type?: number;
  readonly icmpv4_code?: number;
  readonly icmpv6_type?: number;
  readonly icmpv6_code?: number;
  /** Echo identifier when the embedded packet is an ICMP echo (absent = 0). */
  readonly icmp_id?: number;
}

/** Walk input beyond OpenFlow fields; carried with the packet through tables, groups and ct. */
export interface PacketExtras {
  /** TCP header flags (TCP_FLAGS); absent = ACK. Only read by `ct`. */
  tcp_flags?: number;
  /** The embedded packet of an ICMP/ICMPv6 error. Read by `ct`; rewritten by NAT. */
  icmp_inner?: IcmpInnerPacket;
  /** Identifier of an ICMP/ICMPv6 echo (timestamp, info) message; absent = 0. Rewritten by NAT. */
  icmp_id?: number;
}

/** The packet fields conntrack reads (a structural subset of PacketFields). */
export interface CtPacketView extends PacketExtras {
  eth_type?: number;
  ip_proto?: number;
  ipv4_src?: string;
  ipv4_dst?: string;
  ipv6_src?: string;
  ipv6_dst?: string;
  tcp_src?: number;
  tcp_dst?: number;
  udp_src?: number;
  udp_dst?: number;
  sctp_src?: number;
  sctp_dst?: number;
  icmpv4_type?: number;
  icmpv4_code?: number;
  icmpv6_type?: number;
  icmpv6_code?: number;
  /** The packet's ct fields from an earlier ct (a recirculated packet): OVS keeps them within a zone. */
  ct_state?: number;
  ct_zone?: number;
}

const ST = { new: 0x01, est: 0x02, rel: 0x04, rpl: 0x08, inv: 0x10, trk: 0x20, snat: 0x40, dnat: 0x80 } as const;
const NAT_BITS = ST.snat | ST.dnat;

/** "+new+trk" style text of ct_state bits. */
export function ctStateText(bits: number): string {
  const names: [string, number][] = [['new', 0x01], ['est', 0x02], ['rel', 0x04], ['rpl', 0x08], ['inv', 0x10], ['trk', 0x20], ['snat', 0x40], ['dnat', 0x80]];
  return names.filter(([, b]) => bits & b).map(([n]) => `+${n}`).join('') || '0';
}

/** The 5-tuple of one direction. */
export interface CtTuple {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  /** Port, or ICMP type for echo-like ICMP. */
  readonly sport: number;
  /** Port, or the answering ICMP type. */
  readonly dport: number;
  /** ICMP echo identifier (both ends); 0 for other protocols. */
  readonly id: number;
}

// Coarse TCP peer states, ordered as OVS's CT_DPIF_TCPS_*.
const TCPS = { closed: 0, synSent: 2, established: 4, closing: 7, finWait2: 9, timeWait: 10 } as const;

/** Which address a connection's NAT translates in the original direction. */
export type NatKind = 'src' | 'dst';

export interface CtEntry {
  readonly zone: number;
  readonly ethType: number;
  /** Original direction (as first committed). */
  readonly orig: CtTuple;
  /** Reply direction: the reverse of `orig`, translated when the connection is NATed. */
  readonly reply: CtTuple;
  /** The NAT recorded at commit, if any. */
  readonly nat?: NatKind;
  mark: number;
  label: bigint;
  /** A packet in the reply direction has been seen. */
  replied: boolean;
  /** TCP peer states [originator, responder]. */
  tcp?: [number, number];
}

const rev = (t: CtTuple): CtTuple => ({ src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport, id: t.id });
const tupleKey = (zone: number, ethType: number, t: CtTuple): string =>
  `${zone}|${ethType.toString(16)}|${t.proto}|${t.src}|${t.sport}|${t.dst}|${t.dport}|${t.id}`;

const ICMP4_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15 };
const ICMP4_REQUESTS = new Set([8, 13, 15]);
const ICMP4_ERRORS = new Set([3, 4, 5, 11, 12]);
const ICMP6_PAIRS: Record<number, number> = { 128: 129, 129: 128 };
const ICMP6_ERRORS = new Set([1, 2, 3, 4]);

type Extracted =
  | { readonly ok: false }
  | { readonly ok: true; readonly tuple: CtTuple; readonly related: boolean; readonly icmpType?: number };

function ports(p: CtPacketView | IcmpInnerPacket, proto: number): [number, number] | undefined {
  if (proto === 6) return [p.tcp_src ?? 0, p.tcp_dst ?? 0];
  if (proto === 17) return [p.udp_src ?? 0, p.udp_dst ?? 0];
  if (proto === 132) return [p.sctp_src ?? 0, p.sctp_dst ?? 0];
  return undefined;
}

/** The tuple conntrack would look up for a packet, after OVS's conn_key_extract. */
function extract(p: CtPacketView): Extracted {
  const v4 = p.eth_type === 0x0800;
  const v6 = p.eth_type === 0x86dd;
  if (!v4 && !v6) return { ok: false };
  const src = canon(v4 ? p.ipv4_src : p.ipv6_src);
  const dst = canon(v4 ? p.ipv4_dst : p.ipv6_dst);
  const proto = p.ip_proto;
  if (src === undefined || dst === undefined || proto === undefined) return { ok: false };
  const l4 = ports(p, proto);
  if (l4) return { ok: true, tuple: { src, dst, proto, sport: l4[0], dport: l4[1], id: 0 }, related: false };
  const icmp = (v4 && proto === 1) || (v6 && proto === 58);
  if (!icmp) return { ok: true, tuple: { src, dst, proto, sport: 0, dport: 0, id: 0 }, related: false };
  const type = (v4 ? p.icmpv4_type : p.icmpv6_type) ?? -1;
  const code = (v4 ? p.icmpv4_code : p.icmpv6_code) ?? 0;
  const pair = (v4 ? ICMP4_PAIRS : ICMP6_PAIRS)[type];
  if (pair !== undefined) {
    if (code !== 0) return { ok: false };
    return { ok: true, tuple: { src, dst, proto, sport: type, dport: pair, id: p.icmp_id ?? 0 }, related: false, icmpType: type };
  }
  if (!(v4 ? ICMP4_ERRORS : ICMP6_ERRORS).has(type)) return { ok: false };
  const inner = p.icmp_inner;
  if (!inner) return { ok: false };
  const isrc = canon(v4 ? inner.ipv4_src : inner.ipv6_src);
  const idst = canon(v4 ? inner.ipv4_dst : inner.ipv6_dst);
  // The error must go back to whoever sent the embedded packet.
  if (isrc === undefined || idst === undefined || isrc !== dst) return { ok: false };
  const il4 = ports(inner, inner.ip_proto);
  let t: CtTuple;
  if (il4) t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: il4[0], dport: il4[1], id: 0 };
  else if ((v4 && inner.ip_proto === 1) || (v6 && inner.ip_proto === 58)) {
    const itype = (v4 ? inner.icmpv4_type : inner.icmpv6_type) ?? -1;
    const ipair = (v4 ? ICMP4_PAIRS : ICMP6_PAIRS)[itype];
    if (ipair === undefined) return { ok: false }; // no error about an error
    t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: itype, dport: ipair, id: inner.icmp_id ?? 0 };
  } else t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: 0, dport: 0, id: 0 };
  return { ok: true, tuple: rev(t), related: true };
}

function tcpInvalidFlags(f: number): boolean {
  if (f & TCP_FLAGS.syn) {
    if (f & (TCP_FLAGS.rst | TCP_FLAGS.fin)) return true;
  } else if (!(f & (TCP_FLAGS.ack | TCP_FLAGS.rst))) return true;
  if (!(f & TCP_FLAGS.ack) && f & (TCP_FLAGS.fin | TCP_FLAGS.psh | TCP_FLAGS.urg)) return true;
  return false;
}

/** May this packet start a connection (OVS valid_new)? */
function validNew(p: CtPacketView, x: Extract<Extracted, { ok: true }>): boolean {
  if (x.tuple.proto === 6) {
    const f = p.tcp_flags ?? TCP_FLAGS.ack;
    return !tcpInvalidFlags(f) && !((f & TCP_FLAGS.syn) && (f & TCP_FLAGS.ack));
  }
  if (x.icmpType !== undefined) return p.eth_type === 0x0800 ? ICMP4_REQUESTS.has(x.icmpType) : x.icmpType === 128;
  return true;
}

type Update = 'valid' | 'valid_new' | 'invalid' | 'new';

/** Advance the entry's state with a packet (OVS conn_update per protocol). */
function update(e: CtEntry, p: CtPacketView, reply: boolean): Update {
  if (e.orig.proto === 6 && e.tcp) {
    const f = p.tcp_flags ?? TCP_FLAGS.ack;
    if (tcpInvalidFlags(f)) return 'invalid';
    const [si, di] = reply ? [1, 0] : [0, 1];
    const s = e.tcp;
    if ((f & (TCP_FLAGS.syn | TCP_FLAGS.ack)) === TCP_FLAGS.syn) {
      if (s[si] >= TCPS.finWait2 && s[di] >= TCPS.finWait2) return 'new';
      if (s[si] <= TCPS.synSent) {
        s[si] = TCPS.synSent;
        return 'valid_new';
      }
    }
    if (f & TCP_FLAGS.syn && s[si] < TCPS.synSent) s[si] = TCPS.synSent;
    if (f & TCP_FLAGS.fin && s[si] < TCPS.closing) s[si] = TCPS.closing;
    if (f & TCP_FLAGS.ack) {
      if (s[di] === TCPS.synSent) s[di] = TCPS.established;
      else if (s[di] === TCPS.closing) s[di] = TCPS.finWait2;
    }
    if (f & TCP_FLAGS.rst) s[0] = s[1] = TCPS.timeWait;
    if (reply) e.replied = true;
    return 'valid';
  }
  if (reply) e.replied = true;
  return e.replied ? 'valid' : 'valid_new';
}

/** Packet fields a NAT rewrote (to be applied to the packet before it goes on). */
export type NatRewrite = Partial<Pick<CtPacketView, 'ipv4_src' | 'ipv4_dst' | 'ipv6_src' | 'ipv6_dst' | 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst' | 'sctp_src' | 'sctp_dst' | 'icmp_id' | 'icmp_inner'>>;

export interface CtResult {
  /** ct_state bits for the packet (always with +trk). */
  readonly state: number;
  readonly zone: number;
  readonly mark: number;
  readonly label: bigint;
  /** The entry after this packet (committed or found), if any. */
  readonly entry?: CtEntry;
  /** What NAT changed in the packet, if it translated it. */
  readonly rewrite?: NatRewrite;
  /** A commit with NAT found no free tuple: nothing was committed. */
  readonly natExhausted?: boolean;
}

export interface CtRequest {
  readonly zone: number;
  readonly commit: boolean;
  readonly force: boolean;
  /** Masked writes to the entry's mark/label (ct(commit, exec(...))). */
  readonly setMark?: { value: number; mask: number };
  readonly setLabel?: { value: bigint; mask: bigint };
  /** The ct action's `nat` (bare `{}` or a NatSpec). */
  readonly nat?: NatSpec | BareNat;
}

const isNatSpec = (n: NatSpec | BareNat): n is NatSpec => 'kind' in n;
const flip = (k: NatKind): NatKind => (k === 'src' ? 'dst' : 'src');
const isIcmp = (ethType: number, proto: number): boolean => (ethType === 0x0800 && proto === 1) || (ethType === 0x86dd && proto === 58);
/** Protocols whose "ports" NAT may choose (OVS pat_proto: TCP, UDP, SCTP, ICMPv4 ids). */
const patProto = (ethType: number, proto: number): boolean => proto === 6 || proto === 17 || proto === 132 || (ethType === 0x0800 && proto === 1);

/** The port class OVS searches when it keeps a port (set_sport_range). */
function portClass(port: number): [number, number] {
  if (port < 512) return [1, 511];
  if (port < 1024) return [600, 1023];
  return [1024, 65535];
}

/** Ports in OVS's FOR_EACH_PORT_IN_RANGE order: curr first, then on from it (or min), wrapping. */
function* portsFrom(curr: number, min: number, max: number): Generator<number> {
  const inRange = curr >= min && curr <= max;
  let n = max - min + (inRange ? 1 : 2);
  for (let p = curr; n > 0; n--, p = !(p >= min && p <= max) || p === max ? min : p + 1) yield p;
}

/** The "ports" of a tuple for NAT: the ICMP id stands for both ends. */
function l4Of(t: CtTuple, icmp: boolean): [number, number] {
  return icmp ? [t.id, t.id] : [t.sport, t.dport];
}
function withL4(t: CtTuple, icmp: boolean, s: number, d: number): CtTuple {
  return icmp ? { ...t, id: s } : { ...t, sport: s, dport: d };
}

/** Sets a packet's (or embedded packet's) source and destination ports / echo id as OVS's pat_packet. */
function patFields(proto: number, ethType: number, sport: number, dport: number, id: number, echo: boolean): NatRewrite {
  if (proto === 6) return { tcp_src: sport, tcp_dst: dport };
  if (proto === 17) return { udp_src: sport, udp_dst: dport };
  if (proto === 132) return { sctp_src: sport, sctp_dst: dport };
  if (ethType === 0x0800 && proto === 1 && echo) return { icmp_id: id };
  return {};
}

const isEcho = (ethType: number, type: number | undefined): boolean =>
  type !== undefined && (ethType === 0x0800 ? ICMP4_PAIRS : ICMP6_PAIRS)[type] !== undefined;

/**
 * OVS nat_packet: translate a packet of `e` travelling in the given direction. Returns the
 * fields to write and the ct_state bit.
 */
function natPacket(p: CtPacketView, e: CtEntry, reply: boolean, related: boolean): { rewrite: NatRewrite; bit: number } {
  const kind = reply ? flip(e.nat!) : e.nat!;
  // The tuple the packet must look like after translation, seen from its own direction.
  const key = reply ? e.orig : e.reply;
  const v4 = e.ethType === 0x0800;
  const out: { -readonly [K in keyof NatRewrite]: NatRewrite[K] } = {};
  if (kind === 'src') out[v4 ? 'ipv4_src' : 'ipv6_src'] = key.dst;
  else out[v4 ? 'ipv4_dst' : 'ipv6_dst'] = key.src;
  if (!related) {
    Object.assign(out, patFields(key.proto, e.ethType, key.dport, key.sport, key.id, isEcho(e.ethType, v4 ? p.icmpv4_type : p.icmpv6_type)));
  } else if (p.icmp_inner) {
    // nat_inner_packet: the embedded packet travelled the other way; give it the tuple its sender used.
    const rk = rev(key);
    const inner = p.icmp_inner;
    const innerKind = flip(kind);
    const addr: Partial<IcmpInnerPacket> =
      innerKind === 'src' ? { [v4 ? 'ipv4_src' : 'ipv6_src']: rk.dst } : { [v4 ? 'ipv4_dst' : 'ipv6_dst']: rk.src };
    const ports = patFields(rk.proto, e.ethType, rk.dport, rk.sport, rk.id, isEcho(e.ethType, v4 ? inner.icmpv4_type : inner.icmpv6_type));
    out.icmp_inner = { ...inner, ...addr, ...ports } as IcmpInnerPacket;
  }
  return { rewrite: out, bit: kind === 'src' ? ST.snat : ST.dnat };
}

/** The connection table: entries per zone, looked up in both directions. */
export class FakeConntrack {
  private readonly byKey = new Map<string, { entry: CtEntry; reply: boolean }>();
  private readonly all = new Set<CtEntry>();

  /** Run one packet through conntrack (the `ct` action). */
  execute(p: CtPacketView, req: CtRequest): CtResult {
    const x = extract(p);
    const inv = (): CtResult => ({ state: ST.inv | ST.trk, zone: req.zone, mark: 0, label: 0n });
    if (!x.ok) return inv();
    const ethType = p.eth_type as number;
    // process_one: the ct_state of an earlier ct is kept within its zone, reset on entering another.
    const prior = (p.ct_zone ?? 0) === req.zone ? (p.ct_state ?? 0) : 0;
    // initial_conn_lookup: a packet already translated in this zone is found by its reverse tuple.
    const natted = (prior & NAT_BITS) !== 0;
    let tuple = x.tuple;
    let hit = this.byKey.get(tupleKey(req.zone, ethType, natted ? rev(tuple) : tuple));
    if (natted && hit) {
      hit = { entry: hit.entry, reply: !hit.reply };
      tuple = hit.reply ? hit.entry.reply : hit.entry.orig;
    }
    let entry = hit?.entry;
    const reply = hit?.reply ?? false;
    let state = prior;
    let create = false;
    if (x.related) {
      if (!entry) return inv();
      state |= ST.rel | (reply ? ST.rpl : 0);
    } else {
      if (entry && req.force && reply) {
        this.remove(entry);
        entry = undefined;
      }
      if (entry) {
        const u = update(entry, p, reply);
        if (u === 'valid') state = (state | ST.est | (reply ? ST.rpl : 0)) & ~ST.new;
        else if (u === 'valid_new') state |= ST.new;
        else if (u === 'invalid') return inv();
        else {
          this.remove(entry);
          entry = undefined;
          create = true;
        }
      } else create = true;
    }
    let rewrite: NatRewrite | undefined;
    let natExhausted = false;
    if (create && this.taken(req.zone, ethType, tuple)) {
      // A natted packet whose reverse tuple is no connection but whose own tuple is: OVS leaves it be.
      create = false;
    } else if (create) {
      if (!validNew(p, x)) return inv();
      state = ST.new;
      if (req.commit) {
        const spec = req.nat && isNatSpec(req.nat) ? req.nat : undefined;
        const replyTuple = spec ? this.uniqueReply(req.zone, ethType, tuple, spec) : rev(tuple);
        if (replyTuple) {
          entry = this.insert(req.zone, ethType, tuple, replyTuple, spec?.kind, p);
          if (entry.nat) {
            const n = natPacket(p, entry, false, false);
            rewrite = n.rewrite;
            state |= n.bit;
          }
        } else natExhausted = true;
      }
    } else if (entry && req.nat && entry.nat && !(state & NAT_BITS)) {
      // handle_nat: apply the recorded binding (new NAT arguments are ignored), once per zone.
      const n = natPacket(p, entry, reply, x.related);
      rewrite = n.rewrite;
      state |= n.bit;
    }
    if (entry && req.commit) {
      if (req.setMark) entry.mark = ((entry.mark & ~req.setMark.mask) | (req.setMark.value & req.setMark.mask)) >>> 0;
      if (req.setLabel) entry.label = (entry.label & ~req.setLabel.mask) | (req.setLabel.value & req.setLabel.mask);
    }
    return {
      state: state | ST.trk, zone: req.zone, mark: entry?.mark ?? 0, label: entry?.label ?? 0n, entry,
      ...(rewrite ? { rewrite } : {}), ...(natExhausted ? { natExhausted } : {}),
    };
  }

  private taken(zone: number, ethType: number, t: CtTuple): boolean {
    return this.byKey.has(tupleKey(zone, ethType, t));
  }

  /**
   * OVS nat_get_unique_tuple (deterministic: the first address, ports from the first candidate):
   * the reply tuple of a new connection `orig` translated by `spec`, or undefined when every
   * candidate collides with a tuple of the zone.
   */
  private uniqueReply(zone: number, ethType: number, orig: CtTuple, spec: NatSpec): CtTuple | undefined {
    const v6 = ethType === 0x86dd;
    const min = v6 ? spec.ipv6Min : spec.ipv4Min;
    let r = rev(orig);
    if (min !== undefined) r = spec.kind === 'src' ? { ...r, dst: canon(min)! } : { ...r, src: canon(min)! };
    if (!patProto(ethType, orig.proto)) return this.taken(zone, ethType, r) ? undefined : r;
    const icmp = isIcmp(ethType, orig.proto);
    const [osport, odport] = l4Of(orig, icmp);
    const portRange = spec.portMin !== undefined ? ([spec.portMin, spec.portMax ?? spec.portMin] as const) : undefined;
    // Source port: kept (searched in its class) unless SNAT names a range.
    const [smin, smax] = spec.kind === 'src' && portRange ? portRange : portClass(osport);
    const scurr = spec.kind === 'src' && portRange ? portRange[0] : osport;
    // Destination port: kept unless DNAT names a range. Reply tuple: sport = dest port, dport = source port.
    const dcurr = spec.kind === 'dst' && portRange && !icmp ? portRange[0] : odport;
    if (spec.kind === 'dst' && portRange && !icmp) {
      for (const d of portsFrom(dcurr, portRange[0], portRange[1])) {
        const c = withL4(r, icmp, d, scurr);
        if (!this.taken(zone, ethType, c)) return c;
      }
    }
    for (const s of portsFrom(scurr, smin, smax)) {
      const c = withL4(r, icmp, icmp ? s : dcurr, s);
      if (!this.taken(zone, ethType, c)) return c;
    }
    return undefined;
  }

  private insert(zone: number, ethType: number, t: CtTuple, reply: CtTuple, nat: NatKind | undefined, p: CtPacketView): CtEntry {
    const f = p.tcp_flags ?? TCP_FLAGS.ack;
    const e: CtEntry = {
      zone,
      ethType,
      orig: t,
      reply,
      ...(nat ? { nat } : {}),
      mark: 0,
      label: 0n,
      replied: false,
      tcp: t.proto === 6 ? (f & TCP_FLAGS.syn ? [TCPS.synSent, TCPS.closed] : [TCPS.established, TCPS.established]) : undefined,
    };
    this.all.add(e);
    this.byKey.set(tupleKey(zone, ethType, t), { entry: e, reply: false });
    this.byKey.set(tupleKey(zone, ethType, reply), { entry: e, reply: true });
    return e;
  }

  private remove(e: CtEntry): void {
    this.all.delete(e);
    this.byKey.delete(tupleKey(e.zone, e.ethType, e.orig));
    this.byKey.delete(tupleKey(e.zone, e.ethType, e.reply));
  }

  /** Committed entries (optionally of one zone), oldest first. */
  entries(zone?: number): readonly CtEntry[] {
    return [...this.all].filter((e) => zone === undefined || e.zone === zone);
  }

  /** Like `ovs-appctl dpctl/flush-conntrack zone=N`; returns how many entries went. */
  flushZone(zone: number): number {
    const gone = this.entries(zone);
    for (const e of gone) this.remove(e);
    return gone.length;
  }

  /** Like `ovs-appctl dpctl/flush-conntrack`. */
  flush(): number {
    const n = this.all.size;
    this.all.clear();
    this.byKey.clear();
    return n;
  }
}
