/**
 * Summarize a V8 `.cpuprofile` (written by `node --cpu-prof`): busy share, the hottest functions
 * by self time, and by total time (self + callees; each function counted once per stack).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly seconds: number;
  readonly busyPct: number;
  readonly self: ReadonlyArray<{ fn: string; pct: number }>;
  readonly total: ReadonlyArray<{ fn: string; pct: number }>;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; endTime: number };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: Node): string => {
    const fn = n.callFrame.functionName || '(anonymous)';
    const where = n.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
    return where ? `${fn} ${where}:${n.callFrame.lineNumber + 1}` : fn;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    if (n.callFrame.functionName === '(idle)') {
      idle += hits;
      continue;
    }
    busy += hits;
    self.set(name(n), (self.get(name(n)) ?? 0) + hits);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = name(byId.get(id)!);
      if (seen.has(k) || k === '(root)') continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + hits);
    }
  }
  const topOf = (m: Map<string, number>): Array<{ fn: string; pct: number }> =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, h]) => ({ fn, pct: Math.round((1000 * h) / Math.max(1, busy)) / 10 }));
  return {
    file,
    seconds: Math.round((p.endTime - p.startTime) / 1e4) / 100,
    busyPct: Math.round((1000 * busy) / Math.max(1, busy + idle)) / 10,
    self: topOf(self),
    total: topOf(total),
  };
}

/** Every profile in a directory, newest last. */
export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function printProfile(s: ProfileSummary, out: (line: string) => void = console.log): void {
  out(`profile ${s.file}: ${s.seconds} s, ${s.busyPct}% busy`);
  out('  self time:');
  for (const h of s.self) out(`    ${String(h.pct).padStart(5)}%  ${h.fn}`);
  out('  total time (self + callees):');
  for (const h of s.total) out(`    ${String(h.pct).padStart(5)}%  ${h.fn}`);
}
