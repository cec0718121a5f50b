/**
 * Writes a local port's binding into the north-bound store: `binding:host_id` = this chassis,
 * `binding:vif_type` = ovs and `status` ACTIVE when its interface is plugged into br-int with an
 * ofport; `status` DOWN when it is unplugged. One compare-and-set transaction per change, retried
 * when the API changed the record meanwhile.
 */
import type { Store } from '../store/types.js';
import { resourceKey } from '../model/keys.js';
import type { PortRecord } from '../model/records.js';
import { portRecord } from '../model/record-decoders.js';
import { updateRecord } from './record-update.js';

export type BindState = 'up' | 'down';

/** What binding `rec` to `chassis` in `state` changes, or undefined when the record says so already. */
function bindChange(rec: PortRecord, chassis: string, state: BindState): Partial<PortRecord> | undefined {
  if (state === 'up') {
    const status = rec.admin_state_up ? 'ACTIVE' : 'DOWN';
    if (rec['binding:host_id'] === chassis && rec['binding:vif_type'] === 'ovs' && rec.status === status) return undefined;
    return {
      'binding:host_id': chassis,
      'binding:vif_type': 'ovs',
      'binding:vif_details': { port_filter: true, connectivity: 'l2', bridge_name: 'br-int', datapath_type: 'netdev' },
      status,
    };
  }
  // Only the chassis the port is bound to may take it down (it may have moved).
  if (rec['binding:host_id'] !== chassis || rec.status === 'DOWN') return undefined;
  return { status: 'DOWN' };
}

/**
 * Bring the stored port in line with `state` on `chassis`. Returns true if it wrote, false if the
 * record already said so or the port does not exist (deleted through the API).
 */
export function bindPort(store: Store, portId: string, chassis: string, state: BindState, attempts = 8): Promise<boolean> {
  return updateRecord(store, resourceKey('ports', portId), portRecord, (rec) => bindChange(rec, chassis, state), attempts);
}
