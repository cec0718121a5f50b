import type { Etcd3, IDuplexStream, IWatchRequest, IWatchResponse } from 'etcd3';
import { WatchHandlerError } from './errors.js';
import type { EtcdKeys } from './etcd-codec.js';
import type { Watch, WatchEvent, WatchHandlers } from './types.js';

/**
 * One etcd watch on its own gRPC stream. It remembers the next revision it owes the caller and,
 * when the stream breaks, re-creates the watch from exactly there (with backoff), so a reconnect
 * neither drops nor repeats a revision. Compaction ends the watch with `onCompacted`.
 */
export class EtcdWatch implements Watch {
  /** Next revision to deliver; 0 ("from now") until pinned to the current revision + 1. */
  private next: number;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private done = false;
  private backoffMs = 50;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly onFinish: (w: EtcdWatch) => void,
  ) {
    this.next = fromRevision > 0 ? fromRevision : 0;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.done) return;
    if (this.next === 0) {
      // "From now" is pinned once, so a reconnect before the watch is created cannot skip anything.
      try {
        const res = await this.client.kv.range({ key: this.keys.prefix, count_only: true });
        this.next = Number(res.header.revision) + 1;
      } catch {
        this.retry();
        return;
      }
      if (this.done) return;
    }
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watchClient.watch();
    } catch {
      this.retry();
      return;
    }
    if (this.done) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    let broken = false;
    const onBroken = (): void => {
      if (broken || this.stream !== stream) return;
      broken = true;
      this.stream = undefined;
      this.retry();
    };
    stream.on('data', (res) => this.onResponse(res));
    stream.on('error', onBroken);
    stream.on('end', onBroken);
    const { key, range_end } = this.keys.range(this.prefix);
    stream.write({ create_request: { key, range_end, start_revision: this.next } });
  }

  private retry(): void {
    if (this.done) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private onResponse(res: IWatchResponse): void {
    if (this.done) return;
    this.backoffMs = 50;
    const compactRevision = Number(res.compact_revision ?? 0);
    if (compactRevision > 0) {
      this.finish();
      this.handlers.onCompacted?.(compactRevision);
      return;
    }
    if (res.canceled) {
      // Cancelled by the server for another reason (e.g. leader change): re-create from `next`.
      this.stream?.cancel();
      this.stream = undefined;
      this.retry();
      return;
    }
    const groups = new Map<number, WatchEvent[]>();
    for (const ev of res.events ?? []) {
      const revision = Number(ev.kv.mod_revision);
      if (revision < this.next) continue; // already delivered before a reconnect
      const key = this.keys.strip(ev.kv.key);
      const event: WatchEvent =
        ev.type === 'Delete' ? { type: 'delete', key, revision } : { type: 'put', key, value: ev.kv.value.toString(), revision };
      const group = groups.get(revision);
      if (group === undefined) groups.set(revision, [event]);
      else group.push(event);
    }
    for (const revision of [...groups.keys()].sort((a, b) => a - b)) {
      const events = groups.get(revision)!.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.next = revision + 1;
      try {
        this.handlers.onEvents(events, revision);
      } catch (err) {
        this.finish();
        this.handlers.onError?.(new WatchHandlerError('watch handler threw', { cause: err }));
        return;
      }
      if (this.done) return;
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.onFinish(this);
  }

  cancel(): Promise<void> {
    this.finish();
    return Promise.resolve();
  }
}
