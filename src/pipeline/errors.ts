/** Typed errors of the pipeline framework. Callers branch on `code`, never on messages. */
export type PipelineBuildErrorCode =
  | 'undeclared_match_field'
  | 'undeclared_next_stage'
  | 'reserved_stage'
  | 'bad_group_target'
  | 'bad_priority';

export class PipelineBuildError extends Error {
  override readonly name = 'PipelineBuildError';
  constructor(
    readonly code: PipelineBuildErrorCode,
    readonly stage: string,
    message: string,
  ) {
    super(`${stage}: ${message}`);
  }
}
