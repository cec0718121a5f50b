/** Typed RFC 7047 §5.2 transaction operations and their wire encoding. */
import { encodeDatum, type DatumInput } from './datum.js';

export type ConditionFn = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
export type Condition = readonly [column: string, fn: ConditionFn, value: DatumInput];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = readonly [column: string, mutator: Mutator, value: DatumInput];
export type RowInput = { readonly [column: string]: DatumInput };

export type Operation =
  | { readonly op: 'insert'; readonly table: string; readonly row: RowInput; readonly uuidName?: string; readonly uuid?: string }
  | { readonly op: 'select'; readonly table: string; readonly where: readonly Condition[]; readonly columns?: readonly string[] }
  | { readonly op: 'update'; readonly table: string; readonly where: readonly Condition[]; readonly row: RowInput }
  | { readonly op: 'mutate'; readonly table: string; readonly where: readonly Condition[]; readonly mutations: readonly Mutation[] }
  | { readonly op: 'delete'; readonly table: string; readonly where: readonly Condition[] }
  | {
      readonly op: 'wait';
      readonly table: string;
      readonly where: readonly Condition[];
      readonly columns: readonly string[];
      readonly until: '==' | '!=';
      readonly rows: readonly RowInput[];
      readonly timeout?: number;
    }
  | { readonly op: 'commit'; readonly durable: boolean }
  | { readonly op: 'abort' }
  | { readonly op: 'comment'; readonly comment: string }
  | { readonly op: 'assert'; readonly lock: string };

function encodeRow(row: RowInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = encodeDatum(v);
  return out;
}

const encodeWhere = (where: readonly Condition[]): unknown[] => where.map(([c, f, v]) => [c, f, encodeDatum(v)]);

/** The JSON object sent for one operation. */
export function encodeOperation(op: Operation): Record<string, unknown> {
  switch (op.op) {
    case 'insert': {
      const o: Record<string, unknown> = { op: 'insert', table: op.table, row: encodeRow(op.row) };
      if (op.uuidName !== undefined) o['uuid-name'] = op.uuidName;
      if (op.uuid !== undefined) o.uuid = op.uuid;
      return o;
    }
    case 'select': {
      const o: Record<string, unknown> = { op: 'select', table: op.table, where: encodeWhere(op.where) };
      if (op.columns) o.columns = [...op.columns];
      return o;
    }
    case 'update':
      return { op: 'update', table: op.table, where: encodeWhere(op.where), row: encodeRow(op.row) };
    case 'mutate':
      return {
        op: 'mutate',
        table: op.table,
        where: encodeWhere(op.where),
        mutations: op.mutations.map(([c, m, v]) => [c, m, encodeDatum(v)]),
      };
    case 'delete':
      return { op: 'delete', table: op.table, where: encodeWhere(op.where) };
    case 'wait': {
      const o: Record<string, unknown> = {
        op: 'wait',
        table: op.table,
        where: encodeWhere(op.where),
        columns: [...op.columns],
        until: op.until,
        rows: op.rows.map(encodeRow),
      };
      if (op.timeout !== undefined) o.timeout = op.timeout;
      return o;
    }
    case 'commit':
      return { op: 'commit', durable: op.durable };
    case 'abort':
      return { op: 'abort' };
    case 'comment':
      return { op: 'comment', comment: op.comment };
    case 'assert':
      return { op: 'assert', lock: op.lock };
  }
}

/** One operation's result, with uuids decoded to strings. Select rows stay in wire form. */
export interface OpResult {
  readonly uuid?: string;
  readonly count?: number;
  readonly rows?: Record<string, unknown>[];
}

export interface TransactResult {
  readonly results: OpResult[];
  /** Real uuid of every row inserted with a `uuidName`. */
  readonly namedUuids: Record<string, string>;
}
