/**
 * Parser of `ovs-appctl ofproto/trace BRIDGE FLOW` output (the text format of OVS 2.x/3.x).
 * Pure: text in, structure out. Only what `wyvern trace` needs is kept; unknown lines are kept
 * verbatim as notes of the step they follow so nothing is lost.
 */

/** One action line (or an OVS note such as `-> NXM_NX_REG0[] is now ...`) under a table line. */
export interface TraceAction {
  readonly text: string;
  /** The action itself, `set_field:0xc->metadata` → `{ kind: 'set_field', value: '0xc', field: 'metadata' }`. */
  readonly kind: 'set_field' | 'output' | 'goto_table' | 'resubmit' | 'group' | 'drop' | 'controller' | 'note' | 'other';
  readonly field?: string;
  readonly value?: string;
}

/** One table visited: `N. match, priority P, cookie 0x...` or `N. No match.` */
export interface TraceStep {
  readonly table: number;
  /** Nesting level (0 = top level; resubmits and group buckets are deeper). */
  readonly depth: number;
  /** Match text as OVS prints it ('' for a catch-all flow). */
  readonly match: string;
  readonly priority?: number;
  readonly cookie?: bigint;
  /** `N. No match.`: no flow (not even a miss flow) matched. */
  readonly noMatch: boolean;
  /** Group bucket this step's actions run in (the `bucket N` line above it), if any. */
  readonly bucket?: number;
  readonly actions: TraceAction[];
}

/** A `bucket N` line starts a new bucket of the last group action: register state restarts there. */
export type TraceEvent =
  | { readonly type: 'step'; readonly step: TraceStep }
  | { readonly type: 'bucket'; readonly bucket: number; readonly depth: number; readonly actions: TraceAction[] };

export interface ParsedTrace {
  /** The first `Flow:` line (the packet as given, before any recirculation). */
  readonly flow: string;
  readonly bridge?: string;
  readonly steps: readonly TraceStep[];
  /** Steps and bucket boundaries in text order. */
  readonly events: readonly TraceEvent[];
  /** The last `Final flow:` (after the last recirculation); `unchanged` when no action changed it. */
  readonly finalFlow?: string;
  readonly megaflow?: string;
  /** `Datapath actions:` text, e.g. `drop` or `set(...),2`. */
  readonly datapathActions?: string;
}

const STEP_RE = /^(\s*)(\d+)\.\s+(?:(.*?),\s*)?priority (\d+),\s*cookie (0x[0-9a-fA-F]+)\s*$/;
const NO_MATCH_RE = /^(\s*)(\d+)\.\s+No match\.?\s*$/;
const BUCKET_RE = /^(\s*)bucket (\d+)\s*$/;

export function parseAction(text: string): TraceAction {
  const t = text.trim();
  let m = /^set_field:(.+)->([A-Za-z0-9_]+)$/.exec(t);
  if (m) return { text: t, kind: 'set_field', value: m[1], field: m[2] };
  m = /^load:(.+)->([A-Za-z0-9_[\]]+)$/.exec(t);
  if (m) return { text: t, kind: 'set_field', value: m[1], field: nxmField(m[2]) };
  m = /^output:(\S+)$/.exec(t);
  if (m) return { text: t, kind: 'output', value: m[1] };
  m = /^goto_table:(\d+)$/.exec(t);
  if (m) return { text: t, kind: 'goto_table', value: m[1] };
  m = /^resubmit\((.*)\)$/.exec(t);
  if (m) return { text: t, kind: 'resubmit', value: m[1] };
  m = /^group:(\d+)$/.exec(t);
  if (m) return { text: t, kind: 'group', value: m[1] };
  if (t === 'drop') return { text: t, kind: 'drop' };
  if (/^controller\b|^CONTROLLER\b/.test(t)) return { text: t, kind: 'controller' };
  if (t.startsWith('->') || t.startsWith('>>')) return { text: t, kind: 'note' };
  return { text: t, kind: 'other' };
}

/** `NXM_NX_REG15[]` → `reg15`, `OXM_OF_METADATA[]` → `metadata`; anything else unchanged. */
function nxmField(f: string): string {
  const m = /^NXM_NX_REG(\d+)\[\]$/.exec(f);
  if (m) return `reg${m[1]}`;
  if (/^OXM_OF_METADATA\[\]$/.test(f)) return 'metadata';
  return f;
}

