/**
 * Writes a local port's binding into the north-bound store: `binding:host_id` = this chassis,
 * `binding:vif_type` = ovs and `status` ACTIVE when its interface is plugged into br-int with an
 * ofport; `status` DOWN when it is unplugged. One compare-and-set transaction per change, retried
 * when the API changed the record meanwhile.
 */
import type { Store } from '../store/types.js';
import { resourceKey } from '../model/keys.js';
import { encodeRecord } from '../model/record-codec.js';
import type { PortRecord } from '../model/records.js';
import { DecodeError, decodeJson } from '../model/decode.js';
import { portRecord } from '../model/record-decoders.js';

export type BindState = 'up' | 'down';

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Bring the stored port in line with `state` on `chassis`. Returns true if it wrote, false if the
 * record already said so or the port does not exist (deleted through the API).
 */
export async function bindPort(store: Store, portId: string, chassis: string, state: BindState, attempts = 8): Promise<boolean> {
  const key = resourceKey('ports', portId);
  for (let i = 0; i < attempts; i++) {
    const kv = await store.get(key);
    if (!kv) return false;
    let rec: PortRecord;
    try {
      rec = decodeJson(kv.value, portRecord);
    } catch (err) {
      // A record this controller cannot read is not one it may rewrite (the cache reports it).
      if (err instanceof DecodeError) return false;
      throw err;
    }
    let next: PortRecord;
    if (state === 'up') {
      if (rec['binding:host_id'] === chassis && rec.status === 'ACTIVE' && rec['binding:vif_type'] === 'ovs') return false;
      next = {
        ...rec,
        'binding:host_id': chassis,
        'binding:vif_type': 'ovs',
        'binding:vif_details': { port_filter: true, connectivity: 'l2', bridge_name: 'br-int', datapath_type: 'netdev' },
        status: rec.admin_state_up ? 'ACTIVE' : 'DOWN',
        revision_number: rec.revision_number + 1,
        updated_at: isoNow(),
      };
      if (next.status === rec.status && rec['binding:host_id'] === chassis && rec['binding:vif_type'] === 'ovs') return false;
    } else {
      // Only the chassis the port is bound to may take it down (it may have moved).
      if (rec['binding:host_id'] !== chassis || rec.status === 'DOWN') return false;
      next = { ...rec, status: 'DOWN', revision_number: rec.revision_number + 1, updated_at: isoNow() };
    }
    const res = await store.txn({
      compare: [{ key, target: 'modRevision', op: '=', value: kv.modRevision }],
      success: [{ type: 'put', key, value: encodeRecord(next) }],
    });
    if (res.succeeded) return true;
  }
  return false;
}
