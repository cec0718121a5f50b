/** A tiny Neutron v2.0 HTTP client for tests and tools: JSON in, JSON out, faults as errors. */
export class NeutronHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export class NeutronClient {
  constructor(
    readonly endpoint: string,
    readonly project = 'demo',
    /** Keystone-style roles sent as X-Roles (noauth); `admin` sees binding:* attributes. */
    readonly roles: readonly string[] = [],
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}/v2.0${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-project-id': this.project,
        ...(this.roles.length > 0 ? { 'x-roles': this.roles.join(',') } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new NeutronHttpError(res.status, parsed);
    return parsed as T;
  }

  async create(kind: string, attrs: Record<string, unknown>): Promise<Record<string, unknown> & { id: string }> {
    const out = await this.call<Record<string, Record<string, unknown> & { id: string }>>('POST', `/${kind}s`, { [kind]: attrs });
    return out[kind];
  }

  async show(kind: string, id: string): Promise<Record<string, unknown> & { id: string }> {
    const out = await this.call<Record<string, Record<string, unknown> & { id: string }>>('GET', `/${kind}s/${id}`);
    return out[kind];
  }

  async update(kind: string, id: string, attrs: Record<string, unknown>): Promise<Record<string, unknown> & { id: string }> {
    const out = await this.call<Record<string, Record<string, unknown> & { id: string }>>('PUT', `/${kind}s/${id}`, { [kind]: attrs });
    return out[kind];
  }

  async remove(kind: string, id: string): Promise<void> {
    await this.call('DELETE', `/${kind}s/${id}`);
  }
}

/** Poll `probe` until it returns a value other than undefined (real signal, bounded wait). */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
