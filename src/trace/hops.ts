/**
 * A trace across chassis, the pure half: the packet a tunnel delivers to the receiving chassis
 * (as an `ofproto/trace` flow with the tunnel metadata), the tunnel port of a chassis (from
 * `ovs-appctl dpif/show`), and the one story told from the per-chassis explanations: a chassis
 * header per hop and one path, e.g.
 * `[hv1] port vm1 → network blue → router r1 → network red → tunnel to hv2 (198.51.100.12) →
 * [hv2] network red → allowed by security group web rule … → port vm2`.
 * No I/O: src/trace/run.ts runs ovs-appctl and reads the store.
 */
import type { Explanation, TunnelExit } from './annotate.js';

/** Splits an ofproto/trace flow at its top-level commas (`packet_type=(0,0x800)` stays whole). */
export function splitFlow(flow: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < flow.length; i++) {
    const c = flow[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(flow.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(flow.slice(start).trim());
  return out.filter((f) => f !== '');
}

/** Protocol shorthands ofproto/trace accepts in a flow (OVS prints `eth` too, which it does not take back). */
const PROTOCOLS = new Set(['ip', 'ipv6', 'icmp', 'icmp6', 'tcp', 'tcp6', 'udp', 'udp6', 'sctp', 'sctp6', 'arp', 'rarp', 'mpls', 'mplsm']);

/** Fields of the packet itself (what crosses the wire), by prefix; everything else is pipeline state. */
const HEADER_FIELD = /^(dl_|vlan_|eth_|nw_|tp_|icmp_|icmpv6_|arp_|ipv6_|nd_|mpls_|tcp_flags$)/;

/**
 * The packet's own header fields of a flow as OVS prints it (`Flow:` / `Final flow:`), in their
 * order (protocol shorthands such as `icmp` come first, as ofproto/trace needs them before the
 * fields they enable): registers, metadata, in_port, tunnel, conntrack and recirculation state
 * are dropped, since none of them travels in the packet.
 */
export function packetHeaders(flow: string): string[] {
  return splitFlow(flow).filter((f) => {
    const eq = f.indexOf('=');
    if (eq < 0) return PROTOCOLS.has(f);
    return HEADER_FIELD.test(f.slice(0, eq));
  });
}

/** A port of a bridge as `ovs-appctl dpif/show` lists it. */
export interface DpifPort {
  readonly bridge: string;
  readonly name: string;
  readonly ofport: number;
  /** `geneve`, `vxlan`, `dummy`, `tap`, `system`, ... */
  readonly type: string;
  /** `key=flow, local_ip=198.51.100.11, remote_ip=flow` → `{ key: 'flow', local_ip: ..., ... }`. */
  readonly options: Readonly<Record<string, string>>;
}

/**
 * Parses `ovs-appctl dpif/show`:
 * ```
 * netdev@ovs-netdev: hit:0 missed:0
 *   br-int:
 *     br-int 65534/1: (tap)
 *     wyv-geneve 1/2: (geneve: key=flow, local_ip=198.51.100.11, remote_ip=flow)
 * ```
 */
export function parseDpifShow(text: string): DpifPort[] {
  const out: DpifPort[] = [];
  let bridge: string | undefined;
  for (const line of text.split('\n')) {
    const b = /^\s{2}(\S+):\s*$/.exec(line);
    if (b) {
      bridge = b[1];
      continue;
    }
    const p = /^\s{4,}(\S+) (\d+)\/\S+:\s*(?:\((\S+?)(?::\s*(.*))?\))?\s*$/.exec(line);
    if (!p || bridge === undefined) continue;
    const options: Record<string, string> = {};
    for (const kv of (p[4] ?? '').split(',')) {
      const eq = kv.indexOf('=');
      if (eq > 0) options[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
    }
    out.push({ bridge, name: p[1], ofport: Number(p[2]), type: p[3] ?? '', options });
  }
  return out;
}

/** The encapsulation of a tunnel exit: Geneve carries the port key in tun_metadata0, VXLAN in the VNI. */
export function exitEncap(exit: TunnelExit): 'geneve' | 'vxlan' {
  return exit.tunMetadata0 !== undefined ? 'geneve' : 'vxlan';
}

/** The tunnel port of `bridge` for an encapsulation (flow-based: `remote_ip=flow`), if any. */
export function tunnelPortOf(ports: readonly DpifPort[], bridge: string, encap: string): DpifPort | undefined {
  const candidates = ports.filter((p) => p.bridge === bridge && p.type === encap);
  return candidates.find((p) => p.options.remote_ip === 'flow') ?? candidates[0];
}

/**
 * The packet as the receiving chassis sees it: in_port = its tunnel port, the tunnel metadata
 * the sender set (tun_id, tun_metadata0) with tun_src/tun_dst, then the sender's packet headers
 * as they left (after its rewrites: router MACs, TTL).
 */
export function receiverFlow(o: {
  readonly inPort: string;
  readonly exit: TunnelExit;
  readonly tunSrc?: string;
  readonly headers: readonly string[];
}): string {
  const fields = [`in_port=${o.inPort}`, `tun_id=${o.exit.tunId}`];
  if (o.tunSrc) fields.push(`tun_src=${o.tunSrc}`);
  fields.push(`tun_dst=${o.exit.remoteIp}`);
  if (o.exit.tunMetadata0 !== undefined) fields.push(`tun_metadata0=${o.exit.tunMetadata0}`);
  return [...o.headers, ...fields].join(',');
}

// ---------------------------------------------------------------------------------------------
// The story

/** One chassis' part of a trace. */
export interface ChassisHop {
  /** Chassis name (from the store), or its tunnel IP when the store does not name it. */
  readonly chassis: string;
  readonly tunnelIp?: string;
  /** ovs-vswitchd control socket the trace ran against. */
  readonly appctlTarget?: string;
  /** The packet traced, in ofproto/trace syntax. */
  readonly flow: string;
  /** ovs-appctl's own output. */
  readonly raw: string;
  readonly explanation: Explanation;
  /** The hop and exit (index into its `explanation.exits`) this hop continues; absent for the first. */
  readonly from?: { readonly hop: number; readonly exit: number };
}

/** A tunnel exit the trace did not follow, and why. */
export interface UnfollowedExit {
  readonly hop: number;
  readonly exit: number;
  readonly chassis?: string;
  readonly reason: string;
}

export interface CrossTrace {
  readonly hops: readonly ChassisHop[];
  readonly unfollowed: readonly UnfollowedExit[];
}

export interface Story {
  /** The narrative: one block per chassis, each under its header, then the whole path. */
  readonly lines: readonly string[];
  /** The whole path from the first chassis to every end. */
  readonly summary: string;
  /** Where the packet ends, on whichever chassis (tunnels not followed count as ends). */
  readonly destinations: readonly string[];
  /** Nowhere delivered: every copy dropped. */
  readonly dropped: boolean;
}

function chassisTitle(h: ChassisHop): string {
  return h.tunnelIp && h.tunnelIp !== h.chassis ? `${h.chassis} (${h.tunnelIp})` : h.chassis;
}

const isSkipped = (d: string): boolean => d.endsWith('(skipped: input port)');

/** Tells the hops of `t` as one story. */
export function tellStory(t: CrossTrace): Story {
  const childOf = new Map<string, number>();
  t.hops.forEach((h, i) => {
    if (h.from) childOf.set(`${h.from.hop}/${h.from.exit}`, i);
  });
  const unfollowedOf = new Map(t.unfollowed.map((u) => [`${u.hop}/${u.exit}`, u]));
  const ends: string[] = [];

  const pathOf = (i: number, seen: ReadonlySet<number>): string => {
    const h = t.hops[i];
    const e = h.explanation;
    // On a receiving chassis the header already says where it came from.
    const hops = h.from ? e.hops.filter((x, k) => !(k === 0 && x.startsWith('tunnel'))) : [...e.hops];
    const parts: string[] = [];
    const exitOfDest = new Map(e.exits.map((x, k) => [x.destinationIndex, k]));
    e.destinations.forEach((d, di) => {
      const k = exitOfDest.get(di);
      const child = k === undefined ? undefined : childOf.get(`${i}/${k}`);
      if (k !== undefined && child !== undefined && !seen.has(child)) {
        const c = t.hops[child];
        parts.push(`tunnel to ${chassisTitle(c)} → ${pathOf(child, new Set([...seen, child]))}`);
        return;
      }
      const u = k === undefined ? undefined : unfollowedOf.get(`${i}/${k}`);
      const text = u ? `${d} (not followed: ${u.reason})` : d;
      if (!isSkipped(d)) ends.push(`[${h.chassis}] ${text}`);
      parts.push(text);
    });
    let end: string;
    if (e.dropped && parts.every((p) => isSkipped(p))) end = e.end;
    else if (parts.length === 1) end = parts[0];
    else end = `{ ${parts.join(', ')} }`;
    return [`[${h.chassis}]`, [...hops, end].join(' → ')].join(' ');
  };

  const lines: string[] = [];
  t.hops.forEach((h, i) => {
    if (i > 0) lines.push('');
    const via = h.from ? `, from ${t.hops[h.from.hop].chassis} through the tunnel` : '';
    lines.push(`=== chassis ${chassisTitle(h)}${via} ===`);
    // The per-chassis lines end with their own `path:` and `datapath actions:`.
    lines.push(...h.explanation.lines.map((l) => (l.startsWith('path: ') ? `chassis path: ${l.slice('path: '.length)}` : l)));
  });
  const summary = t.hops.length === 0 ? '' : pathOf(0, new Set([0]));
  for (const u of t.unfollowed) lines.push(`note: tunnel to ${u.chassis ?? t.hops[u.hop].explanation.exits[u.exit].remoteIp} not followed: ${u.reason}`);
  lines.push('');
  lines.push(`path: ${summary}`);
  return { lines, summary, destinations: ends, dropped: ends.length === 0 };
}

/** The structured form (`--json`). */
export function storyJson(t: CrossTrace, story: Story): unknown {
  const childOf = new Map<string, number>();
  t.hops.forEach((h, i) => {
    if (h.from) childOf.set(`${h.from.hop}/${h.from.exit}`, i);
  });
  return {
    path: story.summary,
    dropped: story.dropped,
    destinations: story.destinations,
    hops: t.hops.map((h, i) => {
      const e = h.explanation;
      return {
        chassis: h.chassis,
        ...(h.tunnelIp ? { tunnel_ip: h.tunnelIp } : {}),
        ...(h.appctlTarget ? { appctl_target: h.appctlTarget } : {}),
        ...(h.from ? { from: h.from } : {}),
        flow: h.flow,
        path: e.summary,
        hops: e.hops,
        end: e.end,
        destinations: e.destinations,
        dropped: e.dropped,
        ...(e.datapathActions !== undefined ? { datapath_actions: e.datapathActions } : {}),
        steps: e.steps.map(({ noMatch, ...step }) => ({ ...step, no_match: noMatch })),
        exits: e.exits.map((x, k) => {
          const child = childOf.get(`${i}/${k}`);
          const u = t.unfollowed.find((y) => y.hop === i && y.exit === k);
          return {
            remote_ip: x.remoteIp,
            tun_id: x.tunId,
            ...(x.tunMetadata0 !== undefined ? { tun_metadata0: x.tunMetadata0 } : {}),
            port_key: x.portKey,
            ...(x.networkKey !== undefined ? { network_key: x.networkKey } : {}),
            destination: x.destination,
            ...(child !== undefined ? { followed: true, hop: child, chassis: t.hops[child].chassis } : { followed: false }),
            ...(u ? { reason: u.reason, ...(u.chassis ? { chassis: u.chassis } : {}) } : {}),
          };
        }),
      };
    }),
  };
}
