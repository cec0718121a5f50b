/**
 * Many messages at once over a channel: pipelined with one barrier (`sendBatch`), or applied
 * atomically and in order with an ONF bundle (ext 230), streamed (`bundle`) or written in one
 * go (`bundlePipelined`). Encoding streams: earlier messages are on the wire while later ones
 * are encoded. Errors for the messages are collected by xid range, not emitted.
 */
import { BundleError, MessageEncodeError, OpenFlowErrorReply } from '../channel-errors.js';
import { encodeMessage } from '../codec.js';
import type { OfMessage } from '../types.js';
import { newErrorTracker, type ErrorTracker, type PendingRequests } from './pending-requests.js';
import { WRITE_CHUNK } from './send-queue.js';
import type { BatchFailure, Outgoing, ReplyFor, RequestType } from './types.js';

/** What the batch and bundle operations need of a channel. */
export interface BatchTransport {
  readonly connected: boolean;
  readonly requests: PendingRequests;
  nextXid(): number;
  nextBundleId(): number;
  assertConnected(): void;
  /** Queue encoded bytes; false when the caller should wait for drain. */
  enqueue(bytes: Buffer): boolean;
  waitDrain(): Promise<void>;
  request<T extends RequestType>(msg: Extract<Outgoing, { type: T }>, timeoutMs?: number): Promise<ReplyFor<T>>;
  barrier(timeoutMs?: number): Promise<void>;
}

const BUNDLE_FLAGS = { atomic: true, ordered: true } as const;

/**
 * Encode messages with consecutive xids into ~256 KiB buffers and queue each as soon as it is
 * full, so the switch processes earlier messages while we encode later ones. Records the xid
 * range in `tracker`. Returns the number of messages sent.
 */
async function streamEncoded(
  t: BatchTransport,
  msgs: Iterable<Outgoing>,
  wrap: (m: Outgoing, xid: number) => OfMessage,
  tracker: ErrorTracker,
): Promise<number> {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let index = 0;
  const push = async (): Promise<void> => {
    if (!batchBytes) return;
    const chunk = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    t.assertConnected();
    if (!t.enqueue(chunk)) await t.waitDrain();
  };
  for (const m of msgs) {
    const xid = t.nextXid();
    let b: Buffer;
    try {
      b = encodeMessage(wrap(m, xid));
    } catch (err) {
      await push();
      throw new MessageEncodeError(index, err as Error);
    }
    if (index === 0) tracker.first = xid;
    tracker.last = xid;
    index++;
    batch.push(b);
    batchBytes += b.length;
    if (batchBytes >= WRITE_CHUNK) await push();
  }
  await push();
  return index;
}

/** See OpenFlowChannel.sendBatch. */
export async function sendBatch(t: BatchTransport, msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<BatchFailure[]> {
  t.assertConnected();
  const tracker = newErrorTracker();
  t.requests.track(tracker);
  try {
    const n = await streamEncoded(t, msgs, (m, xid) => ({ ...m, xid }) as OfMessage, tracker);
    if (!n) return [];
    await t.barrier(timeoutMs);
    return tracker.errors.map((error) => ({ index: (error.xid - tracker.first) >>> 0, error }));
  } finally {
    t.requests.untrack(tracker);
  }
}

/** The BundleError for a failed bundle: the first refused add (with its index), else the commit's error. */
function bundleFailure(bundleId: number, tracker: ErrorTracker, commitErr: OpenFlowErrorReply | undefined): BundleError {
  const inner = tracker.errors[0];
  const error = inner ?? commitErr!;
  const index = inner ? (inner.xid - tracker.first) >>> 0 : undefined;
  return new BundleError(bundleId, error, index, commitErr ? [...tracker.errors, commitErr] : [...tracker.errors]);
}

/** See OpenFlowChannel.bundle. */
export async function sendBundle(t: BatchTransport, msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<void> {
  const bundleId = t.nextBundleId();
  const flags = BUNDLE_FLAGS;
  const tracker = newErrorTracker();
  const discard = (): Promise<unknown> =>
    t.request({ type: 'bundle_control', bundleId, ctrlType: 'discard_request', flags }, timeoutMs).catch(() => undefined);
  try {
    await t.request({ type: 'bundle_control', bundleId, ctrlType: 'open_request', flags }, timeoutMs);
  } catch (err) {
    if (err instanceof OpenFlowErrorReply) throw new BundleError(bundleId, err, undefined, [err]);
    throw err;
  }
  t.requests.track(tracker);
  try {
    try {
      await streamEncoded(
        t,
        msgs,
        (m, xid) => ({ type: 'bundle_add', xid, bundleId, flags, message: { ...m, xid } as OfMessage }),
        tracker,
      );
    } catch (err) {
      if (err instanceof MessageEncodeError && t.connected) await discard();
      throw err;
    }
    // Adds that fail to parse are rejected at add time and would be silently left out of the
    // commit: check before committing.
    await t.barrier(timeoutMs);
    if (tracker.errors.length) {
      await discard();
      throw bundleFailure(bundleId, tracker, undefined);
    }
    try {
      await t.request({ type: 'bundle_control', bundleId, ctrlType: 'commit_request', flags }, timeoutMs);
    } catch (err) {
      if (err instanceof OpenFlowErrorReply) throw bundleFailure(bundleId, tracker, err);
      throw err;
    }
    if (tracker.errors.length) throw bundleFailure(bundleId, tracker, undefined);
  } finally {
    t.requests.untrack(tracker);
  }
}

/** See OpenFlowChannel.bundlePipelined. */
export async function sendBundlePipelined(t: BatchTransport, msgs: readonly Outgoing[], timeoutMs?: number): Promise<void> {
  const bundleId = t.nextBundleId();
  const flags = BUNDLE_FLAGS;
  const tracker = newErrorTracker();
  // Encode everything before anything leaves: a message the codec rejects sends nothing.
  const chunks: Buffer[] = [];
  msgs.forEach((m, index) => {
    const xid = t.nextXid();
    if (index === 0) tracker.first = xid;
    tracker.last = xid;
    try {
      chunks.push(encodeMessage({ type: 'bundle_add', xid, bundleId, flags, message: { ...m, xid } as OfMessage }));
    } catch (err) {
      throw new MessageEncodeError(index, err as Error);
    }
  });
  // Everything up to the commit request is queued synchronously, in order, at the call.
  const open = t.request({ type: 'bundle_control', bundleId, ctrlType: 'open_request', flags }, timeoutMs);
  open.catch(() => undefined); // the commit reports the failure
  if (chunks.length > 0) {
    t.requests.track(tracker);
    t.enqueue(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }
  try {
    await t.request({ type: 'bundle_control', bundleId, ctrlType: 'commit_request', flags }, timeoutMs);
  } catch (err) {
    throw err instanceof OpenFlowErrorReply ? bundleFailure(bundleId, tracker, err) : err;
  } finally {
    t.requests.untrack(tracker);
  }
  if (tracker.errors.length > 0) throw bundleFailure(bundleId, tracker, undefined);
}
