import { WatchHandlerError } from './errors.js';
import type { Watch, WatchEvent, WatchHandlers } from './types.js';

/** What an in-process driver (memory, sqlite) offers the hub to replay history. */
export interface HistorySource {
  currentRevision(): number;
  /** Oldest revision still in history; watching from below it is compacted. */
  compactRevision(): number;
  /** Events under `prefix` with revision >= `from`, grouped per revision in revision order. */
  history(prefix: string, from: number): Array<[number, WatchEvent[]]>;
}

type Item = { kind: 'events'; revision: number; events: WatchEvent[] } | { kind: 'compacted'; revision: number };

class HubWatcher implements Watch {
  next: number;
  done = false;
  private readonly queue: Item[] = [];
  private scheduled = false;

  constructor(
    private readonly hub: WatchHub,
    readonly prefix: string,
    from: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.next = from;
  }

  enqueue(item: Item): void {
    if (this.done) return;
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    while (!this.done && this.queue.length > 0) {
      const item = this.queue.shift()!;
      try {
        if (item.kind === 'events') this.handlers.onEvents(item.events, item.revision);
        else {
          this.finish();
          this.handlers.onCompacted?.(item.revision);
        }
      } catch (err) {
        this.finish();
        this.handlers.onError?.(new WatchHandlerError('watch handler threw', { cause: err }));
      }
    }
  }

  finish(): void {
    this.done = true;
    this.queue.length = 0;
    this.hub.remove(this);
  }

  cancel(): Promise<void> {
    this.finish();
    return Promise.resolve();
  }
}

/**
 * Fan-out of committed changes to in-process watchers. Registration replays history and joins
 * the live feed synchronously, so nothing falls between; delivery is asynchronous (a microtask),
 * never inside the writer's call stack.
 */
export class WatchHub {
  private readonly watchers = new Set<HubWatcher>();

  constructor(private readonly source: HistorySource) {}

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const current = this.source.currentRevision();
    const from = fromRevision > 0 ? fromRevision : current + 1;
    const w = new HubWatcher(this, prefix, from, handlers);
    const compactRevision = this.source.compactRevision();
    if (from < compactRevision) {
      w.enqueue({ kind: 'compacted', revision: compactRevision });
      return w;
    }
    if (from <= current) {
      for (const [revision, events] of this.source.history(prefix, from)) {
        w.enqueue({ kind: 'events', revision, events });
      }
    }
    w.next = Math.max(from, current + 1);
    this.watchers.add(w);
    return w;
  }

  /** Call after the transaction of `revision` is durable. `events` are sorted by key. */
  publish(revision: number, events: readonly WatchEvent[]): void {
    // Many watchers share a prefix (every controller watches /nb/): one filtered batch per
    // prefix, shared by its watchers (handlers get a readonly array).
    const byPrefix = new Map<string, Item | null>();
    for (const w of this.watchers) {
      if (revision < w.next) continue;
      w.next = revision + 1;
      let item = byPrefix.get(w.prefix);
      if (item === undefined) {
        const mine = events.filter((e) => e.key.startsWith(w.prefix));
        item = mine.length > 0 ? { kind: 'events', revision, events: mine } : null;
        byPrefix.set(w.prefix, item);
      }
      if (item !== null) w.enqueue(item);
    }
  }

  /** History was compacted: watchers that have not caught up yet are finished. */
  remove(w: HubWatcher): void {
    this.watchers.delete(w);
  }

  closeAll(): void {
    for (const w of [...this.watchers]) w.finish();
  }
}
