import { StoreUnavailableError } from './errors.js';
import { STORE_HTTP_BASE, fromWireError, type WireError } from './http-protocol.js';

/** JSON calls to a Wyvern store service; connection trouble becomes StoreUnavailableError. */
export class StoreHttpClient {
  readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.base = baseUrl.replace(/\/+$/, '') + STORE_HTTP_BASE;
  }

  async call<T>(path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new StoreUnavailableError(`cannot reach ${this.base}`, { cause: err });
    }
    let payload: unknown;
    try {
      payload = await res.json();
    } catch (err) {
      throw new StoreUnavailableError(`bad response from ${this.base}${path} (${res.status})`, { cause: err });
    }
    if (!res.ok) {
      const wire = (payload as { error?: WireError }).error;
      if (wire === undefined) throw new StoreUnavailableError(`HTTP ${res.status} from ${this.base}${path}`);
      throw fromWireError(wire);
    }
    return payload as T;
  }
}
