/** How a channel is configured (with its defaults) and where an active channel connects. */
import { OFP13_VERSION } from '../header.js';

export interface ReconnectOptions {
  /** First wait (default 100 ms); each next one `factor` (2) times longer, up to `maxMs` (RECONNECT_MAX_MS). */
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

/**
 * Longest wait between reconnect attempts (plus up to 20% jitter). Low, because the switch is
 * local and an attempt costs one failed connect: after ovs-vswitchd restarts, whatever the
 * outage, forwarding must be back within 2 s (test/integration/faults/vswitchd-kill.test.ts).
 */
export const RECONNECT_MAX_MS = 1_000;

/** Options with every default filled in. */
export type ResolvedChannelOptions = Required<Omit<ChannelOptions, 'reconnect' | 'missSendLen'>> & {
  readonly reconnect: Required<ReconnectOptions> | false;
  readonly missSendLen: number | null;
};

/** Fill in the defaults; `active` is false for accepted connections (they never reconnect). */
export function resolveChannelOptions(options: ChannelOptions, active: boolean): ResolvedChannelOptions {
  return {
    versions: options.versions ?? [OFP13_VERSION],
    echoIntervalMs: options.echoIntervalMs ?? 5_000,
    echoMisses: options.echoMisses ?? 3,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    highWaterBytes: options.highWaterBytes ?? 4 * 1024 * 1024,
    maxQueueBytes: options.maxQueueBytes ?? 64 * 1024 * 1024,
    missSendLen: options.missSendLen === undefined ? 0xffff : options.missSendLen,
    reconnect:
      options.reconnect === false || !active
        ? false
        : { initialMs: 100, maxMs: RECONNECT_MAX_MS, factor: 2, ...(options.reconnect ?? {}) },
  };
}

export type Target = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseTarget(target: string): Target {
  if (target.startsWith('unix:')) return { kind: 'unix', path: target.slice(5) };
  const m = /^tcp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  if (m) return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new TypeError(`bad OpenFlow target ${JSON.stringify(target)}: expected unix:PATH or tcp:HOST:PORT`);
}
