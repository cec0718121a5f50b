/**
 * Ports the server creates for its own objects (router interfaces and gateways, floating IP
 * addresses): made and removed through the ports plugin inside the caller's transaction, so IP,
 * MAC and port-key allocation are exactly those of an API port.
 */
import { randomUUID } from 'node:crypto';
import { resourceKey } from '../model/keys.js';
import type { PortRecord, StandardRecord } from '../model/records.js';
import { internalContext } from './context.js';
import type { ServerEnv } from './registry.js';
import type { Tx } from './tx.js';
import { timestamp } from './time.js';

export interface InternalPortSpec {
  readonly networkId: string;
  /** '' for ports no project owns (router gateway, floating IP), as Neutron does. */
  readonly projectId: string;
  readonly deviceId: string;
  readonly deviceOwner: string;
  /** Requested addresses (ports-plugin shape); undefined = automatic. */
  readonly fixedIps?: readonly { subnet_id?: string; ip_address?: string }[];
  readonly name?: string;
}

/** Create the port in `tx` (record written); returns it. Allocation faults propagate. */
export async function createInternalPort(env: ServerEnv, tx: Tx, spec: InternalPortSpec): Promise<PortRecord> {
  const ports = env.registry.require<PortRecord>('ports');
  const now = timestamp();
  const base: StandardRecord = {
    id: randomUUID(),
    name: spec.name ?? '',
    description: '',
    project_id: spec.projectId,
    tags: [],
    created_at: now,
    updated_at: now,
    revision_number: 0,
  };
  const input = {
    network_id: spec.networkId,
    admin_state_up: true,
    device_id: spec.deviceId,
    device_owner: spec.deviceOwner,
    fixed_ips: spec.fixedIps === undefined ? undefined : spec.fixedIps.map((f) => ({ ...f })),
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    security_groups: [],
    port_security_enabled: false,
    'binding:host_id': '',
    'binding:vnic_type': 'normal',
    'binding:profile': {},
  };
  const rec = await ports.create(tx, internalContext(spec.projectId), input, base);
  const key = resourceKey('ports', rec.id);
  tx.absent(key);
  tx.putJson(key, rec);
  return rec;
}

/** Delete the port in `tx` (its addresses, MAC and key released). */
export async function deleteInternalPort(env: ServerEnv, tx: Tx, port: PortRecord): Promise<void> {
  const ports = env.registry.require<PortRecord>('ports');
  await ports.delete(tx, internalContext(port.project_id), port);
  tx.delete(resourceKey('ports', port.id));
}

/** Write `port` back with standard bookkeeping (revision bumped, updated_at). */
export function rewritePort(tx: Tx, current: PortRecord, next: PortRecord): PortRecord {
  const out = { ...next, revision_number: current.revision_number + 1, updated_at: timestamp() };
  tx.putJson(resourceKey('ports', current.id), out);
  return out;
}
