/**
 * OpenFlowChannel: one connection to one switch, its lifecycle and its public API. Connecting
 * (active, with reconnect backoff) or accepting (passive), the handshake, echo keepalive,
 * requests; the pieces live beside it: handshake.ts, send-queue.ts, pending-requests.ts,
 * dispatch.ts, bundles.ts.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ChannelClosedError, HandshakeTimeoutError, PeerDeadError, ProtocolError, VersionNegotiationError } from '../channel-errors.js';
import { encodeMessage } from '../codec.js';
import { Framer } from '../framer.js';
import { OFPG_ANY, OFPTT_ALL } from '../ports.js';
import type { FlowStats, GroupDesc, OfMessage, PortDesc } from '../types.js';
import { sendBatch, sendBundle, sendBundlePipelined, type BatchTransport } from './bundles.js';
import { routeFrame, routeMessage } from './dispatch.js';
import { answerHello, awaitFeatures, buildHello } from './handshake.js';
import { parseTarget, resolveChannelOptions, type ChannelOptions, type ResolvedChannelOptions, type Target } from './options.js';
import { PendingRequests } from './pending-requests.js';
import { SendQueue } from './send-queue.js';
import type { BatchFailure, ChannelState, ConnectedInfo, FlowFilter, OpenFlowChannelEvents, Outgoing, ReplyFor, RequestType } from './types.js';

export class OpenFlowChannel extends EventEmitter<OpenFlowChannelEvents> {
  private _state: ChannelState = 'idle';
  private socket: net.Socket | undefined;
  private readonly framer = new Framer();
  private nextXidValue = 1;
  private nextBundleIdValue = 1;
  private readonly requests = new PendingRequests();
  private readonly queue: SendQueue;
  private echoTimer: NodeJS.Timeout | undefined;
  private silentIntervals = 0;
  /** Silent intervals while the peer was busy with our requests or data (see startEcho). */
  private busyIntervals = 0;
  private heardFromPeer = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private _info: ConnectedInfo | undefined;
  private featuresXid = -1;
  private negotiated = 0;
  private readonly opts: ResolvedChannelOptions;
  /** What bundles.ts needs of this channel. */
  private readonly transport: BatchTransport;

  private constructor(
    private readonly target: Target | undefined,
    options: ChannelOptions,
  ) {
    super();
    this.opts = resolveChannelOptions(options, target !== undefined);
    this.queue = new SendQueue(this.opts, () => this.emit('drain'));
    const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
    this.transport = {
      get connected() {
        return self._state === 'connected';
      },
      requests: this.requests,
      nextXid: () => this.nextXid(),
      nextBundleId: () => {
        const id = this.nextBundleIdValue;
        this.nextBundleIdValue = id >= 0xffffffff ? 1 : id + 1;
        return id;
      },
      assertConnected: () => this.assertConnected(),
      enqueue: (bytes) => this.queue.enqueue(bytes),
      waitDrain: () => this.waitDrain(),
      request: (msg, timeoutMs) => this.request(msg, timeoutMs),
      barrier: (timeoutMs) => this.barrier(timeoutMs),
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
    return this.queue.queuedBytes;
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
    return this.queue.enqueue(encodeMessage({ ...msg, xid } as OfMessage));
  }

  /** Queue already-encoded OpenFlow bytes (one or more whole messages). Same contract as send. */
  sendRaw(bytes: Buffer): boolean {
    this.assertConnected();
    return this.queue.enqueue(bytes);
  }

  /** Send, waiting for `drain` first when the queue is above the high-water mark. */
  async sendAsync(msg: Outgoing): Promise<void> {
    if (!this.queue.belowHighWater) await this.waitDrain();
    this.send(msg);
  }

  /** Wait until the queue is below the high-water mark (rejects if the connection drops). */
  waitDrain(): Promise<void> {
    if (this.queue.belowHighWater) return Promise.resolve();
    this.queue.wantDrain();
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
      this.requests.add(xid, m.type, timeoutMs, resolve as (v: unknown) => void, reject);
      try {
        this.queue.enqueue(bytes, true);
      } catch (err) {
        this.requests.remove(xid);
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
  sendBatch(msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<BatchFailure[]> {
    return sendBatch(this.transport, msgs, timeoutMs);
  }

  /**
   * Apply messages atomically and in order with an ONF bundle (ext 230): open, add each,
   * barrier, commit. If any message fails, the bundle is discarded (or the commit fails) and
   * nothing changes; rejects with {@link BundleError} (or {@link MessageEncodeError} when a
   * message cannot be encoded; the bundle is discarded then too).
   */
  bundle(msgs: Iterable<Outgoing>, timeoutMs?: number): Promise<void> {
    return sendBundle(this.transport, msgs, timeoutMs);
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
  bundlePipelined(msgs: readonly Outgoing[], timeoutMs?: number): Promise<void> {
    return sendBundlePipelined(this.transport, msgs, timeoutMs);
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

  private assertConnected(): void {
    if (this._state !== 'connected' || !this.socket) throw new ChannelClosedError();
  }

  // ------------------------------------------------------------------------------------------
  // Connection lifecycle

  private dial(): void {
    if (this._state === 'closed' || !this.target) return;
    this._state = 'connecting';
    const t = this.target;
    const sock = t.kind === 'unix' ? net.createConnection({ path: t.path }) : net.createConnection({ host: t.host, port: t.port });
    this.attach(sock, true);
  }

  private attach(sock: net.Socket, dialing = false): void {
    this.socket = sock;
    this.queue.attach(sock);
    this.framer.reset();
    this._info = undefined;
    this.negotiated = 0;
    sock.setNoDelay?.(true);
    const start = (): void => {
      if (this.socket !== sock) return;
      this._state = 'handshaking';
      this.queue.writeNow(buildHello(this.opts.versions, this.nextXid()));
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
    this.queue.detach();
    clearTimeout(this.handshakeTimer);
    clearInterval(this.echoTimer);
    this.echoTimer = undefined;
    this._info = undefined;
    if (sock && !sock.destroyed) sock.destroy();
    this.requests.rejectAll(new ChannelClosedError(reason));
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private startEcho(sock: net.Socket): void {
    if (this.opts.echoIntervalMs <= 0) return;
    this.silentIntervals = 0;
    this.busyIntervals = 0;
    this.heardFromPeer = false;
    this.echoTimer = setInterval(() => {
      if (this.socket !== sock) return;
      if (this.heardFromPeer) {
        this.silentIntervals = 0;
        this.busyIntervals = 0;
      } else if (this.requests.size > 0 || sock.writableLength > 0) {
        // The peer owes us a reply, or has not read all we sent: it may be busy with our own
        // work. ovs-vswitchd answers nothing while it takes in and commits a large bundle
        // (60,000 flows: several seconds on a loaded 2-core VM); dropping it then discards the
        // bundle, which is sent again in full, forever (seen in bench:convergence --vs-ovn).
        // Patience is bounded by the request timeout.
        if (++this.busyIntervals * this.opts.echoIntervalMs >= this.opts.requestTimeoutMs) {
          this.drop(sock, new PeerDeadError(this.busyIntervals));
          return;
        }
      } else if (++this.silentIntervals >= this.opts.echoMisses) {
        this.drop(sock, new PeerDeadError(this.silentIntervals));
        return;
      }
      this.heardFromPeer = false;
      try {
        this.queue.enqueue(encodeMessage({ type: 'echo_request', xid: this.nextXid(), data: Buffer.alloc(0) }), true);
      } catch {
        /* queue errors cannot happen with force; ignore */
      }
    }, this.opts.echoIntervalMs);
    this.echoTimer.unref?.();
  }

  // ------------------------------------------------------------------------------------------
  // Receiving (what each frame means: handshake.ts and dispatch.ts)

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
    if (this._state === 'handshaking' && this.negotiated === 0) {
      const hello = answerHello(this.opts.versions, frame, () => this.nextXid());
      if (!hello.ok) {
        if (hello.reply) this.queue.writeNow(hello.reply);
        this.drop(sock, hello.error);
        return;
      }
      this.negotiated = hello.version;
      this.featuresXid = hello.featuresXid;
      this.queue.writeNow(hello.featuresRequest);
      return;
    }
    const routed = routeFrame(frame, this.negotiated, this.requests);
    if (routed.kind !== 'decoded') return this.act(routed);
    if (this._state !== 'handshaking') return this.act(routeMessage(routed.msg, this.requests));
    const step = awaitFeatures(routed.msg, this.featuresXid, this.negotiated);
    if (step instanceof Error) this.drop(sock, step);
    else if (step !== undefined) this.onConnected(sock, step);
    // Anything else before FEATURES_REPLY (e.g. port status) is ignored.
  }

  private onConnected(sock: net.Socket, info: ConnectedInfo): void {
    clearTimeout(this.handshakeTimer);
    this._info = info;
    this._state = 'connected';
    this.attempt = 0;
    if (this.opts.missSendLen !== null) {
      this.queue.enqueue(encodeMessage({ type: 'set_config', xid: this.nextXid(), flags: 0, missSendLen: this.opts.missSendLen }), true);
    }
    this.startEcho(sock);
    this.emit('connected', info);
  }

  private act(r: ReturnType<typeof routeMessage>): void {
    switch (r.kind) {
      case 'none':
        return;
      case 'reply':
        return this.queue.writeNow(r.bytes);
      case 'error':
        return this.emitError(r.error);
      case 'packetIn':
        this.emit('packetIn', r.msg);
        return;
      case 'packetIn2':
        this.emit('packetIn2', r.msg);
        return;
      case 'portStatus':
        this.emit('portStatus', r.msg);
        return;
      case 'flowRemoved':
        this.emit('flowRemoved', r.msg);
        return;
      case 'message':
        this.emit('message', r.msg);
        return;
    }
  }
}
