import { request, type ClientRequest } from 'node:http';
import { InvalidStoreRequestError, WatchHandlerError } from './errors.js';
import { fromWireError, type WatchLine, type WireError } from './http-protocol.js';
import type { StoreHttpClient } from './remote-http.js';
import type { SubjectFn, Watch, WatchHandlers } from './types.js';

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
  /** The current stream's id on the service (for routing). */
  private watchId: string | undefined;
  /** Routing asked for (re-sent on every new stream), and callers waiting for it to apply. */
  private interest: { route: string; subjects: string[] | null } | undefined;
  private interestWaiters: Array<() => void> = [];
  private interestVersion = 0;

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
        // A new stream starts unrouted (everything: safe); route it as asked before.
        this.watchId = line.watchId;
        if (this.interest) void this.pushInterest();
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

  /**
   * Route this watch on the service (see Watch.setInterest). Resolves once the service applied
   * it on the current stream; routing functions the service does not know by name, or a
   * service that cannot route, leave the watch unrouted (every event: always correct).
   */
  setInterest(route: SubjectFn, subjects: ReadonlySet<string> | undefined): Promise<void> {
    if (this.done || route.routeName === undefined) return Promise.resolve();
    this.interest = { route: route.routeName, subjects: subjects === undefined ? null : [...subjects] };
    this.interestVersion++;
    const applied = new Promise<void>((resolve) => this.interestWaiters.push(resolve));
    if (this.watchId !== undefined) void this.pushInterest();
    return applied;
  }

  private async pushInterest(): Promise<void> {
    const watchId = this.watchId;
    const version = this.interestVersion;
    if (watchId === undefined || !this.interest) return;
    try {
      await this.http.call('watch/interest', { watchId, ...this.interest });
    } catch (err) {
      if (err instanceof InvalidStoreRequestError && /cannot route/.test(err.message)) {
        // The service does not route: stay unrouted, which delivers everything.
        this.interest = undefined;
        this.releaseInterestWaiters();
        return;
      }
      // The stream is gone or the service unreachable: the next stream sends it again.
      if (this.watchId === watchId) this.current?.destroy();
      return;
    }
    // Applied, unless a newer interest or a new stream came meanwhile (that push answers).
    if (this.watchId === watchId && this.interestVersion === version) this.releaseInterestWaiters();
  }

  private releaseInterestWaiters(): void {
    for (const w of this.interestWaiters.splice(0)) w();
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
    this.releaseInterestWaiters();
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
