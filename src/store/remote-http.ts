import { Agent, request } from 'node:http';
import { StoreUnavailableError } from './errors.js';
import { STORE_HTTP_BASE, fromWireError, type WireError } from './http-protocol.js';

/** JSON calls to a Wyvern store service; connection trouble becomes StoreUnavailableError. */
export class StoreHttpClient {
  readonly base: string;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.base = baseUrl.replace(/\/+$/, '') + STORE_HTTP_BASE;
  }

  call<T>(path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        this.base + path,
        {
          method: payload === undefined ? 'GET' : 'POST',
          agent: this.agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new StoreUnavailableError(`connection to ${this.base} broke`, { cause: err })));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString());
            } catch (err) {
              reject(new StoreUnavailableError(`bad response from ${this.base}${path} (${res.statusCode})`, { cause: err }));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const wire = (parsed as { error?: WireError }).error;
            reject(wire === undefined ? new StoreUnavailableError(`HTTP ${status} from ${this.base}${path}`) : fromWireError(wire));
          });
        },
      );
      req.on('timeout', () => req.destroy(new StoreUnavailableError(`timeout calling ${this.base}${path}`)));
      req.on('error', (err) => reject(err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`cannot reach ${this.base}`, { cause: err })));
      req.end(payload);
    });
  }

  /** Drop idle keep-alive connections (on close). */
  destroy(): void {
    this.agent.destroy();
  }
}
