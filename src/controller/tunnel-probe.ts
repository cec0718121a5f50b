/**
 * Tunnel endpoints resolved before traffic needs them (issue 9, item 5).
 *
 * The userspace datapath encapsulates a tunnelled packet itself and needs the underlay MAC of
 * the remote tunnel IP from its own neighbour cache (OVS lib/tnl-neigh-cache.c; `ovs-appctl
 * tnl/neigh/show`). When translating an output to a tunnel port finds no entry
 * (ofproto-dpif-xlate.c, native_tunnel_output), OVS sends an ARP request out of the underlay
 * bridge and DROPS the packet; the reply is snooped on its way to the bridge's local port and
 * fills the cache. So the first packet to every remote chassis was lost. An entry expires
 * `tnl/neigh/aging` (15 min by default) after it was last looked up (a lookup refreshes it).
 * Seen on OVS 3.1 with the aging set to 3 s: steady traffic (a ping every 0.2 s) kept the entry;
 * after 3 s idle it was gone and the next first packet was lost again; a packet-out like the
 * probe below, once a second, kept it through 8 s idle. A restarted ovs-vswitchd starts empty.
 *
 * So the controller sends each remote chassis a probe: an OpenFlow packet-out into the tunnel
 * port with `tun_dst` = the remote tunnel IP. Translating it looks the endpoint up: a miss
 * sends the ARP request (the probe itself is dropped), a hit refreshes the entry and the probe
 * travels to the remote chassis, which drops it (tunnel key 0 names no network: tunnel_in
 * misses). Each endpoint is probed when it appears or its address changes, again after a
 * few short delays (the controller cannot see the cache, and the first ARP may be lost), and
 * then periodically, well below the default aging. After the switch (re)connects every
 * endpoint starts over.
 *
 * `ProbePlanner` is the schedule, pure (time is passed in); `TunnelProber` is the edge: timers
 * and packet-outs through a `send` it is given.
 */
import type { ChassisRecord } from '../model/chassis.js';
import type { Outgoing } from '../openflow/channel.js';
import { OFP_NO_BUFFER } from '../openflow/ports.js';
import { encodeEthernet } from '../packet/index.js';

/** A remote chassis' tunnel endpoint. */
export interface ProbeTarget {
  readonly chassis: string;
  readonly ip: string;
}

/** Every other registered chassis' tunnel endpoint (any of them may become a destination). */
export function probeTargets(chassis: ReadonlyMap<string, ChassisRecord>, self: string, selfIp: string): ProbeTarget[] {
  return [...chassis.values()].filter((c) => c.name !== self && c.tunnel_ip !== selfIp).map((c) => ({ chassis: c.name, ip: c.tunnel_ip }));
}

export interface ProbeSchedule {
  /** Delays (ms) between the first sends to a new or changed endpoint: send at 0, then after each. */
  readonly retryMs: readonly number[];
  /** Then one send every this many ms (keep it well below `tnl/neigh/aging`, 15 min by default). */
  readonly refreshMs: number;
}

export const DEFAULT_PROBE_SCHEDULE: ProbeSchedule = { retryMs: [50, 200, 1_000, 5_000], refreshMs: 60_000 };

interface Entry {
  readonly ip: string;
  /** Sends made so far. */
  sent: number;
  nextAt: number;
}

/** Which endpoint to probe when. Pure: every method takes the current time. */
export class ProbePlanner {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly schedule: ProbeSchedule = DEFAULT_PROBE_SCHEDULE) {}

  /**
   * The endpoints to keep resolved. New ones, and ones whose address changed, are due at
   * `now`; ones that disappeared are forgotten; the rest keep their schedule.
   */
  setTargets(targets: Iterable<ProbeTarget>, now: number): void {
    const seen = new Set<string>();
    for (const t of targets) {
      seen.add(t.chassis);
      const e = this.entries.get(t.chassis);
      if (e && e.ip === t.ip) continue;
      this.entries.set(t.chassis, { ip: t.ip, sent: 0, nextAt: now });
    }
    for (const name of [...this.entries.keys()]) if (!seen.has(name)) this.entries.delete(name);
  }

  /** Start every endpoint over (the switch reconnected: its cache may be empty). */
  restart(now: number): void {
    for (const e of this.entries.values()) {
      e.sent = 0;
      e.nextAt = now;
    }
  }

  /** The endpoints due at `now`, each counted as sent and scheduled again. */
  due(now: number): ProbeTarget[] {
    const out: ProbeTarget[] = [];
    for (const [chassis, e] of this.entries) {
      if (e.nextAt > now) continue;
      out.push({ chassis, ip: e.ip });
      const delay = e.sent < this.schedule.retryMs.length ? this.schedule.retryMs[e.sent] : this.schedule.refreshMs;
      e.sent++;
      e.nextAt = now + delay;
    }
    return out;
  }

  /** When the next endpoint is due, or undefined with none. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) if (next === undefined || e.nextAt < next) next = e.nextAt;
    return next;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Ethertype of the probe frame: IEEE 802 local experimental (nothing forwards it anywhere). */
