/** Small helpers for benchmarks: percentiles, the machine, a minimal Neutron HTTP client. */
import os from 'node:os';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? Number.NaN) };
}

export function machine(): { cpu: string; cores: number; memoryGiB: number; node: string; platform: string } {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

export type ApiObject = Record<string, unknown> & { id: string };

/** Neutron v2.0 over HTTP, admin role (binding:host_id is an admin attribute). */
export class Api {
  constructor(private readonly endpoint: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}/v2.0${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-project-id': 'bench', 'x-roles': 'admin' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  async create(kind: string, attrs: Record<string, unknown>): Promise<ApiObject> {
    const out = await this.call<Record<string, ApiObject>>('POST', `/${kind}s`, { [kind]: attrs });
    return out[kind];
  }

  /** Bulk create (one transaction per call). */
  async createMany(kind: string, items: readonly Record<string, unknown>[]): Promise<ApiObject[]> {
    const out = await this.call<Record<string, ApiObject[]>>('POST', `/${kind}s`, { [`${kind}s`]: items });
    return out[`${kind}s`];
  }
}

/** Run `fn` over items with at most `n` in flight. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}
