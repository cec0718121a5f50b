import {
  CompactedError,
  InvalidStoreRequestError,
  LeaseNotFoundError,
  StoreClosedError,
  StoreError,
  StoreUnavailableError,
} from './errors.js';
import type { WatchEvent } from './types.js';

/** Wire format of the store over HTTP, shared by the service and the remote driver. */
export const STORE_HTTP_BASE = '/wyvern/store/v1/';

/** One line of the newline-delimited JSON watch stream. */
export type WatchLine =
  /** `watchId` names the stream for `POST watch/interest` (routing; see Watch.setInterest). */
  | { readonly type: 'created'; readonly fromRevision: number; readonly watchId?: string }
  | { readonly type: 'events'; readonly revision: number; readonly events: readonly WatchEvent[] }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'compacted'; readonly compactRevision: number }
  | { readonly type: 'error'; readonly error: WireError };

export type WireErrorType = 'LeaseNotFound' | 'Compacted' | 'InvalidRequest' | 'Unavailable' | 'Closed' | 'Internal';

export interface WireError {
  readonly type: WireErrorType;
  readonly message: string;
  readonly leaseId?: string;
  readonly compactRevision?: number;
}

export function toWireError(err: unknown): { status: number; body: WireError } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof LeaseNotFoundError) return { status: 404, body: { type: 'LeaseNotFound', message, leaseId: err.leaseId } };
  if (err instanceof CompactedError) return { status: 410, body: { type: 'Compacted', message, compactRevision: err.compactRevision } };
  if (err instanceof InvalidStoreRequestError) return { status: 400, body: { type: 'InvalidRequest', message } };
  if (err instanceof StoreUnavailableError || err instanceof StoreClosedError) return { status: 503, body: { type: 'Unavailable', message } };
  return { status: 500, body: { type: 'Internal', message } };
}

export function fromWireError(e: WireError): StoreError {
  switch (e.type) {
    case 'LeaseNotFound':
      return new LeaseNotFoundError(e.leaseId ?? 'unknown');
    case 'Compacted':
      return new CompactedError(e.compactRevision ?? 0);
    case 'InvalidRequest':
      return new InvalidStoreRequestError(e.message);
    case 'Unavailable':
      return new StoreUnavailableError(`remote store unavailable: ${e.message}`);
    default:
      return new StoreError(`remote store error: ${e.message}`);
  }
}
