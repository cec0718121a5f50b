import { request, type ClientRequest } from 'node:http';
import { WatchHandlerError } from './errors.js';
import { fromWireError, type WatchLine, type WireError } from './http-protocol.js';
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
  private current: ClientRequest | undefined;
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
    await new Promise<void>((resolve) => {
      const url = `${this.http.base}watch?prefix=${encodeURIComponent(this.prefix)}&from=${this.next}`;
      const req = request(url, { method: 'GET' }, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const wire = parseError(Buffer.concat(chunks).toString());
            if (status >= 400 && status < 500 && wire !== undefined) this.fail(fromWireError(wire));
            resolve();
          });
          res.on('error', () => resolve());
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          if (this.done) return;
          this.armDeadTimer(req);
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const text = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (text === '') continue;
            let parsed: WatchLine;
            try {
              parsed = JSON.parse(text) as WatchLine;
            } catch {
              req.destroy(); // garbled stream: reconnect from `next`
              return;
            }
            this.onLine(parsed);
            if (this.done) return;
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      this.current = req;
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.setNoDelay(true);
      this.armDeadTimer(req);
      req.end();
    });
    if (this.deadTimer !== undefined) clearTimeout(this.deadTimer);
    this.current = undefined;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.done) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private armDeadTimer(req: ClientRequest): void {
    if (this.deadTimer !== undefined) clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => req.destroy(), this.heartbeatTimeoutMs);
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
    this.current?.destroy();
    this.onFinish(this);
  }

  cancel(): Promise<void> {
    this.finish();
    return Promise.resolve();
  }
}

function parseError(text: string): WireError | undefined {
  try {
    return (JSON.parse(text) as { error?: WireError }).error;
  } catch {
    return undefined;
  }
}
