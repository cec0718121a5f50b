/**
 * Canonical, stable text keys for matches, instructions and groups, so that a flow compiled by us
 * and the same flow read back from the switch (flow stats) compare equal: fields sorted, values as
 * masked hex bits, full masks dropped, zero masks dropped, object keys sorted, bigints and
 * buffers as hex.
 */
import type { Action, Bucket, FieldName, Instruction, Match } from '../openflow/types.js';
import { fullMask, matchBits, valueToBits } from './fields.js';
import type { PipelineFlow, PipelineGroup } from './flow.js';

export function canonicalMatch(match: Match): string {
  const parts: string[] = [];
  for (const f of (Object.keys(match) as FieldName[]).sort()) {
    const v = match[f];
    if (v === undefined) continue;
    const { value, mask } = matchBits(f, v);
    if (mask === 0n) continue;
    parts.push(mask === fullMask(f) ? `${f}=${value.toString(16)}` : `${f}=${value.toString(16)}/${mask.toString(16)}`);
  }
  return parts.join(',');
}

function normAction(a: Action): unknown {
  switch (a.type) {
    case 'set_field':
      return { type: 'set_field', field: a.field, value: valueToBits(a.field, a.value) };
    case 'output':
      return a.port === 'controller' ? { type: 'output', port: a.port, maxLen: a.maxLen ?? 0xffff } : { type: 'output', port: a.port };
    case 'resubmit':
      return { type: 'resubmit', port: a.port ?? 'in_port', table: a.table ?? 0xff };
    case 'controller2':
      // OVS leaves defaults out when it reads the action back (max_len 0xffff, reason action,
      // controller id 0, no pause).
      return {
        type: 'controller2',
        maxLen: a.maxLen ?? 0xffff,
        reason: a.reason ?? 'action',
        controllerId: a.controllerId ?? 0,
        userdata: a.userdata ?? Buffer.alloc(0),
        pause: a.pause ?? false,
        meterId: a.meterId,
      };
    case 'ct': {
      // As OVS reads it back: no empty nested list, zone 0 = none, nested set_fields as bits.
      const { actions, zone, ...rest } = a;
      return {
        ...rest,
        ...(zone !== undefined && zone !== 0 ? { zone } : {}),
        ...(actions && actions.length > 0 ? { actions: actions.map(normAction) } : {}),
      };
    }
    default:
      return a;
  }
}

function normInstruction(i: Instruction): unknown {
  if (i.type === 'apply_actions' || i.type === 'write_actions') return { type: i.type, actions: i.actions.map(normAction) };
  return i;
}

/** Instructions execute in a fixed order in OpenFlow 1.3 whatever the list order. */
const INSTRUCTION_ORDER: Record<Instruction['type'], number> = {
  meter: 0,
  apply_actions: 1,
  clear_actions: 2,
  write_actions: 3,
  write_metadata: 4,
  goto_table: 5,
  unknown_instruction: 6,
};

export function sortInstructions(ins: readonly Instruction[]): Instruction[] {
  return [...ins].sort((a, b) => INSTRUCTION_ORDER[a.type] - INSTRUCTION_ORDER[b.type]);
}

export function stableStringify(v: unknown): string {
  if (typeof v === 'bigint') return `"0x${v.toString(16)}"`;
  if (Buffer.isBuffer(v)) return `"b:${v.toString('hex')}"`;
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Canonical text of one action list, cached per list object: compilers share one list among many
 * flows (e.g. the conjunctions of every address flow of a remote group), and the diff compares
 * instructions of every changed flow.
 */
const actionListText = new WeakMap<readonly Action[], string>();
function actionsText(actions: readonly Action[]): string {
  let t = actionListText.get(actions);
  if (t === undefined) actionListText.set(actions, (t = stableStringify(actions.map(normAction))));
  return t;
}

export function canonicalInstructions(ins: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const i of sortInstructions(ins)) {
    if (i.type === 'apply_actions' && i.actions.length === 0) continue;
    // The same text stableStringify(normInstruction(i)) gives (keys sorted: actions, type).
    if (i.type === 'apply_actions' || i.type === 'write_actions') parts.push(`{"actions":${actionsText(i.actions)},"type":"${i.type}"}`);
    else parts.push(stableStringify(normInstruction(i)));
  }
  return `[${parts.join(',')}]`;
}

export function canonicalBuckets(groupType: string, buckets: readonly Bucket[]): string {
  return stableStringify({
    groupType,
    buckets: buckets.map((b) => ({
      weight: groupType === 'select' ? b.weight : 0,
      watchPort: b.watchPort,
      watchGroup: b.watchGroup,
      actions: b.actions.map(normAction),
    })),
  });
}

/** The identity of a flow in a table: (table, priority, canonical match). */
export function flowKey(tableId: number, priority: number, match: Match): string {
  return `${tableId}/${priority}/${canonicalMatch(match)}`;
}

export function flowKeyOf(f: Pick<PipelineFlow, 'tableId' | 'priority' | 'match'>): string {
  return flowKey(f.tableId, f.priority, f.match);
}

export function groupValueKey(g: Pick<PipelineGroup, 'groupType' | 'buckets'>): string {
  return canonicalBuckets(g.groupType, g.buckets);
}
