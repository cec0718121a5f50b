import { WatchHandlerError } from './errors.js';
import type { SubjectFn, Watch, WatchEvent, WatchHandlers } from './types.js';

/** What an in-process driver (memory, sqlite) offers the hub to replay history. */
export interface HistorySource {
  currentRevision(): number;
  /** Oldest revision still in history; watching from below it is compacted. */
  compactRevision(): number;
  /** Events under `prefix` with revision >= `from`, grouped per revision in revision order. */
  history(prefix: string, from: number): Array<[number, WatchEvent[]]>;
}

/**
 * How long progress for routed watchers is gathered before it goes out: one batch per watcher
 * per window, however many changes passed it by (a remote watcher gets at most 100 progress
 * lines a second).
 */
export const PROGRESS_COALESCE_MS = 10;

type Item = { kind: 'events'; revision: number; events: readonly WatchEvent[] } | { kind: 'compacted'; revision: number };

/** A routed watcher's interest, as registered in the hub's index. */
interface Routing {
  readonly route: SubjectFn;
  readonly subjects: ReadonlySet<string>;
}

class HubWatcher implements Watch {
  next: number;
  done = false;
  routing: Routing | undefined;
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

  setInterest(route: SubjectFn, subjects: ReadonlySet<string> | undefined): void {
    if (this.done) return;
    this.hub.setRouting(this, subjects === undefined ? undefined : { route, subjects: new Set(subjects) });
  }
}

/**
 * Fan-out of committed changes to in-process watchers. Registration replays history and joins
 * the live feed synchronously, so nothing falls between; delivery is asynchronous (a microtask),
 * never inside the writer's call stack.
 *
 * Routed watchers (`Watch.setInterest`) are indexed by subject: a change is handed only to the
 * watchers holding one of its subjects, so with 1,000 controllers watching `/nb/` a port
 * change reaches the handful that hold its network instead of all of them. The others learn
 * the revision from one coalesced progress batch (`onEvents([], revision)`) per
 * PROGRESS_COALESCE_MS.
 */
export class WatchHub {
  /** Watchers without routing: every event under their prefix. */
  private readonly plain = new Set<HubWatcher>();
  /** Routed watchers, and the index route → subject → watchers. */
  private readonly routed = new Set<HubWatcher>();
  private readonly index = new Map<SubjectFn, Map<string, Set<HubWatcher>>>();
  private progressRevision = 0;
  private progressTimer: NodeJS.Timeout | undefined;

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
    this.plain.add(w);
    return w;
  }

  /**
   * Call after the transaction of `revision` is durable. `events` are sorted by key;
   * `previous` holds the values the written keys had before (absent or undefined: none).
   */
  publish(revision: number, events: readonly WatchEvent[], previous?: ReadonlyMap<string, string | undefined>): void {
    // Many watchers share a prefix (every controller watches /nb/): one filtered batch per
    // prefix, shared by its watchers (handlers get a readonly array).
    const byPrefix = new Map<string, Item | null>();
    const batchFor = (prefix: string): Item | null => {
      let item = byPrefix.get(prefix);
      if (item === undefined) {
        const mine = events.filter((e) => e.key.startsWith(prefix));
        item = mine.length > 0 ? { kind: 'events', revision, events: mine } : null;
        byPrefix.set(prefix, item);
      }
      return item;
    };
    for (const w of this.plain) {
      if (revision < w.next) continue;
      w.next = revision + 1;
      const item = batchFor(w.prefix);
      if (item !== null) w.enqueue(item);
    }
    if (this.routed.size === 0) return;
    for (const [route, bySubject] of this.index) this.publishRouted(revision, events, previous, route, bySubject, batchFor);
    this.progressRevision = revision;
    if (this.progressTimer === undefined) {
      this.progressTimer = setTimeout(() => this.flushProgress(), PROGRESS_COALESCE_MS);
      this.progressTimer.unref();
    }
  }

  private publishRouted(
    revision: number,
    events: readonly WatchEvent[],
    previous: ReadonlyMap<string, string | undefined> | undefined,
    route: SubjectFn,
    bySubject: Map<string, Set<HubWatcher>>,
    batchFor: (prefix: string) => Item | null,
  ): void {
    const mine = new Map<HubWatcher, WatchEvent[]>();
    let everyone = false;
    for (const ev of events) {
      const now = route(ev.key, ev.value);
      // Without the previous value a changed key might be leaving a subject: tell everyone.
      const before = previous ? route(ev.key, previous.get(ev.key)) : undefined;
      if (now === undefined || before === undefined) {
        everyone = true;
        break;
      }
      for (const s of before.length === 0 ? now : [...now, ...before]) {
        for (const w of bySubject.get(s) ?? []) {
          if (!ev.key.startsWith(w.prefix)) continue;
          const list = mine.get(w);
          if (!list) mine.set(w, [ev]);
          else if (list[list.length - 1] !== ev) list.push(ev);
        }
      }
    }
    if (everyone) {
      for (const w of this.routed) {
        if (w.routing?.route !== route || revision < w.next) continue;
        w.next = revision + 1;
        const item = batchFor(w.prefix);
        if (item !== null) w.enqueue(item);
      }
      return;
    }
    // Only the recipients are visited; the others get progress later.
    for (const [w, list] of mine) {
      if (revision < w.next) continue;
      w.next = revision + 1;
      w.enqueue({ kind: 'events', revision, events: list });
    }
  }

  /** Routed watchers that received nothing since their last batch learn the latest revision. */
  private flushProgress(): void {
    this.progressTimer = undefined;
    const revision = this.progressRevision;
    for (const w of this.routed) {
      if (w.next > revision) continue;
      w.next = revision + 1;
      w.enqueue({ kind: 'events', revision, events: [] });
    }
  }

  /** Route a watcher (or stop routing it: `undefined`). */
  setRouting(w: HubWatcher, routing: Routing | undefined): void {
    this.unindex(w);
    w.routing = routing;
    if (!routing) {
      this.routed.delete(w);
      this.plain.add(w);
      return;
    }
    this.plain.delete(w);
    this.routed.add(w);
    let bySubject = this.index.get(routing.route);
    if (!bySubject) {
      bySubject = new Map();
      this.index.set(routing.route, bySubject);
    }
    for (const s of routing.subjects) {
      let set = bySubject.get(s);
      if (!set) {
        set = new Set();
        bySubject.set(s, set);
      }
      set.add(w);
    }
  }

  private unindex(w: HubWatcher): void {
    const r = w.routing;
    if (!r) return;
    const bySubject = this.index.get(r.route);
    if (!bySubject) return;
    for (const s of r.subjects) {
      const set = bySubject.get(s);
      if (!set) continue;
      set.delete(w);
      if (set.size === 0) bySubject.delete(s);
    }
    if (bySubject.size === 0) this.index.delete(r.route);
  }

  /** History was compacted: watchers that have not caught up yet are finished. */
  remove(w: HubWatcher): void {
    this.unindex(w);
    w.routing = undefined;
    this.plain.delete(w);
    this.routed.delete(w);
  }

  closeAll(): void {
    clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    for (const w of [...this.plain, ...this.routed]) w.finish();
  }
}