export function parseTrace(text: string): ParsedTrace {
  const lines = text.split('\n');
  let flow = '';
  let bridge: string | undefined;
  let finalFlow: string | undefined;
  let megaflow: string | undefined;
  let datapathActions: string | undefined;
  const steps: TraceStep[] = [];
  const events: TraceEvent[] = [];
  let bucket: { n: number; depth: number } | undefined;
  /**
   * Another bridge's section the lines belong to (undefined: the trace's own bridge). It lasts
   * while lines are indented at least as deep as its `bridge("…")` line (inside a group bucket it
   * ends at the next bucket), up to `Final flow:`.
   */
  let section: { name: string; indent: number } | undefined;
  // Action lines belong to the latest step or bucket whose actions sit at the same indentation
  // (after a nested resubmit returns, the outer step's remaining actions follow at its indent).
  const containers: { actions: TraceAction[]; indent?: number }[] = [];
  const attach = (line: string): void => {
    const indent = line.length - line.trimStart().length;
    const action = parseAction(line);
    for (let i = containers.length - 1; i >= 0; i--) {
      const c = containers[i];
      if (c.indent === undefined) c.indent = indent;
      if (c.indent === indent || action.kind === 'note' || i === 0) {
        c.actions.push(action);
        return;
      }
    }
  };
  for (const raw of lines) {
    const line = raw.replace(/\s+$/, '');
    if (line.startsWith('Flow: ')) {
      // The packet as given; a recirculation (after ct()) prints its own `Flow:` later.
      if (flow === '') flow = line.slice('Flow: '.length);
      continue;
    }
    if (line.startsWith('Final flow: ')) {
      finalFlow = line.slice('Final flow: '.length);
      containers.length = 0;
      section = undefined;
      continue;
    }
    if (line.startsWith('Megaflow: ')) {
      megaflow = line.slice('Megaflow: '.length);
      continue;
    }
    if (line.startsWith('Datapath actions: ')) {
      datapathActions = line.slice('Datapath actions: '.length);
      continue;
    }
    const b = /^bridge\("([^"]+)"\)$/.exec(line.trim());
    const indent = line.length - line.trimStart().length;
    if (b) {
      bridge ??= b[1];
      section = b[1] === bridge ? undefined : { name: b[1], indent };
      continue;
    }
    if (line.trim() === '' || /^-+$/.test(line.trim())) continue;
    if (section && indent < section.indent) section = undefined;
    if (section) {
      // Another bridge the packet went on to (the underlay bridge of a native tunnel, a patch
      // port's peer): its tables are not our pipeline; keep its lines as notes of the step that
      // sent the packet there.
      containers[containers.length - 1]?.actions.push({ text: `[${section.name}] ${line.trim()}`, kind: 'note' });
      continue;
    }
    let m = STEP_RE.exec(line);
    if (m) {
      const depth = indentDepth(m[1]);
      if (bucket && depth <= bucket.depth) bucket = undefined;
      const current: TraceStep = {
        table: Number(m[2]),
        depth,
        match: m[3] ?? '',
        priority: Number(m[4]),
        cookie: BigInt(m[5]),
        noMatch: false,
        bucket: bucket?.n,
        actions: [],
      };
      steps.push(current);
      events.push({ type: 'step', step: current });
      containers.push({ actions: current.actions });
      continue;
    }
    m = NO_MATCH_RE.exec(line);
    if (m) {
      const depth = indentDepth(m[1]);
      if (bucket && depth <= bucket.depth) bucket = undefined;
      const current: TraceStep = { table: Number(m[2]), depth, match: '', noMatch: true, bucket: bucket?.n, actions: [] };
      steps.push(current);
      events.push({ type: 'step', step: current });
      containers.push({ actions: current.actions });
      continue;
    }
    m = BUCKET_RE.exec(line);
    if (m) {
      const depth = indentDepth(m[1]);
      bucket = { n: Number(m[2]), depth };
      const actions: TraceAction[] = [];
      events.push({ type: 'bucket', bucket: bucket.n, depth, actions });
      containers.push({ actions });
      continue;
    }
    if (containers.length > 0) attach(line);
  }
  return { flow, bridge, steps, events, finalFlow, megaflow, datapathActions };
}

/** Top-level steps start at column 0 or 1 (` 0.` vs `10.`); OVS indents each nesting level by 4. */
function indentDepth(ws: string): number {
  return Math.floor((ws.length + 1) / 4);
}
