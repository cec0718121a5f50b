import { InvalidStoreRequestError } from './errors.js';
import type { Compare, KeyValue } from './types.js';

/**
 * Evaluate one transaction guard against the current state of its key with etcd's semantics:
 * a missing key has version, createRevision and modRevision 0 and no value, so any `value`
 * compare on a missing key is false.
 */
export function evaluateCompare(kv: KeyValue | undefined, c: Compare): boolean {
  let actual: string | number;
  switch (c.target) {
    case 'value':
      if (kv === undefined) return false;
      actual = kv.value;
      break;
    case 'version':
      actual = kv?.version ?? 0;
      break;
    case 'createRevision':
      actual = kv?.createRevision ?? 0;
      break;
    case 'modRevision':
      actual = kv?.modRevision ?? 0;
      break;
    default:
      throw new InvalidStoreRequestError(`unknown compare target ${String((c as Compare).target)}`);
  }
  const expected = c.target === 'value' ? String(c.value) : Number(c.value);
  if (c.target !== 'value' && !Number.isFinite(expected)) {
    throw new InvalidStoreRequestError(`compare on ${c.target} needs a number`);
  }
  switch (c.op) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '<':
      return actual < expected;
    case '>':
      return actual > expected;
    default:
      throw new InvalidStoreRequestError(`unknown compare op ${String((c as Compare).op)}`);
  }
}
