import { WatchHandlerError } from './errors.js';
import { fromWireError, type WatchLine } from './http-protocol.js';
import type { StoreHttpClient } from './remote-http.js';
import type { Watch, WatchHandlers } from './types.js';

/**
 * A watch over the store service's NDJSON stream. Remembers the next revision owed; on a broken
 * stream, a failed connect or missing heartbeats it reconnects (with backoff) from there, so the
 * caller sees every revision once.
 */
export class RemoteWatch implements Watch {
  private next: number;
  private done = false;
  private abort: AbortController | undefined;
  private backoffMs = 50;
  private retryTimer: NodeJS.Timeout | undefined;
  private deadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly http: StoreHttpClient,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly heartbeatTimeoutMs: number,
    private readonly onFinish: (w: RemoteWatch) => void,
  ) {
    this.next = fromRevision > 0 ? fromRevision : 0;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.done) return;
    if (this.next === 0) {
      // "From now" is pinned once, so a reconnect before the first line cannot skip anything.
      try {
        this.next = (await this.http.call<{ revision: number }>('revision')).revision + 1;
      } catch {
        this.retryLater();
        return;
      }
      if (this.done) return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const url = `${this.http.base}watch?prefix=${encodeURIComponent(this.prefix)}&from=${this.next}`;
    try {
      this.armDeadTimer(abort);
      const res = await fetch(url, { signal: abort.signal });
      if (!res.ok || res.body === null) {
        const payload = (await res.json().catch(() => ({}))) as { error?: { type: string } };
        if (res.status >= 400 && res.status < 500 && payload.error !== undefined) {
          this.fail(fromWireError(payload.error as Parameters<typeof fromWireError>[0]));
          return;
        }
        throw new Error(`watch HTTP ${res.status}`);
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (this.done) return;
        this.armDeadTimer(abort);
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (text !== '') this.onLine(JSON.parse(text) as WatchLine);
          if (this.done) return;
        }
      }
    } catch {
      // broken stream, refused connection or a dead-connection abort: reconnect below
    } finally {
      if (this.deadTimer !== undefined) clearTimeout(this.deadTimer);
    }
    this.retryLater();
  }

  private retryLater(): void {
    if (this.done) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private armDeadTimer(abort: AbortController): void {
    if (this.deadTimer !== undefined) clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => abort.abort(), this.heartbeatTimeoutMs);
  }

  private onLine(line: WatchLine): void {
    this.backoffMs = 50;
    switch (line.type) {
      case 'created':
        if (this.next === 0) this.next = line.fromRevision;
        return;
      case 'heartbeat':
        return;
      case 'events':
        if (line.revision < this.next) return; // delivered before a reconnect
        this.next = line.revision + 1;
        try {
          this.handlers.onEvents(line.events, line.revision);
        } catch (err) {
          this.fail(new WatchHandlerError('watch handler threw', { cause: err }));
        }
        return;
      case 'compacted':
        this.finish();
        this.handlers.onCompacted?.(line.compactRevision);
        return;
      case 'error':
        this.fail(fromWireError(line.error));
        return;
    }
  }

  private fail(err: Error): void {
    this.finish();
    this.handlers.onError?.(err);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.deadTimer !== undefined) clearTimeout(this.deadTimer);
    this.abort?.abort();
    this.onFinish(this);
  }

  cancel(): Promise<void> {
    this.finish();
    return Promise.resolve();
  }
}
