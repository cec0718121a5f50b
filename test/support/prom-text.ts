/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), written from the
 * format's description, independent of prom-client: tests parse what `/metrics` serves with it,
 * so a malformed exposition fails the test instead of a real Prometheus scrape.
 *
 * Checked: line grammar (HELP, TYPE, samples with optional labels and timestamp), metric and
 * label names, label value escapes (only \\ \" \n), sample values (Go ParseFloat: floats, ±Inf, NaN), at
 * most one HELP and TYPE per family and before its samples, families not interleaved, no
 * duplicate series, counters not negative, histograms (buckets with `le`, cumulative,
 * `+Inf` bucket equal to `_count`, `_sum` and `_count` present) and summaries.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: MetricType;
  help?: string;
  readonly samples: Sample[];
}

export class ExpositionError extends Error {
  override readonly name = 'ExpositionError';
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A float as Go's strconv.ParseFloat reads it (what Prometheus uses): NaN and Inf in any case. */
function parseValue(text: string, line: number): number {
  if (/^[+]?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Family a sample belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
    }
  }
  return name;
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) throw new ExpositionError(`line ${line}: bad label name at ${JSON.stringify(text.slice(i, i + 20))}`);
    const name = m[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new ExpositionError(`line ${line}: expected ="..." after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ExpositionError(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new ExpositionError(`line ${line}: bad escape \\${e ?? ''}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    if (name in labels) throw new ExpositionError(`line ${line}: label ${name} repeated`);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new ExpositionError(`line ${line}: reserved label name ${name}`);
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ExpositionError(`line ${line}: expected , or } after label ${name}`);
  }
}

function seriesKey(s: Sample): string {
  return `${s.name}{${Object.keys(s.labels).sort().map((k) => `${k}=${JSON.stringify(s.labels[k])}`).join(',')}}`;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(`${f.name}: bucket without le`);
      g.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new ExpositionError(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new ExpositionError(`${f.name}${key}: _sum or _count missing`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.length === 0 || sorted[sorted.length - 1][0] !== Infinity) throw new ExpositionError(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new ExpositionError(`${f.name}${key}: buckets not cumulative`);
    }
    if (sorted[sorted.length - 1][1] !== g.count) throw new ExpositionError(`${f.name}${key}: +Inf bucket ${sorted[sorted.length - 1][1]} != count ${g.count}`);
  }
}

/** Parse an exposition; throws ExpositionError on anything that is not well formed. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (name: string): void => {
    if (current === name) return;
    if (current !== undefined) closed.add(current);
    if (closed.has(name)) throw new ExpositionError(`family ${name} interleaved with another`);
    current = name;
  };
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new ExpositionError('exposition does not end with a newline');
  lines.forEach((raw, idx) => {
    const n = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(`line ${n}: bad metric name ${name}`);
      enter(name);
      let f = families.get(name);
      if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new ExpositionError(`line ${n}: second HELP for ${name}`);
        f.help = rest ?? '';
      } else {
        if (f.samples.length > 0 || seen.has(`type:${name}`)) throw new ExpositionError(`line ${n}: TYPE for ${name} repeated or after its samples`);
        if (!TYPES.has(rest as MetricType)) throw new ExpositionError(`line ${n}: unknown type ${rest}`);
        seen.add(`type:${name}`);
        f.type = rest as MetricType;
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) throw new ExpositionError(`line ${n}: bad sample ${JSON.stringify(raw)}`);
    const name = nm[0];
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, n));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new ExpositionError(`line ${n}: expected ' value [timestamp]' in ${JSON.stringify(raw)}`);
    const value = parseValue(parts[0], n);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(`line ${n}: bad timestamp ${parts[1]}`);
    const fam = familyOf(name, families);
    enter(fam);
    let f = families.get(fam);
    if (!f) families.set(fam, (f = { name: fam, type: 'untyped', samples: [] }));
    const sample: Sample = { name, labels, value };
    const key = seriesKey(sample);
    if (seen.has(key)) throw new ExpositionError(`line ${n}: duplicate series ${key}`);
    seen.add(key);
    if (f.type === 'counter' && !(value >= 0)) throw new ExpositionError(`line ${n}: counter ${name} is ${value}`);
    if ((f.type === 'counter' || f.type === 'gauge') && name !== fam) throw new ExpositionError(`line ${n}: ${name} in family ${fam}`);
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function sampleSum(families: Map<string, Family>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}

/** Fetch and parse an endpoint. */
export async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain') || !type.includes('version=0.0.4')) throw new Error(`GET ${url}: content-type ${type}`);
  return parseExposition(await res.text());
}
