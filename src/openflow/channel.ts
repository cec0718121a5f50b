/**
 * OpenFlow 1.3 channel to one switch: the only place that writes OpenFlow bytes. This module is
 * the public face; each concept lives in its own file under `channel/`:
 *
 * - `openflow-channel.ts` — OpenFlowChannel: active (`OpenFlowChannel.connect('unix:PATH' |
 *   'tcp:HOST:PORT')`: connects, and after any loss reconnects with exponential backoff,
 *   re-handshakes and emits `connected` again so the owner re-reconciles) or accepted; echo
 *   keepalive both ways; requests; dumps.
 * - `openflow-server.ts` — OpenFlowServer, the passive side: OVS connects to us (`ovs-vsctl
 *   set-controller br tcp:127.0.0.1:PORT`); each connection is a channel without reconnect.
 * - `handshake.ts` — HELLO with a version bitmap (codec: `../hello.ts`), negotiation (1.3
 *   required, else {@link VersionNegotiationError}), FEATURES (datapath id).
 * - `send-queue.ts` — messages are encoded once into a queue and written in large chunks (one
 *   socket write per ~256 KiB or per event-loop turn). Bounded: `send` returns false when the
 *   caller should wait for `drain`, and throws {@link SendQueueFullError} past the limit.
 * - `pending-requests.ts` — xid-correlated requests (multipart replies collected across the MORE
 *   flag), and error trackers for batches and bundles.
 * - `dispatch.ts` — where each received frame goes. Nothing the switch sends can throw out of
 *   the socket handlers; bad frames reset the connection.
 * - `bundles.ts` — pipelined batches with one barrier, and bundles (open → add… → barrier →
 *   commit, atomic + ordered), streamed or in one write.
 * - `options.ts`, `types.ts` — configuration and the public types; `channel-errors.ts` — errors.
 */
export * from './channel-errors.js';
export { OFP13_VERSION } from './header.js';
export { negotiateVersion, parseHelloVersions } from './hello.js';
export { buildHello } from './channel/handshake.js';
export { OpenFlowChannel } from './channel/openflow-channel.js';
export { OpenFlowServer, type OpenFlowServerEvents } from './channel/openflow-server.js';
export { parseTarget, type ChannelOptions, type ReconnectOptions } from './channel/options.js';
export type {
  BatchFailure,
  ChannelState,
  ConnectedInfo,
  FlowFilter,
  OpenFlowChannelEvents,
  Outgoing,
  ReplyFor,
  RequestMessage,
  RequestType,
} from './channel/types.js';
