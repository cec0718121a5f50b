/** What the side-by-side benchmark (bench/lib/vs-ovn.ts) needs from each system under test. */
import type { Vif } from './vif-plug.js';

export interface SystemUnderTest {
  readonly name: 'wyvern' | 'ovn';
  /** 1 router with one interface on each of `networks` networks (one subnet each). */
  buildTopology(networks: number): Promise<void>;
  /** Create one port per entry (the network index) through the system's north-bound, in as few
   *  requests/transactions as it allows (at most 500 ports each). */
  createPorts(networks: readonly number[]): Promise<Vif[]>;
  /** Plug the VIFs into br-int: one OVSDB transaction on a long-lived connection. */
  plug(vifs: readonly Vif[]): Promise<void>;
  /** performance.now() at which the port's flows were installed and acknowledged. */
  installedAt(vif: Vif): Promise<number>;
  /** performance.now() at which ovs-vswitchd gave the interface its OpenFlow port (the benchmark's
   *  own OVSDB connection sees it): what either controller has to wait for before it can act. */
  ofportAt(vif: Vif): Promise<number>;
  /** OpenFlow flows in br-int (`ovs-ofctl dump-flows`). */
  flowCount(): Promise<number>;
  /** Process ids by role; `controller` is the per-chassis controller. */
  pids(): Readonly<Record<string, number>>;
  /** Times the controller lost its OpenFlow connection to ovs-vswitchd (Wyvern; OVN: 0). */
  readonly switchLost: number;
  stop(): Promise<void>;
}

/** Subnet of network `i`: 10.(100+i).0.0/24, gateway .1, ports from .10. */
export const subnetOf = (i: number): { cidr: string; gateway: string; prefix: string } => ({
  cidr: `10.${100 + i}.0.0/24`,
  gateway: `10.${100 + i}.0.1`,
  prefix: `10.${100 + i}.0.`,
});

/** Wait until `check` is true (polled every `everyMs`), or throw after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves a waiter per key with the first time that key was marked. */
export class Marks {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, Array<(t: number) => void>>();
  mark(key: string, t: number): void {
    if (this.seen.has(key)) return;
    this.seen.set(key, t);
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    for (const f of w) f(t);
  }
  when(key: string): Promise<number> {
    const t = this.seen.get(key);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => {
      const w = this.waiters.get(key);
      if (w) w.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
  }
}

/** Count the flows in `ovs-ofctl dump-flows` output (one line with `actions=` per flow). */
export function countFlows(dump: string): number {
  return dump.split('\n').filter((l) => l.includes('actions=')).length;
}
