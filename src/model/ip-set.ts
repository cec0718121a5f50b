/**
 * Sets of addresses of one IP version as sorted, disjoint, non-adjacent ranges: what subnet pools
 * need (netaddr's IPSet in Neutron). Union, difference, containment, the minimal CIDR list of a
 * set (cidr_merge), and the first free aligned block of a given prefix length.
 */
import { bits, formatCidr, lastAddress, parseCidr, type Cidr } from './ip-address.js';

export interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

export class IpSet {
  private constructor(
    readonly version: 4 | 6,
    readonly ranges: readonly Range[],
  ) {}

  static empty(version: 4 | 6): IpSet {
    return new IpSet(version, []);
  }

  /** The set of the given CIDRs (all of `version`; host bits ignored). */
  static of(version: 4 | 6, cidrs: readonly Cidr[]): IpSet {
    return new IpSet(version, normalise(cidrs.map((c) => ({ start: c.network, end: lastAddress(c) }))));
  }

  /** From CIDR texts; undefined if one does not parse or is of another version. */
  static parse(version: 4 | 6, texts: readonly string[]): IpSet | undefined {
    const cs: Cidr[] = [];
    for (const t of texts) {
      const c = parseCidr(t);
      if (!c || c.version !== version) return undefined;
      cs.push(c);
    }
    return IpSet.of(version, cs);
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Number of addresses. */
  get size(): bigint {
    return this.ranges.reduce((n, r) => n + (r.end - r.start + 1n), 0n);
  }

  union(o: IpSet): IpSet {
    return new IpSet(this.version, normalise([...this.ranges, ...o.ranges]));
  }

  difference(o: IpSet): IpSet {
    let out: Range[] = [...this.ranges];
    for (const cut of o.ranges) {
      const next: Range[] = [];
      for (const r of out) {
        if (cut.end < r.start || cut.start > r.end) {
          next.push(r);
          continue;
        }
        if (cut.start > r.start) next.push({ start: r.start, end: cut.start - 1n });
        if (cut.end < r.end) next.push({ start: cut.end + 1n, end: r.end });
      }
      out = next;
    }
    return new IpSet(this.version, out);
  }

  intersects(o: IpSet): boolean {
    return this.ranges.some((a) => o.ranges.some((b) => a.start <= b.end && b.start <= a.end));
  }

  /** Every address of `o` is in this set. */
  containsAll(o: IpSet): boolean {
    return o.difference(this).isEmpty;
  }

  /** The minimal list of CIDRs covering exactly this set, in address order (netaddr.cidr_merge). */
  cidrs(): Cidr[] {
    const width = bits(this.version);
    const out: Cidr[] = [];
    for (const r of this.ranges) {
      let start = r.start;
      while (start <= r.end) {
        // The largest block aligned at `start` that fits in what is left of the range.
        let len = width;
        while (len > 0) {
          const size = 1n << BigInt(width - len + 1);
          if (start % size !== 0n || start + size - 1n > r.end) break;
          len--;
        }
        out.push({ version: this.version, network: start, prefixLen: len });
        start += 1n << BigInt(width - len);
      }
    }
    return out;
  }

  cidrTexts(): string[] {
    return this.cidrs().map(formatCidr);
  }

  /** The first block of `prefixLen` (aligned) entirely inside this set, or undefined. */
  firstBlock(prefixLen: number): Cidr | undefined {
    const size = 1n << BigInt(bits(this.version) - prefixLen);
    for (const r of this.ranges) {
      const start = ((r.start + size - 1n) / size) * size;
      if (start + size - 1n <= r.end) return { version: this.version, network: start, prefixLen };
    }
    return undefined;
  }
}

function normalise(rs: readonly Range[]): Range[] {
  const sorted = [...rs].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}
