/** The public vocabulary of an OpenFlow channel: what goes out, what replies come back, events. */
import type { OpenFlowErrorReply } from '../channel-errors.js';
import type { Match, MessageOf, OfMessage, PortNo } from '../types.js';

/** A message to send; the channel assigns the xid unless one is given. */
export type Outgoing = OfMessage extends infer M
  ? M extends OfMessage
    ? Omit<M, 'xid'> & { readonly xid?: number }
    : never
  : never;

interface SingleReplies {
  echo_request: 'echo_reply';
  features_request: 'features_reply';
  get_config_request: 'get_config_reply';
  barrier_request: 'barrier_reply';
  role_request: 'role_reply';
  get_async_request: 'get_async_reply';
  tlv_table_request: 'tlv_table_reply';
  bundle_control: 'bundle_control';
}
interface MultipartReplies {
  flow_stats_request: 'flow_stats_reply';
  port_desc_request: 'port_desc_reply';
  group_desc_request: 'group_desc_reply';
  port_stats_request: 'port_stats_reply';
}
export type RequestType = keyof SingleReplies | keyof MultipartReplies;
export type RequestMessage = Extract<Outgoing, { type: RequestType }>;
/** Reply to a request: one message, or every part of a multipart reply. */
export type ReplyFor<T extends RequestType> = T extends keyof SingleReplies
  ? MessageOf<SingleReplies[T]>
  : T extends keyof MultipartReplies
    ? MessageOf<MultipartReplies[T]>[]
    : never;

/** Requests answered by a multipart reply (collected across the MORE flag). */
export const MULTIPART_REQUESTS: ReadonlySet<string> = new Set<keyof MultipartReplies>([
  'flow_stats_request',
  'port_desc_request',
  'group_desc_request',
  'port_stats_request',
]);

/** One failed message of {@link OpenFlowChannel.sendBatch}. */
export interface BatchFailure {
  /** Index of the message in the submitted sequence. */
  readonly index: number;
  readonly error: OpenFlowErrorReply;
}

export interface ConnectedInfo {
  readonly datapathId: bigint;
  readonly version: number;
  readonly features: MessageOf<'features_reply'>;
}

export interface FlowFilter {
  readonly tableId?: number;
  readonly match?: Match;
  readonly cookie?: bigint;
  readonly cookieMask?: bigint;
  readonly outPort?: PortNo;
  readonly outGroup?: number;
}

export type ChannelState = 'idle' | 'connecting' | 'handshaking' | 'connected' | 'closed';

export interface OpenFlowChannelEvents {
  /** Handshake finished (again, after each reconnect). Re-reconcile here. */
  connected: [info: ConnectedInfo];
  /**
   * The connection was lost (reason given when known). Pending requests were rejected. Not
   * emitted for reconnect attempts that never reached the socket.
   */
  disconnected: [reason: Error | undefined];
  packetIn: [msg: MessageOf<'packet_in'>];
  packetIn2: [msg: MessageOf<'packet_in2'>];
  portStatus: [msg: MessageOf<'port_status'>];
  flowRemoved: [msg: MessageOf<'flow_removed'>];
  /**
   * Errors nobody awaited: OFPT_ERROR for a fire-and-forget message (`err.xid` names it),
   * undecodable messages ({@link ProtocolError}), failed handshakes. Only emitted when someone
   * listens, so an unhandled `error` event can never crash the process.
   */
  error: [err: Error];
  /** Any other unsolicited message. */
  message: [msg: OfMessage];
  /** The send queue dropped below the high-water mark after `send` returned false. */
  drain: [];
}
