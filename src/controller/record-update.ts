/**
 * Compare-and-set updates of a north-bound record by a controller (the runtime fields it owns:
 * a port's status and binding, a floating IP's status). Read, decide, write with a compare on
 * the record's modRevision; retried when the API changed the record meanwhile.
 */
import type { Store } from '../store/types.js';
import { DecodeError, decodeJson, type Decoder } from '../model/decode.js';
import { encodeRecord } from '../model/record-codec.js';

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Apply `change` to the record at `key`: it returns the fields to change, or undefined for "no
 * change needed". revision_number and updated_at are bumped. Returns true if it wrote.
 */
export async function updateRecord<R extends { readonly revision_number: number }>(
  store: Store,
  key: string,
  decoder: Decoder<R>,
  change: (rec: R) => Partial<R> | undefined,
  attempts = 8,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const kv = await store.get(key);
    if (!kv) return false;
    let rec: R;
    try {
      rec = decodeJson(kv.value, decoder);
    } catch (err) {
      if (err instanceof DecodeError) return false;
      throw err;
    }
    const fields = change(rec);
    if (fields === undefined) return false;
    const next = { ...rec, ...fields, revision_number: rec.revision_number + 1, updated_at: isoNow() };
    const res = await store.txn({
      compare: [{ key, target: 'modRevision', op: '=', value: kv.modRevision }],
      success: [{ type: 'put', key, value: encodeRecord(next) }],
    });
    if (res.succeeded) return true;
  }
  return false;
}
