/**
 * The desired flow table (OVN's ofctrl "desired flows"): flows indexed by (table, priority,
 * canonical match), each linked to the owner that produced it; groups by id. Replacing an owner's
 * output records which keys changed, so the reconciler can send only those (tracked deltas), or
 * compare everything after a reconnect.
 *
 * Two owners may produce the same key only with conjunction clause flows (security group rules
 * with the same match, a member address shared by two remote groups): those are merged into one
 * flow carrying every owner's conjunction actions, as OVS needs (OVN's ofctrl does the same).
 * Any other duplicate is a compiler bug in practice; it is handled deterministically (the
 * smallest owner id wins) so that incremental and full compiles agree.
 */
import type { LocalTopology } from './topology.js';
import type { Action } from '../openflow/types.js';
import { canonicalInstructions, flowKeyOf, groupValueKey } from './canonical.js';
import { allOwners, affectedOwners, compileOwner } from './compile/index.js';
import { decodeCookie, ownerId, type Owner } from './conventions.js';
import type { OwnerOutput, PipelineFlow, PipelineGroup } from './flow.js';
import { stageOfTable } from './stages.js';

interface OwnerEntry {
  readonly flowKeys: readonly string[];
  readonly groupIds: readonly number[];
}

function pick<T>(m: Map<string, T> | undefined): T | undefined {
  if (!m || m.size === 0) return undefined;
  let bestId: string | undefined;
  for (const id of m.keys()) if (bestId === undefined || id < bestId) bestId = id;
  return m.get(bestId!);
}

/** The conjunction actions of a clause flow (its only instruction applies only those), else undefined. */
function conjunctionsOf(f: PipelineFlow): readonly Action[] | undefined {
  if (f.instructions.length !== 1) return undefined;
  const i = f.instructions[0];
  if (i.type !== 'apply_actions' || i.actions.length === 0) return undefined;
  return i.actions.every((a) => a.type === 'conjunction') ? i.actions : undefined;
}

/** The flow for one key: one owner's, or the merge of several owners' conjunction clause flows. */
function pickFlow(m: Map<string, PipelineFlow> | undefined): PipelineFlow | undefined {
  const first = pick(m);
  if (!m || m.size < 2 || !first) return first;
  const merged = new Map<string, Action>();
  for (const f of m.values()) {
    const conj = conjunctionsOf(f);
    if (!conj) return first;
    for (const a of conj) if (a.type === 'conjunction') merged.set(`${a.id}/${a.clause}/${a.nClauses}`, a);
  }
  const actions = [...merged.values()].sort((x, y) =>
    x.type === 'conjunction' && y.type === 'conjunction' ? x.id - y.id || x.clause - y.clause : 0,
  );
  return { ...first, instructions: [{ type: 'apply_actions', actions }] };
}

export class DesiredTable {
  private readonly flowsByKey = new Map<string, Map<string, PipelineFlow>>();
  private readonly groupsById = new Map<number, Map<string, PipelineGroup>>();
  private readonly owners = new Map<string, OwnerEntry>();
  private dirtyFlows = new Set<string>();
  private dirtyGroups = new Set<number>();

  /** Replaces everything `output.owner` produced with `output`. */
  setOwner(output: OwnerOutput): void {
    const id = ownerId(output.owner);
    this.removeOwnerById(id);
    if (output.flows.length === 0 && output.groups.length === 0) return;
    const flowKeys: string[] = [];
    for (const f of output.flows) {
      const k = flowKeyOf(f);
      let m = this.flowsByKey.get(k);
      if (!m) this.flowsByKey.set(k, (m = new Map()));
      m.set(id, f);
      flowKeys.push(k);
      this.dirtyFlows.add(k);
    }
    const groupIds: number[] = [];
    for (const g of output.groups) {
      let m = this.groupsById.get(g.groupId);
      if (!m) this.groupsById.set(g.groupId, (m = new Map()));
      m.set(id, g);
      groupIds.push(g.groupId);
      this.dirtyGroups.add(g.groupId);
    }
    this.owners.set(id, { flowKeys, groupIds });
  }

