import {
  ClientClosedError,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCUnavailableError,
  isRecoverableError,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
} from 'etcd3';
import { InvalidStoreRequestError, LeaseNotFoundError, StoreError, StoreUnavailableError } from './errors.js';
import type { Compare, KeyValue, Op } from './types.js';

/** Translation between the Store model and etcd's protobuf shapes, under a key prefix. */
export class EtcdKeys {
  readonly prefix: Buffer;
  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix);
  }
  full(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key)]);
  }
  strip(key: Buffer): string {
    return key.subarray(this.prefix.length).toString();
  }
  /** [key, range_end] covering every key under `prefix` (inside the storage prefix). */
  range(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.full(prefix);
    return { key, range_end: bytePrefixEnd(key) };
  }
}

export function bytePrefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i] += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}

export function toKeyValue(keys: EtcdKeys, kv: IKeyValue): KeyValue {
  const lease = kv.lease !== undefined && kv.lease !== '0' && kv.lease !== '' ? String(kv.lease) : undefined;
  return {
    key: keys.strip(kv.key),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    ...(lease !== undefined ? { lease } : {}),
  };
}

const RESULT = { '=': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

export function toCompare(keys: EtcdKeys, c: Compare): ICompare {
  const result = RESULT[c.op];
  if (result === undefined) throw new InvalidStoreRequestError(`unknown compare op ${String(c.op)}`);
  const key = keys.full(c.key);
  switch (c.target) {
    case 'value':
      return { key, result, target: 'Value', value: Buffer.from(String(c.value)) };
    case 'version':
      return { key, result, target: 'Version', version: Number(c.value) };
    case 'createRevision':
      return { key, result, target: 'Create', create_revision: Number(c.value) };
    case 'modRevision':
      return { key, result, target: 'Mod', mod_revision: Number(c.value) };
    default:
      throw new InvalidStoreRequestError(`unknown compare target ${String((c as Compare).target)}`);
  }
}

export function toRequestOp(keys: EtcdKeys, op: Op): IRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: { key: keys.full(op.key), value: Buffer.from(op.value), ...(op.lease !== undefined ? { lease: op.lease } : {}) } };
    case 'delete':
      return { request_delete_range: { key: keys.full(op.key) } };
    case 'deletePrefix':
      return { request_delete_range: keys.range(op.prefix) };
    default:
      throw new InvalidStoreRequestError(`unknown op ${String((op as Op).type)}`);
  }
}

/** Map an etcd3 client error onto the store's typed errors (never by message text). */
export function mapEtcdError(err: unknown, leaseId?: string): Error {
  if (err instanceof StoreError) return err;
  if (err instanceof EtcdLeaseInvalidError) return new LeaseNotFoundError(leaseId ?? 'unknown');
  // e.g. a txn touching one key twice, which etcd refuses
  if (err instanceof GRPCInvalidArgumentError) return new InvalidStoreRequestError('etcd rejected the request', { cause: err });
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof ClientClosedError ||
    (err instanceof Error && isRecoverableError(err))
  ) {
    return new StoreUnavailableError('etcd unavailable', { cause: err });
  }
  return new StoreError('etcd request failed', { cause: err });
}
