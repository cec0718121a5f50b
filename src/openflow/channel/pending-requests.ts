/**
 * Requests waiting for their replies, by xid: single replies, multipart replies collected
 * across the MORE flag, OFPT_ERROR answers, timeouts. And error trackers: OFPT_ERRORs for a
 * range of xids (a batch or a bundle) collected for whoever sent them.
 */
import { OpenFlowErrorReply, RequestTimeoutError } from '../channel-errors.js';
import type { OfMessage, OfMessageType } from '../types.js';
import { MULTIPART_REQUESTS } from './types.js';

interface Pending {
  readonly xid: number;
  readonly type: string;
  readonly multipart: boolean;
  readonly parts: OfMessage[];
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Collects OFPT_ERRORs whose xid falls in [first, last] (modulo 2^32). */
export interface ErrorTracker {
  first: number;
  last: number;
  readonly errors: OpenFlowErrorReply[];
}

export function newErrorTracker(): ErrorTracker {
  return { first: -1, last: -1, errors: [] };
}

export class PendingRequests {
  private readonly byXid = new Map<number, Pending>();
  private readonly trackers = new Set<ErrorTracker>();

  /** Requests still waiting for a reply. */
  get size(): number {
    return this.byXid.size;
  }

  /** Wait for the reply to `xid` (rejects with RequestTimeoutError after `timeoutMs`, if > 0). */
  add(xid: number, type: string, timeoutMs: number, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const p: Pending = { xid, type, multipart: MULTIPART_REQUESTS.has(type), parts: [], resolve, reject, timer: undefined };
    if (timeoutMs > 0) {
      p.timer = setTimeout(() => {
        this.byXid.delete(xid);
        reject(new RequestTimeoutError(xid, type, timeoutMs));
      }, timeoutMs);
    }
    this.byXid.set(xid, p);
  }

  /** Stop waiting for `xid` without settling it (its request was never sent). */
  remove(xid: number): void {
    const p = this.byXid.get(xid);
    if (!p) return;
    this.finish(p);
  }

  /** A message for a waiting request settles it; true when it was consumed. */
  onMessage(msg: OfMessage): boolean {
    const p = this.byXid.get(msg.xid);
    if (!p) return false;
    if (msg.type === 'error') {
      this.finish(p);
      p.reject(new OpenFlowErrorReply(msg));
      return true;
    }
    if (p.multipart && 'more' in msg) {
      p.parts.push(msg);
      if (!msg.more) {
        this.finish(p);
        p.resolve(p.parts);
      }
      return true;
    }
    if (!isUnsolicited(msg.type)) {
      this.finish(p);
      p.resolve(msg);
      return true;
    }
    return false;
  }

  /** The reply to `xid` could not be decoded: fail its request; false when nobody waited. */
  onUndecodable(xid: number, err: Error): boolean {
    const p = this.byXid.get(xid);
    if (!p) return false;
    this.finish(p);
    p.reject(err);
    return true;
  }

  /** Reject every waiting request (the connection is gone). */
  rejectAll(err: Error): void {
    const all = [...this.byXid.values()];
    this.byXid.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  track(tracker: ErrorTracker): void {
    this.trackers.add(tracker);
  }

  untrack(tracker: ErrorTracker): void {
    this.trackers.delete(tracker);
  }

  /** Hand an unsolicited OFPT_ERROR to the tracker of its xid; false when none covers it. */
  claimError(err: OpenFlowErrorReply): boolean {
    for (const t of this.trackers) {
      if (((err.xid - t.first) >>> 0) <= ((t.last - t.first) >>> 0)) {
        t.errors.push(err);
        return true;
      }
    }
    return false;
  }

  private finish(p: Pending): void {
    this.byXid.delete(p.xid);
    clearTimeout(p.timer);
  }
}

/** Messages the switch sends on its own, even with an xid someone waits on. */
export function isUnsolicited(t: OfMessageType): boolean {
  return t === 'packet_in' || t === 'packet_in2' || t === 'port_status' || t === 'flow_removed';
}
