/**
 * The installed mirror (what the switch has) and the diff that turns desired into installed.
 *
 * Message order of a diff:
 *   1. group_mod add (new groups) / modify (changed buckets) — before any flow that uses them;
 *   2. flow_mod delete_strict of installed flows with no desired counterpart;
 *   3. flow_mod add (new key, or the cookie changed: OpenFlow 1.3 modify never changes a cookie;
 *      an add over an identical match+priority replaces the entry) or modify_strict (same key and
 *      cookie, new instructions; keeps counters);
 *   4. group_mod delete of stale groups — after the flows that used them are gone.
 * Installed flows with a `reactive` cookie (reactive L3, installed by the controller with an idle
 * timeout) are never deleted; a desired flow with the same key replaces one (cookie differs → add).
 * The controller sends the list in one bundle (atomic) where OVS allows, then a barrier, and calls
 * `installed.apply(messages)` once acknowledged. Re-diffing then yields nothing.
 */
import type { FlowModBody, FlowStats, GroupDesc, GroupModBody, Instruction, Match } from '../openflow/types.js';
import { OFP_NO_BUFFER, OFPG_ANY } from '../openflow/ports.js';
import { canonicalInstructions, flowKey, groupValueKey } from './canonical.js';
import type { DesiredTable } from './desired.js';
import type { PipelineGroup } from './flow.js';
import { isReactiveCookie } from './conventions.js';

export type FlowModMessage = { readonly type: 'flow_mod' } & FlowModBody;
export type GroupModMessage = { readonly type: 'group_mod' } & GroupModBody;
/** A message without xid: the switch connection assigns it. */
export type PipelineMessage = FlowModMessage | GroupModMessage;

export interface InstalledFlow {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
}


export function flowMod(
  command: FlowModBody['command'],
  f: InstalledFlow,
  opts: { cookieMask?: bigint } = {},
): FlowModMessage {
  const del = command === 'delete' || command === 'delete_strict';
  return {
    type: 'flow_mod',
    command,
    tableId: f.tableId,
    priority: f.priority,
    cookie: f.cookie,
    cookieMask: opts.cookieMask ?? 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: {},
    bufferId: OFP_NO_BUFFER,
    outPort: 'any',
    outGroup: OFPG_ANY,
    match: f.match,
    instructions: del ? [] : f.instructions,
  };
}

export function groupMod(command: GroupModBody['command'], g: PipelineGroup): GroupModMessage {
  return {
    type: 'group_mod',
    command,
    groupId: g.groupId,
    groupType: g.groupType,
    buckets: command === 'delete' ? [] : g.buckets,
  };
}

/** What the switch has, as far as we know: updated from flow stats on connect and from acked diffs. */
export class InstalledTable {
  readonly flows = new Map<string, InstalledFlow>();
  readonly groups = new Map<number, PipelineGroup>();

  /** From a dump of the switch (flow stats + group desc), e.g. after a (re)connect. */
  static fromSwitch(stats: readonly FlowStats[], groups: readonly GroupDesc[]): InstalledTable {
    const t = new InstalledTable();
    for (const s of stats) t.putFlow(s);
    for (const g of groups) t.groups.set(g.groupId, { groupId: g.groupId, groupType: g.groupType, buckets: g.buckets });
    return t;
  }

  private putFlow(f: InstalledFlow): void {
    const { tableId, priority, match, instructions, cookie } = f;
    this.flows.set(flowKey(tableId, priority, match), { tableId, priority, match, instructions, cookie });
  }

  /**
   * Applies messages this module produced (strict semantics). Non-strict deletes/modifies are not
   * produced by diff and are not mirrored: re-read the switch after sending any. Flow mods with a
   * reactive cookie (reactive.ts) are skipped: reactive flows are never mirrored (a dump from the
   * switch may contain them; diff leaves them alone either way).
   */
  apply(messages: readonly PipelineMessage[]): void {
    for (const m of messages) {
      if (m.type === 'group_mod') {
        if (m.command === 'delete') this.groups.delete(m.groupId);
        else this.groups.set(m.groupId, { groupId: m.groupId, groupType: m.groupType, buckets: m.buckets });
        continue;
      }
      // Reactive L3 flows (and their non-strict deletes) are the controller's own: not mirrored.
      if (isReactiveCookie(m.cookie)) continue;
      const k = flowKey(m.tableId, m.priority, m.match);
      switch (m.command) {
        case 'add':
          this.putFlow(m);
          break;
        case 'modify_strict': {
          const old = this.flows.get(k);
          if (old) this.flows.set(k, { ...old, instructions: m.instructions });
          break;
        }
        case 'delete_strict':
          this.flows.delete(k);
          break;
        default:
          throw new Error(`InstalledTable.apply: ${m.command} is not mirrored`);
      }
    }
  }
}

export interface DiffScope {
  /** Only these flow keys / group ids (tracked deltas, from DesiredTable.takeDirty()). */
  readonly flows: Iterable<string>;
  readonly groups: Iterable<number>;
}

/** The messages that make `installed` equal `desired` (everything, or only `scope`). */
export function diff(desired: DesiredTable, installed: InstalledTable, scope?: DiffScope): PipelineMessage[] {
  const flowKeys = scope ? new Set(scope.flows) : new Set([...installed.flows.keys(), ...[...desired.flows()].map(([k]) => k)]);
  const groupIds = scope
    ? new Set(scope.groups)
    : new Set([...installed.groups.keys(), ...[...desired.groups()].map((g) => g.groupId)]);

  const groupAdds: PipelineMessage[] = [];
  const groupDels: PipelineMessage[] = [];
  for (const id of [...groupIds].sort((a, b) => a - b)) {
    const want = desired.group(id);
    const have = installed.groups.get(id);
    if (want && !have) groupAdds.push(groupMod('add', want));
    else if (want && have && groupValueKey(want) !== groupValueKey(have)) groupAdds.push(groupMod('modify', want));
    else if (!want && have) groupDels.push(groupMod('delete', have));
  }

  const flowDels: PipelineMessage[] = [];
  const flowAdds: PipelineMessage[] = [];
  for (const k of [...flowKeys].sort()) {
    const want = desired.flow(k);
    const have = installed.flows.get(k);
    if (!want && have) {
      // Reactive L3 flows are the controller's own (idle timeout), never in the desired table.
      if (!isReactiveCookie(have.cookie)) flowDels.push(flowMod('delete_strict', have));
    } else if (want && !have) flowAdds.push(flowMod('add', want));
    else if (want && have) {
      if (want.cookie !== have.cookie) flowAdds.push(flowMod('add', want));
      else if (canonicalInstructions(want.instructions) !== canonicalInstructions(have.instructions)) {
        flowAdds.push(flowMod('modify_strict', want));
      }
    }
  }
  return [...groupAdds, ...flowDels, ...flowAdds, ...groupDels];
}

/** Tracked delta: diff only what changed in `desired` since the last call. */
export function diffTracked(desired: DesiredTable, installed: InstalledTable): PipelineMessage[] {
  return diff(desired, installed, desired.takeDirty());
}
