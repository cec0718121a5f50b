/**
 * Builds the flows and groups of one owner, checking each against the stage registry (Faucet's
 * valve_table habit): an undeclared match field, a goto/resubmit to a stage not declared as next,
 * a flow in a reserved stage, or a group bucket resubmitting into a stage that is not a group
 * entry throws a PipelineBuildError when the flow is built.
 */
import type { Action, Bucket, FieldName, GroupType, Instruction, Match } from '../openflow/types.js';
import { ownerCookie, type Owner } from './conventions.js';
import { PipelineBuildError } from './errors.js';
import type { OwnerOutput, PipelineFlow, PipelineGroup } from './flow.js';
import { stage, stageOfTable, type StageName } from './stages.js';

export interface FlowSpec {
  readonly priority: number;
  readonly match?: Match;
  /** apply_actions (omitted or empty and no goto = drop). */
  readonly actions?: readonly Action[];
  readonly goto?: StageName;
  /** OpenFlow 1.3 meter instruction (punts: see PUNT_METERS in conventions.ts). */
  readonly meter?: number;
  /**
   * The flow's cookie names this owner instead of the builder's (e.g. a port's flow that a
   * security group rule allows names the rule, for `wyvern trace`); the flow still belongs to
   * the builder's owner in the desired table.
   */
  readonly cookieOwner?: Owner;
}

/** `resubmit(,stage)` as an action. */
export function resubmitTo(name: StageName): Action {
  return { type: 'resubmit', table: stage(name).tableId };
}

/** `ct(..., table=stage)`: the conntrack result re-enters the pipeline at that stage. */
export function ctTo(name: StageName, opts: Omit<Extract<Action, { type: 'ct' }>, 'type' | 'table'> = {}): Action {
  return { type: 'ct', ...opts, table: stage(name).tableId };
}

/** Tables a list of actions continues in: resubmit targets and ct() recirculation tables. */
function resubmitTargets(actions: readonly Action[]): number[] {
  const out: number[] = [];
  for (const a of actions) {
    if (a.type === 'resubmit' && a.table !== undefined) out.push(a.table);
    if (a.type === 'ct' && a.table !== undefined) out.push(a.table);
  }
  return out;
}

export class FlowBuilder {
  private readonly flowList: PipelineFlow[] = [];
  private readonly groupList: PipelineGroup[] = [];
  private readonly cookie: bigint;

  constructor(
    readonly owner: Owner,
    private readonly opts: { readonly allowReserved?: boolean } = {},
  ) {
    this.cookie = ownerCookie(owner);
  }

  /** Adds a flow to `stageName`; validated against the registry. */
  flow(stageName: StageName, spec: FlowSpec): PipelineFlow {
    const st = stage(stageName);
    if (st.reserved && !this.opts.allowReserved && spec.priority !== 0) {
      throw new PipelineBuildError('reserved_stage', st.name, 'stage is reserved for a later feature');
    }
    if (!Number.isInteger(spec.priority) || spec.priority < 0 || spec.priority > 0xffff) {
      throw new PipelineBuildError('bad_priority', st.name, `bad priority ${spec.priority}`);
    }
    const match = spec.match ?? {};
    for (const f of Object.keys(match) as FieldName[]) {
      if (match[f] === undefined) continue;
      if (!st.matchSet.has(f)) {
        throw new PipelineBuildError('undeclared_match_field', st.name, `match field ${f} is not declared`);
      }
    }
    const actions = spec.actions ?? [];
    for (const t of resubmitTargets(actions)) {
      const target = stageOfTable(t);
      if (!target || !(st.next.includes(target.name) || st.loopback.includes(target.name))) {
        throw new PipelineBuildError('undeclared_next_stage', st.name, `resubmit to table ${t} not declared as next`);
      }
    }
    if (spec.goto !== undefined && !st.next.includes(spec.goto)) {
      throw new PipelineBuildError('undeclared_next_stage', st.name, `goto ${spec.goto} not declared as next`);
    }
    const instructions: Instruction[] = [];
    if (spec.meter !== undefined) instructions.push({ type: 'meter', meterId: spec.meter });
    if (actions.length) instructions.push({ type: 'apply_actions', actions });
    if (spec.goto !== undefined) instructions.push({ type: 'goto_table', tableId: stage(spec.goto).tableId });
    const flow: PipelineFlow = {
      stage: st.name,
      tableId: st.tableId,
      priority: spec.priority,
      match,
      instructions,
      cookie: spec.cookieOwner ? ownerCookie(spec.cookieOwner) : this.cookie,
    };
    this.flowList.push(flow);
    return flow;
  }

  /** Adds a group; bucket resubmits may only enter stages declared `groupEntry`. */
  group(groupId: number, groupType: GroupType, bucketActions: readonly (readonly Action[])[]): PipelineGroup {
    for (const actions of bucketActions) {
      for (const t of resubmitTargets(actions)) {
        const target = stageOfTable(t);
        if (!target || !target.groupEntry) {
          throw new PipelineBuildError('bad_group_target', target?.name ?? `table ${t}`, 'not a group entry stage');
        }
      }
    }
    const buckets: Bucket[] = bucketActions.map((actions) => ({
      weight: groupType === 'select' ? 1 : 0,
      watchPort: 0xffffffff,
      watchGroup: 0xffffffff,
      actions,
    }));
    const g: PipelineGroup = { groupId, groupType, buckets };
    this.groupList.push(g);
    return g;
  }

  build(): OwnerOutput {
    return { owner: this.owner, flows: this.flowList, groups: this.groupList };
  }
}
