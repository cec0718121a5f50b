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
 * Connection key: zone, eth_type, source and destination address, ip_proto, and
 * - TCP/UDP/SCTP: the ports;
 * - ICMP echo (v4 8/0, also timestamp 13/14 and info 15/16; v6 128/129): the type and the type
 *   of its answer, so a request and its reply are one connection. OVS also keys on the echo
 *   identifier; PacketFields has no such field, so all pings between two hosts in a zone are one
 *   connection here;
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
 */
import type { Ipv4Addr, Ipv6Addr } from '../../src/openflow/types.js';
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
}

/** Walk input beyond OpenFlow fields; carried with the packet through tables, groups and ct. */
export interface PacketExtras {
  /** TCP header flags (TCP_FLAGS); absent = ACK. Only read by `ct`. */
  tcp_flags?: number;
  /** The embedded packet of an ICMP/ICMPv6 error. Only read by `ct`. */
  icmp_inner?: IcmpInnerPacket;
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
}

const ST = { new: 0x01, est: 0x02, rel: 0x04, rpl: 0x08, inv: 0x10, trk: 0x20 } as const;

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
}

// Coarse TCP peer states, ordered as OVS's CT_DPIF_TCPS_*.
const TCPS = { closed: 0, synSent: 2, established: 4, closing: 7, finWait2: 9, timeWait: 10 } as const;

export interface CtEntry {
  readonly zone: number;
  readonly ethType: number;
  /** Original direction (as first committed). */
  readonly orig: CtTuple;
  mark: number;
  label: bigint;
  /** A packet in the reply direction has been seen. */
  replied: boolean;
  /** TCP peer states [originator, responder]. */
  tcp?: [number, number];
}

const rev = (t: CtTuple): CtTuple => ({ src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport });
const tupleKey = (zone: number, ethType: number, t: CtTuple): string => `${zone}|${ethType.toString(16)}|${t.proto}|${t.src}|${t.sport}|${t.dst}|${t.dport}`;

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
  if (l4) return { ok: true, tuple: { src, dst, proto, sport: l4[0], dport: l4[1] }, related: false };
  const icmp = (v4 && proto === 1) || (v6 && proto === 58);
  if (!icmp) return { ok: true, tuple: { src, dst, proto, sport: 0, dport: 0 }, related: false };
  const type = (v4 ? p.icmpv4_type : p.icmpv6_type) ?? -1;
  const code = (v4 ? p.icmpv4_code : p.icmpv6_code) ?? 0;
  const pair = (v4 ? ICMP4_PAIRS : ICMP6_PAIRS)[type];
  if (pair !== undefined) {
    if (code !== 0) return { ok: false };
    return { ok: true, tuple: { src, dst, proto, sport: type, dport: pair }, related: false, icmpType: type };
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
  if (il4) t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: il4[0], dport: il4[1] };
  else if ((v4 && inner.ip_proto === 1) || (v6 && inner.ip_proto === 58)) {
    const itype = (v4 ? inner.icmpv4_type : inner.icmpv6_type) ?? -1;
    const ipair = (v4 ? ICMP4_PAIRS : ICMP6_PAIRS)[itype];
    if (ipair === undefined) return { ok: false }; // no error about an error
    t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: itype, dport: ipair };
  } else t = { src: isrc, dst: idst, proto: inner.ip_proto, sport: 0, dport: 0 };
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

export interface CtResult {
  /** ct_state bits for the packet (always with +trk). */
  readonly state: number;
  readonly zone: number;
  readonly mark: number;
  readonly label: bigint;
  /** The entry after this packet (committed or found), if any. */
  readonly entry?: CtEntry;
}

export interface CtRequest {
  readonly zone: number;
  readonly commit: boolean;
  readonly force: boolean;
  /** Masked writes to the entry's mark/label (ct(commit, exec(...))). */
  readonly setMark?: { value: number; mask: number };
  readonly setLabel?: { value: bigint; mask: bigint };
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
    const hit = this.byKey.get(tupleKey(req.zone, ethType, x.tuple));
    let entry = hit?.entry;
    const reply = hit?.reply ?? false;
    let state = 0;
    let create = false;
    if (x.related) {
      if (!entry) return inv();
      state = ST.rel | (reply ? ST.rpl : 0);
    } else {
      if (entry && req.force && reply) {
        this.remove(entry);
        entry = undefined;
      }
      if (entry) {
        const u = update(entry, p, reply);
        if (u === 'valid') state = ST.est | (reply ? ST.rpl : 0);
        else if (u === 'valid_new') state = ST.new;
        else if (u === 'invalid') return inv();
        else {
          this.remove(entry);
          entry = undefined;
          create = true;
        }
      } else create = true;
    }
    if (create) {
      if (!validNew(p, x)) return inv();
      state = ST.new;
      if (req.commit) entry = this.insert(req.zone, ethType, x.tuple, p);
    }
    if (entry && req.commit) {
      if (req.setMark) entry.mark = ((entry.mark & ~req.setMark.mask) | (req.setMark.value & req.setMark.mask)) >>> 0;
      if (req.setLabel) entry.label = (entry.label & ~req.setLabel.mask) | (req.setLabel.value & req.setLabel.mask);
    }
    return { state: state | ST.trk, zone: req.zone, mark: entry?.mark ?? 0, label: entry?.label ?? 0n, entry };
  }

  private insert(zone: number, ethType: number, t: CtTuple, p: CtPacketView): CtEntry {
    const f = p.tcp_flags ?? TCP_FLAGS.ack;
    const e: CtEntry = {
      zone,
      ethType,
      orig: t,
      mark: 0,
      label: 0n,
      replied: false,
      tcp: t.proto === 6 ? (f & TCP_FLAGS.syn ? [TCPS.synSent, TCPS.closed] : [TCPS.established, TCPS.established]) : undefined,
    };
    this.all.add(e);
    this.byKey.set(tupleKey(zone, ethType, t), { entry: e, reply: false });
    this.byKey.set(tupleKey(zone, ethType, rev(t)), { entry: e, reply: true });
    return e;
  }

  private remove(e: CtEntry): void {
    this.all.delete(e);
    this.byKey.delete(tupleKey(e.zone, e.ethType, e.orig));
    this.byKey.delete(tupleKey(e.zone, e.ethType, rev(e.orig)));
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
