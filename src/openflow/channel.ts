/**
 * OpenFlow 1.3 channel to one switch: the only place that writes OpenFlow bytes.
 *
 * - Active (`OpenFlowChannel.connect('unix:PATH' | 'tcp:HOST:PORT')`): connects, and after any
 *   loss reconnects with exponential backoff, re-handshakes and emits `connected` again so the
 *   owner re-reconciles.
 * - Passive (`OpenFlowServer.listen(...)`): OVS connects to us (`ovs-vsctl set-controller br
 *   tcp:127.0.0.1:PORT`); each accepted connection is an `OpenFlowChannel` without reconnect.
 *
 * Handshake: HELLO with a version bitmap, negotiation (1.3 required, else
 * {@link VersionNegotiationError}), FEATURES (datapath id). Then: echo keepalive both ways,
 * xid-correlated requests (multipart replies are collected across the MORE flag), barriers,
 * bundles (open → add… → barrier → commit, atomic + ordered), dumps, and events.
 *
 * Sending is batched: messages are encoded once into a queue and written in large chunks (one
 * socket write per ~256 KiB or per event-loop turn). The queue is bounded: `send` returns false
 * when the caller should wait for `drain`, and throws {@link SendQueueFullError} past the limit.
 * Nothing the switch sends can throw out of the socket handlers; bad frames reset the connection.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { decodeMessage, encodeMessage } from './codec.js';
import {
  BundleError,
  ChannelClosedError,
  HandshakeTimeoutError,
  MessageEncodeError,
  OpenFlowErrorReply,
  PeerDeadError,
  ProtocolError,
  RequestTimeoutError,
  SendQueueFullError,
  VersionNegotiationError,
} from './channel-errors.js';
import { Framer, OFP_HEADER_LEN, readHeader } from './framer.js';
import type { FlowStats, GroupDesc, Match, MessageOf, OfMessage, OfMessageType, PortDesc, PortNo } from './types.js';

export * from './channel-errors.js';

/** OpenFlow 1.3 on the wire. */
export const OFP13_VERSION = 4;
const OFPT_HELLO = 0;
const OFPT_ERROR = 1;
const OFPT_ECHO_REQUEST = 2;
const OFPHET_VERSIONBITMAP = 1;
const OFPTT_ALL = 0xff;
const OFPG_ANY = 0xffffffff;

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

