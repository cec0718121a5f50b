/**
 * Knows when a controller's flows for a port are acknowledged by its switch. The controller
 * emits `synced` after the bundle holding a batch was committed and acknowledged, and exposes
 * that batch as `lastSent`; each new batch seen at `synced` is scanned for the flows that make a
 * port reachable on that chassis:
 *   - `in:<ofport>`: the classification flow of a local VIF (match in_port = ofport);
 *   - `mac:<mac>`:   an L2 lookup flow for the MAC with instructions (a reachable port; on other
 *                    chassis this is the flow that sends it into the tunnel).
 * The time of the first acknowledgement of each key is kept, so a wait for a key already seen
 * resolves at once with that time.
 */
import type { LocalController } from '../../src/controller/controller.js';
import type { PipelineMessage } from '../../src/pipeline/index.js';

export class AckTracker {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, Array<(t: number) => void>>();
  private last: readonly PipelineMessage[] | undefined;
  /** Acknowledged batches and the flow/group mods in them. */
  batches = 0;
  mods = 0;

  constructor(private readonly ctrl: LocalController) {
    this.last = ctrl.lastSent;
    ctrl.on('synced', () => this.onSynced());
  }

  private onSynced(): void {
    const batch = this.ctrl.lastSent;
    if (batch === this.last) return;
    this.last = batch;
    const now = performance.now();
    this.batches++;
    this.mods += batch.length;
    for (const m of batch) {
      if (m.type !== 'flow_mod' || (m.command !== 'add' && m.command !== 'modify_strict')) continue;
      if (typeof m.match.in_port === 'number') this.mark(`in:${m.match.in_port}`, now);
      const dst = m.match.eth_dst;
      if (typeof dst === 'string' && m.instructions.length > 0) this.mark(`mac:${dst.toLowerCase()}`, now);
    }
  }

  private mark(key: string, t: number): void {
    if (this.seen.has(key)) return;
    this.seen.set(key, t);
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    for (const f of w) f(t);
  }

  /** Resolves with the (performance.now) time the key was first acknowledged. */
  when(key: string): Promise<number> {
    const t = this.seen.get(key);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => {
      const w = this.waiters.get(key);
      if (w) w.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }
}

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