  removeOwner(owner: Owner): void {
    this.removeOwnerById(ownerId(owner));
  }

  private removeOwnerById(id: string): void {
    const e = this.owners.get(id);
    if (!e) return;
    for (const k of e.flowKeys) {
      const m = this.flowsByKey.get(k);
      m?.delete(id);
      if (m && m.size === 0) this.flowsByKey.delete(k);
      this.dirtyFlows.add(k);
    }
    for (const g of e.groupIds) {
      const m = this.groupsById.get(g);
      m?.delete(id);
      if (m && m.size === 0) this.groupsById.delete(g);
      this.dirtyGroups.add(g);
    }
    this.owners.delete(id);
  }

  clear(): void {
    for (const id of [...this.owners.keys()]) this.removeOwnerById(id);
  }

  flow(key: string): PipelineFlow | undefined {
    return pickFlow(this.flowsByKey.get(key));
  }
  group(id: number): PipelineGroup | undefined {
    return pick(this.groupsById.get(id));
  }
  *flows(): IterableIterator<[string, PipelineFlow]> {
    for (const k of this.flowsByKey.keys()) yield [k, this.flow(k)!];
  }
  *groups(): IterableIterator<PipelineGroup> {
    for (const id of this.groupsById.keys()) yield this.group(id)!;
  }
  get flowCount(): number {
    return this.flowsByKey.size;
  }
  get groupCount(): number {
    return this.groupsById.size;
  }
  ownerIds(): string[] {
    return [...this.owners.keys()].sort();
  }

  /** Keys changed since the last call (for tracked deltas); clears the record. */
  takeDirty(): { flows: Set<string>; groups: Set<number> } {
    const out = { flows: this.dirtyFlows, groups: this.dirtyGroups };
    this.dirtyFlows = new Set();
    this.dirtyGroups = new Set();
    return out;
  }

  /**
   * A canonical text dump: one line per flow/group, sorted, table numbers shown as stage names
   * (so renumbering the pipeline changes no golden dump), owner decoded from the cookie.
   */
  dump(): string {
    return dumpFlows([...this.flows()].map(([, f]) => f), [...this.groups()]);
  }
}

export function dumpFlows(flows: readonly PipelineFlow[], groups: readonly PipelineGroup[]): string {
  const lines: string[] = [];
  for (const f of flows) {
    const st = stageOfTable(f.tableId)?.name ?? `table${f.tableId}`;
    const o = decodeCookie(f.cookie);
    const key = flowKeyOf(f).split('/').slice(2).join('/');
    lines.push(
      `${st} prio=${String(f.priority).padStart(5, '0')} [${key}] owner=${o ? ownerId(o) : f.cookie.toString(16)} ${canonicalInstructions(f.instructions)}`,
    );
  }
  for (const g of groups) lines.push(`group ${g.groupId.toString(16)} ${groupValueKey(g)}`);
  return lines.sort().join('\n');
}

// ---------------------------------------------------------------------------------------------
// Compile entry points

/** Recomputes the given owners from `topo` into `desired` (owners with no output are removed). */
export function applyOwners(desired: DesiredTable, topo: LocalTopology, owners: Iterable<Owner>): void {
  for (const o of owners) desired.setOwner(compileOwner(topo, o));
}

/** From scratch: a new desired table with every owner of `topo`. */
export function fullCompile(topo: LocalTopology): DesiredTable {
  const d = new DesiredTable();
  applyOwners(d, topo, allOwners(topo));
  return d;
}

/** Incremental: recompute only the owners whose output may have changed from prev to next. */
export function updateDesired(desired: DesiredTable, prev: LocalTopology, next: LocalTopology): Owner[] {
  const owners = affectedOwners(prev, next);
  applyOwners(desired, next, owners);
  return owners;
}
