import type { Store, Watch, WatchEvent } from '../../../src/store/types.js';

/** Records what a watch delivers, and waits for conditions on it. */
export class WatchRecorder {
  readonly batches: Array<{ revision: number; events: readonly WatchEvent[] }> = [];
  compacted: number | undefined;
  error: Error | undefined;
  readonly watch: Watch;

  constructor(store: Store, prefix: string, from: number) {
    this.watch = store.watch(prefix, from, {
      onEvents: (events, revision) => this.batches.push({ revision, events }),
      onCompacted: (rev) => (this.compacted = rev),
      onError: (err) => (this.error = err),
    });
  }

  get events(): WatchEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  async until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    await waitFor(pred, timeoutMs, () => `watch state: ${JSON.stringify(this.batches)}`);
  }
}

export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out${describe ? `: ${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
