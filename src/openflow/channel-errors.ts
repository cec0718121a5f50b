/**
 * Typed errors of the OpenFlow channel. Callers branch on the class (and on numeric/symbolic
 * OpenFlow error type/code), never on message strings.
 */
import type { MessageOf } from './types.js';

export abstract class OpenFlowChannelError extends Error {
  /** True when retrying on a fresh connection may succeed. */
  abstract readonly recoverable: boolean;
}

/** The peer speaks no OpenFlow version we offered (we require OpenFlow 1.3 = wire version 4). */
export class VersionNegotiationError extends OpenFlowChannelError {
  override readonly name = 'VersionNegotiationError';
  readonly recoverable = false;
  constructor(
    readonly ourVersions: readonly number[],
    readonly peerVersions: readonly number[],
  ) {
    super(`OpenFlow version negotiation failed: we offer [${ourVersions.join(',')}], peer offers [${peerVersions.join(',')}]`);
  }
}

/** An OFPT_ERROR from the switch, decoded. `xid` is the offending request's xid. */
export class OpenFlowErrorReply extends OpenFlowChannelError {
  override readonly name = 'OpenFlowErrorReply';
  readonly recoverable = false;
  readonly xid: number;
  readonly errType: number;
  readonly code: number;
  readonly errTypeName: string | undefined;
  readonly codeName: string | undefined;
  readonly experimenter: number | undefined;
  /** Header of the offending request when the switch echoed it back. */
  readonly failedRequest: { readonly type: number; readonly length: number; readonly xid: number } | undefined;
  readonly data: Buffer;
  constructor(readonly msg: MessageOf<'error'>) {
    super(
      `OpenFlow error ${msg.errTypeName ?? msg.errType}/${msg.codeName ?? msg.code} for xid ${msg.xid}`,
    );
    this.xid = msg.xid;
    this.errType = msg.errType;
    this.code = msg.code;
    this.errTypeName = msg.errTypeName;
    this.codeName = msg.codeName;
    this.experimenter = msg.experimenter;
    this.failedRequest = msg.failedRequest;
    this.data = msg.data;
  }
}

/** A bundle did not commit; nothing in it was applied. */
export class BundleError extends OpenFlowChannelError {
  override readonly name = 'BundleError';
  readonly recoverable = false;
  constructor(
    readonly bundleId: number,
    /** The error of the offending message (or of the commit/open itself when none was named). */
    readonly error: OpenFlowErrorReply,
    /** Index in the submitted message array of the offending message, when known. */
    readonly index: number | undefined,
    /** Every error received for this bundle, in arrival order. */
    readonly errors: readonly OpenFlowErrorReply[],
  ) {
    super(`bundle ${bundleId} failed${index === undefined ? '' : ` at message ${index}`}: ${error.message}`);
  }
}

/** The connection went away (or was never up) while the operation needed it. */
export class ChannelClosedError extends OpenFlowChannelError {
  override readonly name = 'ChannelClosedError';
  readonly recoverable = true;
  constructor(readonly reason?: Error) {
    super(`OpenFlow channel closed${reason ? `: ${reason.message}` : ''}`);
  }
}

export class RequestTimeoutError extends OpenFlowChannelError {
  override readonly name = 'RequestTimeoutError';
  readonly recoverable = true;
  constructor(
    readonly xid: number,
    readonly requestType: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to ${requestType} xid ${xid} within ${timeoutMs} ms`);
  }
}

/** The peer did not answer `misses` echo requests in a row; the connection was dropped. */
export class PeerDeadError extends OpenFlowChannelError {
  override readonly name = 'PeerDeadError';
  readonly recoverable = true;
  constructor(readonly misses: number) {
    super(`OpenFlow peer unresponsive after ${misses} unanswered echo requests`);
  }
}

/** The bounded send queue is full; wait for `drain` (or use sendAsync). */
export class SendQueueFullError extends OpenFlowChannelError {
  override readonly name = 'SendQueueFullError';
  readonly recoverable = true;
  constructor(
    readonly queuedBytes: number,
    readonly limitBytes: number,
  ) {
    super(`OpenFlow send queue full (${queuedBytes} bytes queued, limit ${limitBytes})`);
  }
}

/** The switch sent something we could not make sense of (bad frame or undecodable body). */
export class ProtocolError extends OpenFlowChannelError {
  override readonly name = 'ProtocolError';
  readonly recoverable = true;
  constructor(
    readonly detail: string,
    /** The offending frame, when there is one. */
    readonly frame?: Buffer,
    override readonly cause?: Error,
  ) {
    super(`OpenFlow protocol error: ${detail}`);
  }
}

/** The handshake (HELLO, FEATURES) did not finish in time. */
export class HandshakeTimeoutError extends OpenFlowChannelError {
  override readonly name = 'HandshakeTimeoutError';
  readonly recoverable = true;
  constructor(readonly timeoutMs: number) {
    super(`OpenFlow handshake not finished within ${timeoutMs} ms`);
  }
}

/** Message `index` of a batch or bundle could not be encoded (cause: the codec's OfEncodeError). */
export class MessageEncodeError extends OpenFlowChannelError {
  override readonly name = 'MessageEncodeError';
  readonly recoverable = false;
  constructor(
    readonly index: number,
    override readonly cause: Error,
  ) {
    super(`message ${index} could not be encoded: ${cause.message}`);
  }
}
