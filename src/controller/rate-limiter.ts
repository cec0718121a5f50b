/**
 * Token buckets keyed by a small integer (a port key): `allow(key)` spends one token. Used so a
 * VM flooding DHCP (or any punted traffic) cannot starve the controller for the others.
 */
export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  /** Packets refused, per key, for counters. */
  readonly dropped = new Map<number, number>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  allow(key: number): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
    return false;
  }

  forget(key: number): void {
    this.buckets.delete(key);
  }
}
