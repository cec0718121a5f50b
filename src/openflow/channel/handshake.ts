/**
 * The channel handshake, as pure steps: our HELLO; the peer's HELLO answered with a FEATURES
 * request (or, with no common version, a HELLO_FAILED error and {@link VersionNegotiationError});
 * FEATURES_REPLY to the connection's {@link ConnectedInfo}.
 */
import { OpenFlowErrorReply, ProtocolError, VersionNegotiationError } from '../channel-errors.js';
import { encodeMessage } from '../codec.js';
import { OFPT, readHeader } from '../header.js';
import { negotiateVersion, parseHelloVersions, peerVersionsOf } from '../hello.js';
import type { OfMessage } from '../types.js';
import type { ConnectedInfo } from './types.js';

/** HELLO with a version bitmap element (OpenFlow 1.3.1+ §A.5.1). */
export function buildHello(versions: readonly number[], xid: number): Buffer {
  return encodeMessage({ type: 'hello', xid, versions });
}

/**
 * OFPT_ERROR HELLO_FAILED/INCOMPATIBLE in `version` (one the peer speaks): the codec writes
 * version 4 frames; the layout of an error is the same in every version.
 */
export function buildHelloFailed(version: number, xid: number, text: string): Buffer {
  const frame = encodeMessage({ type: 'error', xid, errType: 0, code: 0, data: Buffer.from(text, 'ascii') });
  frame[0] = version;
  return frame;
}

export type HelloOutcome =
  | { readonly ok: true; readonly version: number; readonly featuresXid: number; readonly featuresRequest: Buffer }
  | { readonly ok: false; readonly error: Error; readonly reply?: Buffer };

/** The peer's first frame, which must be its HELLO: negotiate, and say what to send back. */
export function answerHello(ours: readonly number[], frame: Buffer, featuresXid: () => number): HelloOutcome {
  const type = frame[1];
  if (type !== OFPT.HELLO) return { ok: false, error: new ProtocolError(`expected HELLO, got message type ${type}`, frame) };
  const peer = parseHelloVersions(frame);
  const version = negotiateVersion(ours, peer);
  if (version === undefined) {
    const error = new VersionNegotiationError(ours, peerVersionsOf(peer));
    const reply = buildHelloFailed(Math.min(peer.headerVersion, Math.max(...ours)), readHeader(frame).xid, error.message);
    return { ok: false, error, reply };
  }
  const xid = featuresXid();
  return { ok: true, version, featuresXid: xid, featuresRequest: encodeMessage({ type: 'features_request', xid }) };
}

/**
 * A message after HELLO, before FEATURES_REPLY: the connection's info when it is the reply, an
 * error when the switch refused, undefined for anything else (e.g. a port status: ignored).
 */
export function awaitFeatures(msg: OfMessage, featuresXid: number, version: number): ConnectedInfo | Error | undefined {
  if (msg.type === 'features_reply' && msg.xid === featuresXid) return { datapathId: msg.datapathId, version, features: msg };
  if (msg.type === 'error') return new OpenFlowErrorReply(msg);
  return undefined;
}
