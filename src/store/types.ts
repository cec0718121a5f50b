/**
 * The north-bound store: one interface, several drivers (sqlite, etcd, remote HTTP).
 *
 * Semantics follow etcd v3: one monotonic revision for the whole store, every key carries the
 * revision that created and last modified it, a transaction is compare-and-set over many keys,
 * and `watch(prefix, fromRevision)` delivers every change at or after `fromRevision` in order,
 * once, with no gaps. Values are opaque strings (the model layer stores JSON).
 */

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the transaction that created this key (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the transaction that last wrote this key. */
  readonly modRevision: number;
  /** Number of writes since creation (1 after create). */
  readonly version: number;
  /** Lease the key is attached to, if any; the key is deleted when the lease expires. */
  readonly lease?: string;
}

export type CompareTarget = 'value' | 'version' | 'createRevision' | 'modRevision';
export type CompareOp = '=' | '!=' | '<' | '>';

/**
 * A guard of a transaction. A missing key has version 0, createRevision 0, modRevision 0 and no
 * value (a `value` compare on a missing key is false), exactly as in etcd.
 */
export interface Compare {
  readonly key: string;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  readonly value: string | number;
}

export type Op =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'deletePrefix'; readonly prefix: string };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly Op[];
  readonly failure?: readonly Op[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  /** Store revision after the transaction (unchanged if nothing was written). */
  readonly revision: number;
}

export interface RangeResult {
  readonly kvs: readonly KeyValue[];
  /** Store revision the range was read at. Watch from `revision + 1` to follow on without gaps. */
  readonly revision: number;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** New value for put; absent for delete. */
  readonly value?: string;
  /** Revision of the transaction that produced this event. */
  readonly revision: number;
}

export interface WatchHandlers {
  /**
   * All events of one transaction (one revision), in key order within it; called in revision
   * order. Never called twice for the same revision, never skips a revision that touched the
   * prefix.
   */
  onEvents(events: readonly WatchEvent[], revision: number): void;
  /**
   * The requested history is gone (compacted). The watcher must resync with `range` and watch
   * again from the range's `revision + 1`. The watch is finished after this call.
   */
  onCompacted?(compactRevision: number): void;
  /** The watch failed in a way the driver could not recover from; it is finished. */
  onError?(err: Error): void;
}

/**
 * What a key/value is about, as subject strings (e.g. `net:<id>`), for routed watches. `[]`:
 * about nothing a routed watcher can hold (never delivered to one). `undefined`: cannot tell
 * (delivered to every routed watcher). Called with the new value of a put and with the value a
 * key had before a write (undefined for a key that did not exist or a delete's new value).
 */
export type SubjectFn = ((key: string, value: string | undefined) => readonly string[] | undefined) & {
  /** The name a store service knows this function by (remote watches route by name). */
  readonly routeName?: string;
};

export interface Watch {
  /** Stop delivering events; resolves when the driver has released the watch. */
  cancel(): Promise<void>;
  /**
   * Routing, where the driver can do it (the in-process drivers; others leave it out and
   * deliver everything). From this call on, only events whose subjects (before or after the
   * write, by `route`) meet `subjects` are delivered; the other revisions arrive as progress:
   * `onEvents([], revision)`, coalesced, so the watcher still learns how far the store is.
   * `undefined` turns routing off again. Events committed before the call are delivered as
   * they were routed then: read what a newly added subject holds with a range after the call
   * (after the returned promise, for a remote store).
   */
  setInterest?(route: SubjectFn, subjects: ReadonlySet<string> | undefined): void | Promise<void>;
}

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Called once if the lease could not be kept alive (expired, revoked elsewhere, store lost). */
  onLost(listener: (err: Error) => void): void;
  /** Revoke the lease now: every key attached to it is deleted. */
  revoke(): Promise<void>;
}

/** One read of a `readMany` batch: a single key, or every key under a prefix. */
export type Read = { readonly key: string } | { readonly prefix: string };

export interface Store {
  /** Driver name for status and logs: 'sqlite', 'etcd', 'remote'. */
  readonly kind: string;
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys starting with `prefix`, sorted by key. */
  range(prefix: string): Promise<RangeResult>;
  /**
   * Several reads in one round trip, all at one revision: for each read, the keys found (a key
   * read gives [] or [kv]; a prefix read is sorted by key). Optional: drivers with cheap reads
   * (in-process) leave it out and callers use `get`/`range`.
   */
  readMany?(reads: readonly Read[]): Promise<KeyValue[][]>;
  /**
   * `range` without the values (each `value` is ''): cheaper where values travel over the network
   * (etcd), for callers that cache values by key and modRevision. Optional.
   */
  rangeKeys?(prefix: string): Promise<RangeResult>;
  txn(req: TxnRequest): Promise<TxnResult>;
  /**
   * Deliver every change to keys under `prefix` with revision >= `fromRevision`. Drivers that
   * reconnect resume from the last delivered revision + 1 without telling the caller.
   * `fromRevision` <= 0 means "from now": the current revision + 1 when the driver establishes
   * the watch (synchronously for in-process drivers, at the first round trip for remote ones);
   * to follow on from a `range` without a gap, pass its `revision + 1` instead.
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;
  /** Grant a lease and keep it alive until revoked or the store is closed. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** Current store revision. */
  revision(): Promise<number>;
  close(): Promise<void>;
  /**
   * Drop history before `revision`: watches from an earlier revision get `onCompacted`.
   * Optional so that older implementations stay valid; every Wyvern driver implements it.
   */
  compact?(revision: number): Promise<void>;
  /**
   * Raw leases that are NOT kept alive by the driver: the HTTP store service hands them to
   * remote controllers, which send their own keepalives. Every Wyvern driver implements it.
   */
  readonly leaseControl?: LeaseControl;
}

export interface LeaseInfo {
  readonly id: string;
  /** TTL granted (may exceed the request, e.g. etcd's minimum) or remaining after keepalive. */
  readonly ttlSeconds: number;
}

/** Leases as data: grant, refresh and revoke by id. Unknown or expired ids → LeaseNotFoundError. */
export interface LeaseControl {
  grant(ttlSeconds: number): Promise<LeaseInfo>;
  keepAlive(id: string): Promise<LeaseInfo>;
  revoke(id: string): Promise<void>;
}
