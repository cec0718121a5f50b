import { evaluateCompare } from './compare.js';
import { InvalidStoreRequestError, LeaseNotFoundError } from './errors.js';
import { compareKeys } from './keys.js';
import type { KeyValue, Op, TxnRequest, WatchEvent } from './types.js';

/** Read access a driver gives the planner, inside its own write transaction. */
export interface KvReader {
  get(key: string): KeyValue | undefined;
  /** Keys currently present that start with `prefix`. */
  keysWithPrefix(prefix: string): readonly string[];
  leaseExists(id: string): boolean;
}

/** One key's final state after a transaction: the new KeyValue, or undefined when deleted. */
export interface KeyChange {
  readonly key: string;
  readonly kv: KeyValue | undefined;
  /** The key's state before the transaction (for lease bookkeeping). */
  readonly previous: KeyValue | undefined;
}

export interface TxnPlan {
  readonly succeeded: boolean;
  /** Sorted by key; empty when the transaction writes nothing (the revision does not move). */
  readonly changes: readonly KeyChange[];
  readonly events: readonly WatchEvent[];
}

/**
 * Decide what a transaction does, without writing anything. Ops are applied in order to an
 * overlay, so later ops see earlier ones; each touched key yields one event with its final state.
 * A delete of a missing key writes nothing, as in etcd.
 */
export function planTxn(reader: KvReader, req: TxnRequest, revision: number): TxnPlan {
  validateTxn(req);
  const succeeded = req.compare.every((c) => evaluateCompare(reader.get(c.key), c));
  const ops = succeeded ? req.success : (req.failure ?? []);
  const overlay = new Map<string, KeyValue | undefined>();
  const before = new Map<string, KeyValue | undefined>();
  const current = (key: string): KeyValue | undefined => (overlay.has(key) ? overlay.get(key) : reader.get(key));
  const remember = (key: string): void => {
    if (!before.has(key)) before.set(key, reader.get(key));
  };
  for (const op of ops) applyOp(op);

  function applyOp(op: Op): void {
    switch (op.type) {
      case 'put': {
        if (op.lease !== undefined && !reader.leaseExists(op.lease)) throw new LeaseNotFoundError(op.lease);
        remember(op.key);
        const prev = current(op.key);
        overlay.set(op.key, {
          key: op.key,
          value: op.value,
          createRevision: prev?.createRevision ?? revision,
          modRevision: revision,
          version: (prev?.version ?? 0) + 1,
          ...(op.lease !== undefined ? { lease: op.lease } : {}),
        });
        return;
      }
      case 'delete':
        remember(op.key);
        overlay.set(op.key, undefined);
        return;
      case 'deletePrefix': {
        const keys = new Set(reader.keysWithPrefix(op.prefix));
        for (const k of overlay.keys()) if (k.startsWith(op.prefix)) keys.add(k);
        for (const k of keys) {
          remember(k);
          overlay.set(k, undefined);
        }
        return;
      }
    }
  }

  const changes: KeyChange[] = [];
  for (const [key, kv] of overlay) {
    const previous = before.get(key);
    if (kv === undefined && previous === undefined) continue; // deleting nothing writes nothing
    // A key created and deleted inside one txn: nothing is visible, but a put did happen.
    changes.push({ key, kv, previous });
  }
  changes.sort((a, b) => compareKeys(a.key, b.key));
  const events: WatchEvent[] = changes.map((c) =>
    c.kv === undefined
      ? { type: 'delete', key: c.key, revision }
      : { type: 'put', key: c.key, value: c.kv.value, revision },
  );
  return { succeeded, changes, events };
}

function validateTxn(req: TxnRequest): void {
  if (!Array.isArray(req.compare) || !Array.isArray(req.success)) {
    throw new InvalidStoreRequestError('txn needs compare and success arrays');
  }
  for (const op of [...req.success, ...(req.failure ?? [])]) {
    if (op.type === 'put') {
      if (typeof op.key !== 'string' || op.key === '' || typeof op.value !== 'string') {
        throw new InvalidStoreRequestError('put needs a non-empty string key and a string value');
      }
    } else if (op.type === 'delete') {
      if (typeof op.key !== 'string' || op.key === '') throw new InvalidStoreRequestError('delete needs a key');
    } else if (op.type === 'deletePrefix') {
      if (typeof op.prefix !== 'string') throw new InvalidStoreRequestError('deletePrefix needs a prefix');
    } else {
      throw new InvalidStoreRequestError(`unknown op ${String((op as Op).type)}`);
    }
  }
}