export const PROBE_ETHERTYPE = 0x88b5;
/** Tunnel key of a probe: no network has key 0, so the receiver's tunnel_in drops it. */
export const PROBE_TUNNEL_KEY = 0n;

/** The probe frame: padded to the Ethernet minimum, naming its sender for anyone capturing it. */
export function probeFrame(fromChassis: string): Buffer {
  const text = Buffer.from(`wyvern tunnel probe from ${fromChassis}`);
  const payload = Buffer.concat([text, Buffer.alloc(Math.max(0, 46 - text.length))]);
  const frame = encodeEthernet({
    dst: 'ff:ff:ff:ff:ff:ff',
    src: '02:00:00:00:00:00',
    etherType: PROBE_ETHERTYPE,
    payload: { type: 'raw', data: payload },
  });
  if (!frame.ok) throw new Error(`probe frame: ${frame.error.message}`);
  return frame.value;
}

/** The packet-out that makes the switch resolve (or refresh) `ip` through tunnel port `ofport`. */
export function probePacketOut(ofport: number, ip: string, frame: Buffer): Outgoing {
  return {
    type: 'packet_out',
    bufferId: OFP_NO_BUFFER,
    inPort: 'controller',
    actions: [
      { type: 'set_field', field: 'tun_ipv4_dst', value: ip },
      { type: 'set_field', field: 'tunnel_id', value: PROBE_TUNNEL_KEY },
      { type: 'output', port: ofport },
    ],
    data: frame,
  };
}

export interface TunnelProberOptions {
  readonly chassis: string;
  /** Hands a message to the switch connection; false when it cannot take it now. */
  readonly send: (msg: Outgoing) => boolean;
  /** Whether the switch is connected now (probes are only sent then). */
  readonly connected: () => boolean;
  /** The tunnel port's ofport, once known. */
  readonly ofport: () => number | undefined;
  readonly schedule?: ProbeSchedule;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

/** The edge: one timer, packet-outs when endpoints are due. */
export class TunnelProber {
  private readonly planner: ProbePlanner;
  private readonly now: () => number;
  private readonly frame: Buffer;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private stopped = false;
  /** Probes sent (packet-outs handed to the connection). */
  sent = 0;

  constructor(private readonly o: TunnelProberOptions) {
    this.planner = new ProbePlanner(o.schedule);
    this.now = o.now ?? Date.now;
    this.frame = probeFrame(o.chassis);
  }

  /** The remote endpoints now (every other chassis' tunnel IP). */
  setTargets(targets: Iterable<ProbeTarget>): void {
    this.planner.setTargets(targets, this.now());
    this.run();
  }

  /** The switch (re)connected: probe every endpoint from the start. */
  restart(): void {
    this.planner.restart(this.now());
    this.run();
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private run(): void {
    if (this.stopped) return;
    const ofport = this.o.ofport();
    if (!this.o.connected() || ofport === undefined) {
      // Nothing to do until the switch is back: restart() runs again then.
      this.disarm();
      return;
    }
    for (const t of this.planner.due(this.now())) {
      if (this.o.send(probePacketOut(ofport, t.ip, this.frame))) this.sent++;
      else this.o.log?.(`tunnel probe to ${t.chassis} (${t.ip}) not sent: switch connection busy`);
    }
    this.arm();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  private arm(): void {
    const at = this.planner.nextDueAt();
    if (at === this.timerAt) return;
    this.disarm();
    if (at === undefined) return;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.run();
    }, Math.max(0, at - this.now()));
    this.timer.unref();
  }
}
