/**
 * Typed store errors. Callers branch on the class (or `recoverable`), never on the message.
 */

export class StoreError extends Error {
  /** True when retrying the same operation later may succeed (connection trouble, not a bug). */
  readonly recoverable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The store cannot be reached right now (connection refused, timeout, restart). */
export class StoreUnavailableError extends StoreError {
  override readonly recoverable = true;
}

/** The store was closed by its owner; no further operations are possible. */
export class StoreClosedError extends StoreError {}

/** The requested revision has been compacted away. */
export class CompactedError extends StoreError {
  constructor(readonly compactRevision: number) {
    super(`revision compacted: history before ${compactRevision} is gone`);
  }
}

/** The lease does not exist (never granted, expired or revoked). */
export class LeaseNotFoundError extends StoreError {
  constructor(readonly leaseId: string) {
    super(`lease ${leaseId} not found`);
  }
}

/** The request is malformed (bad op, bad compare, bad URL). */
export class InvalidStoreRequestError extends StoreError {}

/** A watch handler threw; the watch was finished. */
export class WatchHandlerError extends StoreError {}
