import { LeaseNotFoundError, StoreError } from './errors.js';
import type { Lease, LeaseControl } from './types.js';

/**
 * A lease kept alive by this process: a keepalive every ttl/3. If the store says the lease is
 * gone, or no keepalive succeeds before the TTL runs out, the lease is lost (reported once).
 */
export class KeptLease implements Lease {
  private readonly listeners: Array<(err: Error) => void> = [];
  private lostError: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastOk = Date.now();
  private stopped = false;

  constructor(
    private readonly control: LeaseControl,
    readonly id: string,
    readonly ttlSeconds: number,
    private readonly onStop: (lease: KeptLease) => void = () => {},
  ) {
    this.schedule();
  }

  onLost(listener: (err: Error) => void): void {
    if (this.lostError !== undefined) queueMicrotask(() => listener(this.lostError!));
    else this.listeners.push(listener);
  }

  async revoke(): Promise<void> {
    this.stop();
    await this.control.revoke(this.id).catch((err: unknown) => {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    });
  }

  /** Stop keeping alive without revoking (store closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.onStop(this);
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = Math.max(100, (this.ttlSeconds * 1000) / 3);
    this.timer = setTimeout(() => void this.beat(), interval);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.control.keepAlive(this.id);
      this.lastOk = Date.now();
    } catch (err) {
      if (this.stopped) return;
      const expired = Date.now() - this.lastOk >= this.ttlSeconds * 1000;
      if (err instanceof LeaseNotFoundError || expired || !(err instanceof StoreError && err.recoverable)) {
        this.lose(err instanceof Error ? err : new LeaseNotFoundError(this.id));
        return;
      }
    }
    this.schedule();
  }

  private lose(err: Error): void {
    this.stop();
    this.lostError = err;
    for (const l of this.listeners.splice(0)) l(err);
  }
}

/**
 * The leases a driver keeps alive: `grantLease` of every driver (grant through its
 * LeaseControl, keep alive from here) and stop-all at close.
 */
export class KeptLeases {
  private readonly leases = new Set<KeptLease>();

  constructor(private readonly control: LeaseControl) {}

  async grant(ttlSeconds: number): Promise<Lease> {
    const info = await this.control.grant(ttlSeconds);
    const lease = new KeptLease(this.control, info.id, info.ttlSeconds, (l) => this.leases.delete(l));
    this.leases.add(lease);
    return lease;
  }

  /** Stop keeping every lease alive (the store is closing; the leases run out on their own). */
  stopAll(): void {
    for (const l of [...this.leases]) l.stop();
  }
}
