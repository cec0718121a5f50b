/** The pipeline's own flow and group records (what compilers produce, what desired state holds). */
import type { Bucket, GroupType, Instruction, Match } from '../openflow/types.js';
import type { Owner } from './conventions.js';
import type { StageName } from './stages.js';

export interface PipelineFlow {
  readonly stage: StageName;
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
}

export interface PipelineGroup {
  readonly groupId: number;
  readonly groupType: GroupType;
  readonly buckets: readonly Bucket[];
}

/** What one owner's compiler returns. */
export interface OwnerOutput {
  readonly owner: Owner;
  readonly flows: readonly PipelineFlow[];
  readonly groups: readonly PipelineGroup[];
}