const MULTIPART_REQUESTS: ReadonlySet<string> = new Set([
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

export interface ReconnectOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
}

export interface ChannelOptions {
  /** Versions offered in HELLO (default [4]); must include 4. */
  readonly versions?: readonly number[];
  /** Echo request interval (default 5000 ms); 0 disables our keepalive. */
  readonly echoIntervalMs?: number;
  /** Unanswered intervals (with no traffic at all from the peer) before it is dead (default 3). */
  readonly echoMisses?: number;
  /** Default timeout of `request` (default 60 s). */
  readonly requestTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** `send` returns false above this many queued bytes (default 4 MiB). */
  readonly highWaterBytes?: number;
  /** `send` throws SendQueueFullError above this (default 64 MiB). */
  readonly maxQueueBytes?: number;
  /**
   * Sent in a SET_CONFIG right after each handshake (default 0xffff = whole packets). OVS
   * gives service connections (the mgmt socket) miss_send_len 0, which suppresses packet-ins;
   * `null` leaves the switch's setting alone.
   */
  readonly missSendLen?: number | null;
  /** Active side only; `false` disables reconnecting. */
  readonly reconnect?: ReconnectOptions | false;
}

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
interface ErrorTracker {
  first: number;
  last: number;
  readonly errors: OpenFlowErrorReply[];
}

const WRITE_CHUNK = 256 * 1024;

/** Parse a HELLO frame: header version plus the version bitmap element when present. */
export function parseHelloVersions(frame: Buffer): { headerVersion: number; bitmap: number[] | undefined } {
  const headerVersion = frame[0];
  let off = OFP_HEADER_LEN;
  while (off + 4 <= frame.length) {
    const type = frame.readUInt16BE(off);
    const len = frame.readUInt16BE(off + 2);
    if (len < 4 || off + len > frame.length) break;
    if (type === OFPHET_VERSIONBITMAP) {
      const versions: number[] = [];
      for (let w = 0; (w + 1) * 4 <= len - 4; w++) {
        const word = frame.readUInt32BE(off + 4 + w * 4);
        for (let bit = 0; bit < 32; bit++) if (word & (1 << bit)) versions.push(w * 32 + bit);
      }
      return { headerVersion, bitmap: versions };
    }
    off += (len + 7) & ~7;
  }
  return { headerVersion, bitmap: undefined };
}

/** HELLO with a version bitmap element (OpenFlow 1.3.1+ §A.5.1). */
export function buildHello(versions: readonly number[], xid: number): Buffer {
  const max = Math.max(...versions);
  const words = Math.floor(max / 32) + 1;
  const elemLen = 4 + words * 4;
  const padded = (elemLen + 7) & ~7;
  const buf = Buffer.alloc(OFP_HEADER_LEN + padded);
  buf[0] = max;
  buf[1] = OFPT_HELLO;
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(xid >>> 0, 4);
  buf.writeUInt16BE(OFPHET_VERSIONBITMAP, 8);
  buf.writeUInt16BE(elemLen, 10);
  for (const v of versions) {
    const at = 12 + Math.floor(v / 32) * 4;
    buf.writeUInt32BE((buf.readUInt32BE(at) | (1 << v % 32)) >>> 0, at);
  }
  return buf;
}

/** Negotiate as in OpenFlow 1.3.1 §6.3.1; undefined when there is no common version. */
export function negotiateVersion(ours: readonly number[], peer: { headerVersion: number; bitmap: number[] | undefined }): number | undefined {
  if (peer.bitmap) {
    const common = ours.filter((v) => peer.bitmap!.includes(v));
    return common.length ? Math.max(...common) : undefined;
  }
  const v = Math.min(Math.max(...ours), peer.headerVersion);
  return ours.includes(v) ? v : undefined;
}

function peerVersionsOf(peer: { headerVersion: number; bitmap: number[] | undefined }): number[] {
  return peer.bitmap ?? [peer.headerVersion];
}

/** OFPT_ERROR HELLO_FAILED/INCOMPATIBLE, built by hand (the codec is version-4 only). */
function buildHelloFailed(version: number, xid: number, text: string): Buffer {
  const data = Buffer.from(text, 'ascii');
  const buf = Buffer.alloc(12 + data.length);
  buf[0] = version;
  buf[1] = OFPT_ERROR;
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(xid >>> 0, 4);
  buf.writeUInt16BE(0, 8);
  buf.writeUInt16BE(0, 10);
  data.copy(buf, 12);
  return buf;
}

type Target = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseTarget(target: string): Target {
  if (target.startsWith('unix:')) return { kind: 'unix', path: target.slice(5) };
  const m = /^tcp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  if (m) return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new TypeError(`bad OpenFlow target ${JSON.stringify(target)}: expected unix:PATH or tcp:HOST:PORT`);
}

export class OpenFlowChannel extends EventEmitter<OpenFlowChannelEvents> {
  private _state: ChannelState = 'idle';
  private socket: net.Socket | undefined;
  private readonly framer = new Framer();
  private nextXidValue = 1;
  private nextBundleId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly trackers = new Set<ErrorTracker>();
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private needDrain = false;
  private echoTimer: NodeJS.Timeout | undefined;
  private silentIntervals = 0;
  private heardFromPeer = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private _info: ConnectedInfo | undefined;
  private featuresXid = -1;
  private negotiated = 0;
  private readonly opts: Required<Omit<ChannelOptions, 'reconnect' | 'missSendLen'>> & {
    reconnect: Required<ReconnectOptions> | false;
    missSendLen: number | null;
  };

  private constructor(
    private readonly target: Target | undefined,
    options: ChannelOptions,
  ) {
    super();
    const versions = options.versions ?? [OFP13_VERSION];
    this.opts = {
      versions,
      echoIntervalMs: options.echoIntervalMs ?? 5_000,
      echoMisses: options.echoMisses ?? 3,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      highWaterBytes: options.highWaterBytes ?? 4 * 1024 * 1024,
      maxQueueBytes: options.maxQueueBytes ?? 64 * 1024 * 1024,
      missSendLen: options.missSendLen === undefined ? 0xffff : options.missSendLen,
      reconnect:
        options.reconnect === false || !target
          ? false
          : { initialMs: 100, maxMs: 5_000, factor: 2, ...(options.reconnect ?? {}) },
    };
  }

  /** Active side: connect to `unix:PATH` or `tcp:HOST:PORT`, reconnecting with backoff. */
  static connect(target: string, options: ChannelOptions = {}): OpenFlowChannel {
    const ch = new OpenFlowChannel(parseTarget(target), options);
    ch.dial();
    return ch;
  }

  /** Passive side: wrap a socket the switch opened to us (no reconnect). */
  static accept(socket: net.Socket, options: ChannelOptions = {}): OpenFlowChannel {
    const ch = new OpenFlowChannel(undefined, options);
    ch.attach(socket);
    return ch;
  }

  get state(): ChannelState {
    return this._state;
  }
  /** Handshake result of the current connection. */
  get info(): ConnectedInfo | undefined {
    return this._info;
  }
  get datapathId(): bigint | undefined {
    return this._info?.datapathId;
  }
  /** Bytes waiting in our queue plus the socket's write buffer. */
  get queuedBytes(): number {
    return this.outBytes + (this.socket?.writableLength ?? 0);
  }

  /** Resolves once connected (immediately if already). Rejects on close or version mismatch. */
  ready(timeoutMs = 30_000): Promise<ConnectedInfo> {
    if (this._state === 'connected' && this._info) return Promise.resolve(this._info);
    if (this._state === 'closed') return Promise.reject(new ChannelClosedError());
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('connected', onConn);
        this.off('disconnected', onDisc);
      };
      const onConn = (info: ConnectedInfo): void => {
        cleanup();
        resolve(info);
      };
      const onDisc = (reason: Error | undefined): void => {
        if (this._state === 'closed' || reason instanceof VersionNegotiationError || !this.opts.reconnect) {
          cleanup();
          reject(reason instanceof VersionNegotiationError ? reason : new ChannelClosedError(reason));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new HandshakeTimeoutError(timeoutMs));
      }, timeoutMs);
      this.on('connected', onConn);
      this.on('disconnected', onDisc);
    });
  }

  /** Close for good: no reconnect; pending requests reject with ChannelClosedError. */
  close(): void {
    if (this._state === 'closed') return;
    const wasUp = this.socket !== undefined;
    this._state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.teardown(undefined);
    if (wasUp) this.emit('disconnected', undefined);
  }

  nextXid(): number {
    const x = this.nextXidValue;
    this.nextXidValue = this.nextXidValue >= 0xffffffff ? 1 : this.nextXidValue + 1;
    return x;
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  /**
   * Queue one message (xid assigned unless given). Returns false when the caller should wait
   * for `drain` before sending more. Throws ChannelClosedError when not connected and
   * SendQueueFullError past the hard limit; encode errors (OfEncodeError) propagate.
   */
  send(msg: Outgoing): boolean {
    this.assertConnected();
    const xid = msg.xid ?? this.nextXid();
    return this.enqueue(encodeMessage({ ...msg, xid } as OfMessage));
  }

  /** Queue already-encoded OpenFlow bytes (one or more whole messages). Same contract as send. */
  sendRaw(bytes: Buffer): boolean {
    this.assertConnected();
    return this.enqueue(bytes);
  }

  /** Send, waiting for `drain` first when the queue is above the high-water mark. */
  async sendAsync(msg: Outgoing): Promise<void> {
    if (this.queuedBytes >= this.opts.highWaterBytes) await this.waitDrain();
    this.send(msg);
  }

  /** Wait until the queue is below the high-water mark (rejects if the connection drops). */
  waitDrain(): Promise<void> {
    if (this.queuedBytes < this.opts.highWaterBytes) return Promise.resolve();
    this.needDrain = true;
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.off('disconnected', onDisc);
        resolve();
      };
      const onDisc = (reason: Error | undefined): void => {
        this.off('drain', onDrain);
        reject(new ChannelClosedError(reason));
      };
      this.once('drain', onDrain);
      this.once('disconnected', onDisc);
    });
  }

  /** Send a request and resolve with its reply (all parts, for multipart requests). */
  request<T extends RequestType>(
    msg: Extract<Outgoing, { type: T }>,
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<ReplyFor<T>> {
    this.assertConnected();
    const m = msg as Outgoing;
    const xid = m.xid ?? this.nextXid();
    const bytes = encodeMessage({ ...m, xid } as OfMessage);
    return new Promise<ReplyFor<T>>((resolve, reject) => {
      const p: Pending = {
        xid,
        type: m.type,
        multipart: MULTIPART_REQUESTS.has(m.type),
        parts: [],
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
      };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(xid);
          reject(new RequestTimeoutError(xid, m.type, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(xid, p);
      try {
        this.enqueue(bytes, true);
      } catch (err) {
        this.pending.delete(xid);
        clearTimeout(p.timer);
        reject(err as Error);
      }
    });
  }

  async barrier(timeoutMs?: number): Promise<void> {
    await this.request({ type: 'barrier_request' }, timeoutMs);
  }

  /**
   * Send messages pipelined (respecting back-pressure), then one barrier. Resolves with the
   * OpenFlow errors the switch returned for them, with the index of the offending message
   * (empty = all applied). These errors are not emitted as `error` events.
   *
   * Messages are encoded while earlier ones are already on the wire (the switch works while we
   * encode). If one cannot be encoded, rejects with {@link MessageEncodeError}: the messages
   * before `index` were sent, none after.
   */
  async sendBatch(msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<BatchFailure[]> {
    this.assertConnected();
    const tracker: ErrorTracker = { first: -1, last: -1, errors: [] };
    this.trackers.add(tracker);
    try {
      const n = await this.streamEncoded(msgs, (m, xid) => ({ ...m, xid }) as OfMessage, tracker);
      if (!n) return [];
      await this.barrier(timeoutMs);
      return tracker.errors.map((error) => ({ index: (error.xid - tracker.first) >>> 0, error }));
    } finally {
      this.trackers.delete(tracker);
    }
  }

  /**
   * Apply messages atomically and in order with an ONF bundle (ext 230): open, add each,
   * barrier, commit. If any message fails, the bundle is discarded (or the commit fails) and
   * nothing changes; rejects with {@link BundleError} (or {@link MessageEncodeError} when a
   * message cannot be encoded; the bundle is discarded then too).
   */
  async bundle(msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<void> {
    const bundleId = this.nextBundleId;
    this.nextBundleId = this.nextBundleId >= 0xffffffff ? 1 : this.nextBundleId + 1;
    const flags = { atomic: true, ordered: true };
    const tracker: ErrorTracker = { first: -1, last: -1, errors: [] };
    const fail = (commitErr: OpenFlowErrorReply | undefined): BundleError => {
      const inner = tracker.errors[0];
      const error = inner ?? commitErr!;
      const index = inner ? ((inner.xid - tracker.first) >>> 0) : undefined;
      return new BundleError(bundleId, error, index, commitErr ? [...tracker.errors, commitErr] : [...tracker.errors]);
    };
    const discard = (): Promise<unknown> =>
      this.request({ type: 'bundle_control', bundleId, ctrlType: 'discard_request', flags }, timeoutMs).catch(
        () => undefined,
      );
    try {
      await this.request({ type: 'bundle_control', bundleId, ctrlType: 'open_request', flags }, timeoutMs);
    } catch (err) {
      if (err instanceof OpenFlowErrorReply) throw new BundleError(bundleId, err, undefined, [err]);
      throw err;
    }
    this.trackers.add(tracker);
    try {
      try {
        await this.streamEncoded(
          msgs,
          (m, xid) => ({ type: 'bundle_add', xid, bundleId, flags, message: { ...m, xid } as OfMessage }),
          tracker,
        );
      } catch (err) {
        if (err instanceof MessageEncodeError && this._state === 'connected') await discard();
        throw err;
      }
      // Adds that fail to parse are rejected at add time and would be silently left out of the
      // commit: check before committing.
      await this.barrier(timeoutMs);
      if (tracker.errors.length) {
        await discard();
        throw fail(undefined);
      }
      try {
        await this.request({ type: 'bundle_control', bundleId, ctrlType: 'commit_request', flags }, timeoutMs);
      } catch (err) {
        if (err instanceof OpenFlowErrorReply) throw fail(err);
        throw err;
      }
      if (tracker.errors.length) throw fail(undefined);
    } finally {
      this.trackers.delete(tracker);
    }
  }

  /**
   * A bundle written in one go: open, adds and commit leave together, without waiting for the
   * open reply or a barrier (one write instead of three round trips). For small latency-bound
   * batches. The switch handles a connection's messages in order, so anything sent after this
   * call sees the commit's result. Resolves at the commit reply; rejects with a BundleError
   * naming the first refused add (Open vSwitch checks adds as they arrive, then fails the whole
   * commit: nothing is applied, as with `bundle()`). Throws MessageEncodeError, having sent
   * nothing, if a message cannot be encoded.
   */
  async bundlePipelined(msgs: readonly Outgoing[], timeoutMs?: number): Promise<void> {
    const bundleId = this.nextBundleId;
    this.nextBundleId = this.nextBundleId >= 0xffffffff ? 1 : this.nextBundleId + 1;
    const flags = { atomic: true, ordered: true };
    const tracker: ErrorTracker = { first: -1, last: -1, errors: [] };
    // Encode everything before anything leaves: a message the codec rejects sends nothing.
    const chunks: Buffer[] = [];
    msgs.forEach((m, index) => {
      const xid = this.nextXid();
      if (index === 0) tracker.first = xid;
      tracker.last = xid;
      try {
        chunks.push(encodeMessage({ type: 'bundle_add', xid, bundleId, flags, message: { ...m, xid } as OfMessage }));
      } catch (err) {
        throw new MessageEncodeError(index, err as Error);
      }
    });
    // Everything up to the commit request is queued synchronously, in order, at the call.
    const open = this.request({ type: 'bundle_control', bundleId, ctrlType: 'open_request', flags }, timeoutMs);
    open.catch(() => undefined); // the commit reports the failure
    if (chunks.length > 0) {
      this.trackers.add(tracker);
      this.enqueue(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    }
    const failed = (commitErr: OpenFlowErrorReply | undefined): BundleError => {
      const first = tracker.errors[0] ?? commitErr!;
      const index = tracker.errors[0] ? (tracker.errors[0].xid - tracker.first) >>> 0 : undefined;
      return new BundleError(bundleId, first, index, commitErr ? [...tracker.errors, commitErr] : [...tracker.errors]);
    };
    try {
      await this.request({ type: 'bundle_control', bundleId, ctrlType: 'commit_request', flags }, timeoutMs);
    } catch (err) {
      throw err instanceof OpenFlowErrorReply ? failed(err) : err;
    } finally {
      this.trackers.delete(tracker);
    }
    if (tracker.errors.length > 0) throw failed(undefined);
  }

  /** All flows (or those matching the filter; non-strict match as in OFPMP_FLOW). */
  async dumpFlows(filter: FlowFilter = {}): Promise<FlowStats[]> {
    const parts = await this.request({
      type: 'flow_stats_request',
      flags: 0,
      tableId: filter.tableId ?? OFPTT_ALL,
      outPort: filter.outPort ?? 'any',
      outGroup: filter.outGroup ?? OFPG_ANY,
      cookie: filter.cookie ?? 0n,
      cookieMask: filter.cookieMask ?? 0n,
      match: filter.match ?? {},
    });
    return parts.flatMap((p) => p.stats);
  }

  async dumpGroups(): Promise<GroupDesc[]> {
    const parts = await this.request({ type: 'group_desc_request' });
    return parts.flatMap((p) => p.groups);
  }

  async portDesc(): Promise<PortDesc[]> {
    const parts = await this.request({ type: 'port_desc_request' });
    return parts.flatMap((p) => p.ports);
  }

  // ------------------------------------------------------------------------------------------
  // Internals: queue

  /**
   * Encode messages with consecutive xids into ~256 KiB buffers and queue each as soon as it
   * is full, so the switch processes earlier messages while we encode later ones. Records the
   * xid range in `tracker`. Returns the number of messages sent.
   */
  private async streamEncoded(
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
      this.assertConnected();
      if (!this.enqueue(chunk)) await this.waitDrain();
    };
    for (const m of msgs) {
      const xid = this.nextXid();
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

  private assertConnected(): void {
    if (this._state !== 'connected' || !this.socket) throw new ChannelClosedError();
  }

  /** `force` bypasses the hard limit (small control messages must always get through). */
  private enqueue(bytes: Buffer, force = false): boolean {
    const queued = this.queuedBytes;
    if (!force && queued + bytes.length > this.opts.maxQueueBytes) {
      throw new SendQueueFullError(queued, this.opts.maxQueueBytes);
    }
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.outBytes >= WRITE_CHUNK) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushCb);
    }
    if (this.queuedBytes >= this.opts.highWaterBytes) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (!this.outBytes) return;
    const sock = this.socket;
    const chunk = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (!sock || sock.destroyed) return;
    const ok = sock.write(chunk);
    if (ok && this.needDrain && this.queuedBytes < this.opts.highWaterBytes) this.scheduleDrain();
  }

  private scheduleDrain(): void {
    this.needDrain = false;
    process.nextTick(() => this.emit('drain'));
  }

  private readonly onSocketDrain = (): void => {
    if (this.needDrain && this.queuedBytes < this.opts.highWaterBytes) this.scheduleDrain();
  };

  /** Write now, bypassing the queue (handshake). */
  private writeNow(bytes: Buffer): void {
    this.flush();
    this.socket?.write(bytes);
  }

  // ------------------------------------------------------------------------------------------
  // Internals: connection lifecycle

  private dial(): void {
    if (this._state === 'closed' || !this.target) return;
    this._state = 'connecting';
    const t = this.target;
    const sock = t.kind === 'unix' ? net.createConnection({ path: t.path }) : net.createConnection({ host: t.host, port: t.port });
    this.attach(sock, true);
  }

  private attach(sock: net.Socket, dialing = false): void {
    this.socket = sock;
    this.framer.reset();
    this._info = undefined;
    this.negotiated = 0;
    sock.setNoDelay?.(true);
    const start = (): void => {
      if (this.socket !== sock) return;
      this._state = 'handshaking';
      this.writeNow(buildHello(this.opts.versions, this.nextXid()));
      this.handshakeTimer = setTimeout(
        () => this.drop(sock, new HandshakeTimeoutError(this.opts.handshakeTimeoutMs)),
        this.opts.handshakeTimeoutMs,
      );
    };
    if (dialing) sock.once('connect', start);
    else start();
    sock.on('data', (chunk: Buffer) => {
      if (this.socket !== sock) return;
      try {
        this.onData(sock, chunk);
      } catch (err) {
        // Defensive: a bug in a handler must not take the process down.
        this.drop(sock, new ProtocolError('internal error handling switch data', undefined, err as Error));
      }
    });
    sock.on('drain', this.onSocketDrain);
    sock.on('error', (err) => this.drop(sock, err));
    sock.on('close', () => this.drop(sock, undefined));
  }

  /** Lose the current connection: reject pending, emit disconnected, maybe reconnect. */
  private drop(sock: net.Socket, reason: Error | undefined): void {
    if (this.socket !== sock) return;
    const wasClosed = this._state === 'closed';
    const wasOpen = this._state === 'handshaking' || this._state === 'connected';
    this.teardown(reason);
    if (wasClosed) return;
    this._state = this.opts.reconnect ? 'connecting' : 'closed';
    if (wasOpen || !this.opts.reconnect) this.emit('disconnected', reason);
    if (this.opts.reconnect && reason instanceof VersionNegotiationError) this.emitError(reason);
    if (this.opts.reconnect && this._state !== 'closed') {
      const r = this.opts.reconnect;
      const delay = Math.min(r.maxMs, r.initialMs * r.factor ** this.attempt);
      this.attempt++;
      const jitter = delay * 0.2 * Math.random();
      this.reconnectTimer = setTimeout(() => this.dial(), delay + jitter);
    }
  }

  private teardown(reason: Error | undefined): void {
    const sock = this.socket;
    this.socket = undefined;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.echoTimer);
    this.echoTimer = undefined;
    this.out = [];
    this.outBytes = 0;
    this._info = undefined;
    if (sock && !sock.destroyed) sock.destroy();
    const err = new ChannelClosedError(reason);
    const pend = [...this.pending.values()];
    this.pending.clear();
    for (const p of pend) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private startEcho(sock: net.Socket): void {
    if (this.opts.echoIntervalMs <= 0) return;
    this.silentIntervals = 0;
    this.heardFromPeer = false;
    this.echoTimer = setInterval(() => {
      if (this.socket !== sock) return;
      if (this.heardFromPeer) {
        this.silentIntervals = 0;
      } else if (++this.silentIntervals >= this.opts.echoMisses) {
        this.drop(sock, new PeerDeadError(this.silentIntervals));
        return;
      }
      this.heardFromPeer = false;
      try {
        this.enqueue(encodeMessage({ type: 'echo_request', xid: this.nextXid(), data: Buffer.alloc(0) }), true);
      } catch {
        /* queue errors cannot happen with force; ignore */
      }
    }, this.opts.echoIntervalMs);
    this.echoTimer.unref?.();
  }

  // ------------------------------------------------------------------------------------------
  // Internals: receiving

  private onData(sock: net.Socket, chunk: Buffer): void {
    this.heardFromPeer = true;
    const r = this.framer.push(chunk);
    for (const f of r.frames) {
      if (this.socket !== sock) return;
      this.onFrame(sock, f);
    }
    if (!r.ok) this.drop(sock, new ProtocolError('bad frame length', r.error.header, r.error));
  }

  private onFrame(sock: net.Socket, frame: Buffer): void {
    const type = frame[1];
    if (this._state === 'handshaking' && this.negotiated === 0) {
      if (type !== OFPT_HELLO) {
        this.drop(sock, new ProtocolError(`expected HELLO, got message type ${type}`, frame));
        return;
      }
      const peer = parseHelloVersions(frame);
      const v = negotiateVersion(this.opts.versions, peer);
      if (v === undefined) {
        const err = new VersionNegotiationError(this.opts.versions, peerVersionsOf(peer));
        this.writeNow(buildHelloFailed(Math.min(peer.headerVersion, Math.max(...this.opts.versions)), readHeader(frame).xid, err.message));
        this.drop(sock, err);
        return;
      }
      this.negotiated = v;
      this.featuresXid = this.nextXid();
      this.writeNow(encodeMessage({ type: 'features_request', xid: this.featuresXid }));
      return;
    }
    if (frame[0] !== this.negotiated) {
      // OVS answers with the negotiated version only; anything else is garbage.
      this.emitError(new ProtocolError(`message with version ${frame[0]} on a version ${this.negotiated} channel`, frame));
      return;
    }
    if (type === OFPT_ECHO_REQUEST) {
      // Fast path: echo the frame back as a reply.
      const reply = Buffer.from(frame);
      reply[1] = 3;
      this.writeNow(reply);
      return;
    }
    const d = decodeMessage(frame);
    if (!d.ok) {
      const xid = frame.readUInt32BE(4);
      const cause = 'error' in d ? d.error : undefined;
      const err = new ProtocolError(`undecodable message type ${type}`, frame, cause);
      const p = this.pending.get(xid);
      if (p) {
        this.finish(p);
        p.reject(err);
      } else this.emitError(err);
      return;
    }
    this.onMessage(sock, d.msg);
  }

  private finish(p: Pending): void {
    this.pending.delete(p.xid);
    clearTimeout(p.timer);
  }

  private onMessage(sock: net.Socket, msg: OfMessage): void {
    if (this._state === 'handshaking') {
      if (msg.type === 'features_reply' && msg.xid === this.featuresXid) {
        clearTimeout(this.handshakeTimer);
        this._info = { datapathId: msg.datapathId, version: this.negotiated, features: msg };
        this._state = 'connected';
        this.attempt = 0;
        if (this.opts.missSendLen !== null) {
          this.enqueue(encodeMessage({ type: 'set_config', xid: this.nextXid(), flags: 0, missSendLen: this.opts.missSendLen }), true);
        }
        this.startEcho(sock);
        this.emit('connected', this._info);
        return;
      }
      if (msg.type === 'error') {
        this.drop(sock, new OpenFlowErrorReply(msg));
        return;
      }
      // Anything else before FEATURES_REPLY (e.g. port status) is ignored.
      return;
    }
    const p = this.pending.get(msg.xid);
    if (p) {
      if (msg.type === 'error') {
        this.finish(p);
        p.reject(new OpenFlowErrorReply(msg));
        return;
      }
      if (p.multipart && 'more' in msg) {
        p.parts.push(msg);
        if (!msg.more) {
          this.finish(p);
          p.resolve(p.parts);
        }
        return;
      }
      if (!isUnsolicited(msg.type)) {
        this.finish(p);
        p.resolve(msg);
        return;
      }
    }
    switch (msg.type) {
      case 'error': {
        const err = new OpenFlowErrorReply(msg);
        for (const t of this.trackers) {
          if (((msg.xid - t.first) >>> 0) <= ((t.last - t.first) >>> 0)) {
            t.errors.push(err);
            return;
          }
        }
        this.emitError(err);
        return;
      }
      case 'packet_in':
        this.emit('packetIn', msg);
        return;
      case 'packet_in2':
        this.emit('packetIn2', msg);
        return;
      case 'port_status':
        this.emit('portStatus', msg);
        return;
      case 'flow_removed':
        this.emit('flowRemoved', msg);
        return;
      case 'echo_reply':
        return;
      default:
        this.emit('message', msg);
    }
  }
}

function isUnsolicited(t: OfMessageType): boolean {
  return t === 'packet_in' || t === 'packet_in2' || t === 'port_status' || t === 'flow_removed';
}

export interface OpenFlowServerEvents {
  /** A switch connected (handshake not done yet; wait for the channel's `connected`). */
  channel: [ch: OpenFlowChannel];
  /** A switch finished the handshake. */
  connected: [ch: OpenFlowChannel, info: ConnectedInfo];
  error: [err: Error];
}

/** Passive side: listen for switches (`ovs-vsctl set-controller BR tcp:HOST:PORT`). */
export class OpenFlowServer extends EventEmitter<OpenFlowServerEvents> {
  readonly channels = new Set<OpenFlowChannel>();

  private constructor(
    private readonly server: net.Server,
    private readonly channelOptions: ChannelOptions,
  ) {
    super();
    server.on('connection', (sock) => {
      const ch = OpenFlowChannel.accept(sock, { ...channelOptions, reconnect: false });
      this.channels.add(ch);
      ch.on('connected', (info) => this.emit('connected', ch, info));
      ch.on('disconnected', () => this.channels.delete(ch));
      this.emit('channel', ch);
    });
    server.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** Listen on TCP (`port` 0 picks a free one) or on a unix socket `path`. */
  static listen(
    where: { readonly host?: string; readonly port?: number } | { readonly path: string },
    options: ChannelOptions = {},
  ): Promise<OpenFlowServer> {
    const server = net.createServer();
    const s = new OpenFlowServer(server, options);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve(s);
      };
      if ('path' in where) server.listen(where.path, done);
      else server.listen(where.port ?? 0, where.host ?? '127.0.0.1', done);
    });
  }

  /** TCP port (or unix path) we listen on. */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** `tcp:HOST:PORT` for `set-controller`. */
  get target(): string {
    const a = this.server.address();
    if (typeof a === 'string') return `unix:${a}`;
    return a ? `tcp:${a.address}:${a.port}` : '';
  }

  /** Resolves with the next switch to finish its handshake (optionally a given datapath id). */
  nextSwitch(datapathId?: bigint, timeoutMs = 30_000): Promise<OpenFlowChannel> {
    for (const ch of this.channels) {
      if (ch.state === 'connected' && (datapathId === undefined || ch.datapathId === datapathId)) return Promise.resolve(ch);
    }
    return new Promise((resolve, reject) => {
      const on = (ch: OpenFlowChannel, info: ConnectedInfo): void => {
        if (datapathId !== undefined && info.datapathId !== datapathId) return;
        clearTimeout(timer);
        this.off('connected', on);
        resolve(ch);
      };
      const timer = setTimeout(() => {
        this.off('connected', on);
        reject(new HandshakeTimeoutError(timeoutMs));
      }, timeoutMs);
      this.on('connected', on);
    });
  }

  async close(): Promise<void> {
    for (const ch of this.channels) ch.close();
    this.channels.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
