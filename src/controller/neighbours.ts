/**
 * Neighbours on external networks: the MACs of the next hops a router reaches through the
 * physical network (the external subnet's gateway, other floating IPs, hosts on that subnet),
 * learned by ARP on the chassis that sends there (the gateway chassis, a floating IP's chassis).
 * No central MAC binding table: each chassis asks for what it needs.
 *
 * - `wanted()` lists the addresses to resolve ahead of traffic (every external subnet's
 *   gateway_ip a router here leaves through), asked again every `refreshMs` so a changed
 *   upstream MAC is picked up;
 * - a packet to an unknown next hop is punted (neighbour_miss): the table asks for it, holds the
 *   packet (a few per address) and releases it once the flow for the answer is installed;
 * - ARP replies to our addresses there are punted (neighbour_learn) and learned.
 * Pure data structure; the controller does the I/O (see controller.ts).
 */
import { ipv4ToBits } from '../pipeline/fields.js';

/** Held packets per address being resolved, and addresses being resolved per network. */
const MAX_HELD_PER_ADDRESS = 4;
const MAX_PENDING_PER_NETWORK = 256;
/** Learned entries per network (oldest dropped first). */
const MAX_ENTRIES_PER_NETWORK = 4096;

export interface HeldPacket {
  readonly packet: Buffer;
  readonly networkKey: number;
  readonly ip: string;
}

export class NeighbourTable {
  /** network id → (ip → mac); a network's map is replaced on every change (identity = version). */
  private entries = new Map<string, ReadonlyMap<string, string>>();
  private readonly pending = new Map<string, Map<string, HeldPacket[]>>();

  /** The learned neighbours, per network id (maps replaced when they change). */
  snapshot(): ReadonlyMap<string, ReadonlyMap<string, string>> {
    return this.entries;
  }

  get(networkId: string, ip: string): string | undefined {
    return this.entries.get(networkId)?.get(ip);
  }

  /** Learn `ip` is at `mac` on network `networkId`; true if that is news. */
  learn(networkId: string, ip: string, mac: string): boolean {
    const m = mac.toLowerCase();
    const cur = this.entries.get(networkId);
    if (cur?.get(ip) === m) return false;
    const next = new Map(cur ?? []);
    next.delete(ip);
    next.set(ip, m);
    while (next.size > MAX_ENTRIES_PER_NETWORK) next.delete(next.keys().next().value as string);
    const entries = new Map(this.entries);
    entries.set(networkId, next);
    this.entries = entries;
    return true;
  }

  /** Forget the networks not in `keep` (no longer external here). */
  retain(keep: ReadonlySet<string>): void {
    if ([...this.entries.keys()].every((id) => keep.has(id))) return;
    this.entries = new Map([...this.entries].filter(([id]) => keep.has(id)));
    for (const id of [...this.pending.keys()]) if (!keep.has(id)) this.pending.delete(id);
  }

  /**
   * A packet missed next hop `ip`: hold it. Returns true when `ip` was not being resolved yet
   * (the caller sends the ARP request).
   */
  hold(networkId: string, p: HeldPacket): boolean {
    let byIp = this.pending.get(networkId);
    if (!byIp) this.pending.set(networkId, (byIp = new Map()));
    let held = byIp.get(p.ip);
    const fresh = held === undefined;
    if (!held) {
      if (byIp.size >= MAX_PENDING_PER_NETWORK) return false;
      byIp.set(p.ip, (held = []));
    }
    if (held.length < MAX_HELD_PER_ADDRESS) held.push(p);
    return fresh;
  }

  /** The packets held for addresses that are now known (removed from the table). */
  releasable(): HeldPacket[] {
    const out: HeldPacket[] = [];
    for (const [netId, byIp] of this.pending) {
      for (const [ip, held] of byIp) {
        if (this.get(netId, ip) === undefined) continue;
        out.push(...held);
        byIp.delete(ip);
      }
    }
    return out;
  }

  /** Stop waiting for addresses nobody answered (the caller calls this now and then). */
  dropPending(): void {
    this.pending.clear();
  }
}

/** Is IPv4 `ip` inside `cidr`? */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, lenText] = cidr.split('/');
  const len = Number(lenText ?? 32);
  const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
  return (ipv4ToBits(ip) & mask) === (ipv4ToBits(net) & mask);
}
