/**
 * Plug VM interfaces into br-int the way Nova's os-vif does: Interface rows with
 * `external_ids:iface-id` (the logical port), `attached-mac`, `iface-status`, and `vm-uuid`, in
 * ONE OVSDB transaction on a long-lived JSON-RPC connection (the caller's Vswitch), not one
 * `ovs-vsctl` process per port. `ofport_request` pins the OpenFlow port number so the benchmark
 * knows it in advance.
 */
import { namedUuid } from '../../src/ovsdb/datum.js';
import type { Operation } from '../../src/ovsdb/operations.js';
import type { Vswitch } from '../../src/ovsdb/vswitch.js';

export interface Vif {
  /** OVS interface (and port) name, e.g. tapXXXXXXXX-XX. */
  readonly name: string;
  /** The logical port (Neutron port id / OVN Logical_Switch_Port name). */
  readonly ifaceId: string;
  readonly mac: string;
  readonly ofport: number;
}

export function plugOps(bridge: string, vifs: readonly Vif[]): Operation[] {
  const ops: Operation[] = [];
  vifs.forEach((v, i) => {
    ops.push({
      op: 'insert',
      table: 'Interface',
      uuidName: `i${i}`,
      row: {
        name: v.name,
        ofport_request: v.ofport,
        external_ids: { 'iface-id': v.ifaceId, 'attached-mac': v.mac, 'iface-status': 'active', 'vm-uuid': v.ifaceId },
      },
    });
    ops.push({ op: 'insert', table: 'Port', uuidName: `p${i}`, row: { name: v.name, interfaces: [namedUuid(`i${i}`)] } });
  });
  ops.push({ op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'insert', vifs.map((_, i) => namedUuid(`p${i}`))]] });
  return ops;
}

/** One transaction plugging every VIF. */
export async function plug(vswitch: Vswitch, bridge: string, vifs: readonly Vif[]): Promise<void> {
  if (vifs.length === 0) return;
  await vswitch.transact(plugOps(bridge, vifs));
}
