/**
 * The send queue of one connection: encoded messages are queued and written in large chunks
 * (one socket write per ~256 KiB or per event-loop turn). Bounded: `enqueue` reports when the
 * caller should wait for drain (high-water mark) and throws {@link SendQueueFullError} past the
 * hard limit, unless forced (small control messages must always get through).
 */
import type net from 'node:net';
import { SendQueueFullError } from '../channel-errors.js';

export const WRITE_CHUNK = 256 * 1024;

export interface SendQueueLimits {
  readonly highWaterBytes: number;
  readonly maxQueueBytes: number;
}

export class SendQueue {
  private socket: net.Socket | undefined;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private needDrain = false;

  /** `onDrain` runs (on a later tick) when the queue falls below the high-water mark after a full one. */
  constructor(
    private readonly limits: SendQueueLimits,
    private readonly onDrain: () => void,
  ) {}

  /** Write to `sock` from now on (nothing queued carries over). */
  attach(sock: net.Socket): void {
    this.clear();
    this.socket = sock;
    sock.on('drain', this.onSocketDrain);
  }

  /** Drop the socket and whatever was queued for it. */
  detach(): void {
    this.socket = undefined;
    this.clear();
  }

  /** Bytes waiting in our queue plus the socket's write buffer. */
  get queuedBytes(): number {
    return this.outBytes + (this.socket?.writableLength ?? 0);
  }

  get belowHighWater(): boolean {
    return this.queuedBytes < this.limits.highWaterBytes;
  }

  /** A caller waits for drain: call `onDrain` once the queue is below the high-water mark. */
  wantDrain(): void {
    this.needDrain = true;
  }

  /** Queue whole messages; false when the caller should wait for drain. */
  enqueue(bytes: Buffer, force = false): boolean {
    const queued = this.queuedBytes;
    if (!force && queued + bytes.length > this.limits.maxQueueBytes) {
      throw new SendQueueFullError(queued, this.limits.maxQueueBytes);
    }
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.outBytes >= WRITE_CHUNK) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushCb);
    }
    if (this.queuedBytes >= this.limits.highWaterBytes) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Write now, after what is queued, bypassing the queue's batching (handshake, echo replies). */
  writeNow(bytes: Buffer): void {
    this.flush();
    this.socket?.write(bytes);
  }

  private clear(): void {
    this.out = [];
    this.outBytes = 0;
  }

  private readonly flushCb = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (!this.outBytes) return;
    const sock = this.socket;
    const chunk = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.clear();
    if (!sock || sock.destroyed) return;
    const ok = sock.write(chunk);
    if (ok && this.needDrain && this.belowHighWater) this.scheduleDrain();
  }

  private scheduleDrain(): void {
    this.needDrain = false;
    process.nextTick(this.onDrain);
  }

  private readonly onSocketDrain = (): void => {
    if (this.needDrain && this.belowHighWater) this.scheduleDrain();
  };
}
