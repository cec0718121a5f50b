/** Passive side: listen for switches (`ovs-vsctl set-controller BR tcp:HOST:PORT`). */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { HandshakeTimeoutError } from '../channel-errors.js';
import { OpenFlowChannel } from './openflow-channel.js';
import type { ChannelOptions } from './options.js';
import type { ConnectedInfo } from './types.js';

export interface OpenFlowServerEvents {
  /** A switch connected (handshake not done yet; wait for the channel's `connected`). */
  channel: [ch: OpenFlowChannel];
  /** A switch finished the handshake. */
  connected: [ch: OpenFlowChannel, info: ConnectedInfo];
  error: [err: Error];
}

/** Each accepted connection is an {@link OpenFlowChannel} without reconnect. */
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
