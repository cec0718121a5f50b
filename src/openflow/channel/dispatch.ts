/**
 * Receive dispatch, after the handshake: where each frame from the switch goes. Pure: it
 * settles requests and collects tracked errors in `requests`, and says what the channel must
 * do with the rest (write an echo reply, emit an event or an error, or nothing).
 */
import { OpenFlowErrorReply, ProtocolError } from '../channel-errors.js';
import { decodeMessage } from '../codec.js';
import { OFPT } from '../header.js';
import type { MessageOf, OfMessage } from '../types.js';
import type { PendingRequests } from './pending-requests.js';

export type Routed =
  | { readonly kind: 'none' }
  | { readonly kind: 'reply'; readonly bytes: Buffer }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'packetIn'; readonly msg: MessageOf<'packet_in'> }
  | { readonly kind: 'packetIn2'; readonly msg: MessageOf<'packet_in2'> }
  | { readonly kind: 'portStatus'; readonly msg: MessageOf<'port_status'> }
  | { readonly kind: 'flowRemoved'; readonly msg: MessageOf<'flow_removed'> }
  | { readonly kind: 'message'; readonly msg: OfMessage };

const NONE: Routed = { kind: 'none' };

/**
 * One whole frame of a connection that negotiated `version`: answered (echo), refused (wrong
 * version, undecodable: a waiting request fails, else an error), or decoded for
 * {@link routeMessage} (or, during the handshake, for awaitFeatures).
 */
export function routeFrame(frame: Buffer, version: number, requests: PendingRequests): Routed | { readonly kind: 'decoded'; readonly msg: OfMessage } {
  if (frame[0] !== version) {
    // OVS answers with the negotiated version only; anything else is garbage.
    return { kind: 'error', error: new ProtocolError(`message with version ${frame[0]} on a version ${version} channel`, frame) };
  }
  const type = frame[1];
  if (type === OFPT.ECHO_REQUEST) {
    // Fast path: echo the frame back as a reply.
    const reply = Buffer.from(frame);
    reply[1] = OFPT.ECHO_REPLY;
    return { kind: 'reply', bytes: reply };
  }
  const d = decodeMessage(frame);
  if (!d.ok) {
    const cause = 'error' in d ? d.error : undefined;
    const err = new ProtocolError(`undecodable message type ${type}`, frame, cause);
    return requests.onUndecodable(frame.readUInt32BE(4), err) ? NONE : { kind: 'error', error: err };
  }
  return { kind: 'decoded', msg: d.msg };
}

/** Route one decoded message: a reply settles its request, the rest are events. */
export function routeMessage(msg: OfMessage, requests: PendingRequests): Routed {
  if (requests.onMessage(msg)) return NONE;
  switch (msg.type) {
    case 'error': {
      const err = new OpenFlowErrorReply(msg);
      return requests.claimError(err) ? NONE : { kind: 'error', error: err };
    }
    case 'packet_in':
      return { kind: 'packetIn', msg };
    case 'packet_in2':
      return { kind: 'packetIn2', msg };
    case 'port_status':
      return { kind: 'portStatus', msg };
    case 'flow_removed':
      return { kind: 'flowRemoved', msg };
    case 'echo_reply':
      return NONE;
    default:
      return { kind: 'message', msg };
  }
}
