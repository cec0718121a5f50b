/**
 * Chassis registrations: each local controller writes `/chassis/<name>` under a lease, so a
 * chassis whose controller dies disappears from the store when its lease expires. Other
 * controllers watch `/chassis/` to learn tunnel endpoints.
 */
import { createHash } from 'node:crypto';
import type { Encap } from '../pipeline/topology.js';
import type { StandardRecord } from './records.js';

export const CHASSIS_PREFIX = '/chassis/';

export function chassisKey(name: string): string {
  return `${CHASSIS_PREFIX}${name}`;
}

export interface ChassisRecord {
  readonly name: string;
  readonly hostname: string;
  readonly tunnel_ip: string;
  /** Encapsulations this chassis terminates, preferred first. */
  readonly encap: readonly Encap[];
  /** physnet → provider bridge. */
  readonly bridge_mappings: Readonly<Record<string, string>>;
  /** Can host SNAT / external gateway ports. */
  readonly gateway: boolean;
  readonly l3_mode: 'proactive' | 'reactive';
  readonly version: string;
  /** ISO time the controller registered. */
  readonly started_at: string;
}

/**
 * `/nb/agents/<id>`: a chassis as Neutron's agent API shows it (written by the server when it
 * first sees the registration; id = a UUID derived from the chassis name, so it is stable across
 * restarts). Liveness is not stored: an agent is alive while its chassis key (under the
 * controller's lease) exists.
 */
export interface AgentRecord extends StandardRecord {
  /** The chassis name (`binding:host_id` of the ports it binds). */
  readonly chassis: string;
  readonly admin_state_up: boolean;
  /** The registration last seen (kept when the chassis goes away, for the dead agent's view). */
  readonly registration: ChassisRecord;
}

/**
 * A chassis' own MAC on external networks: its floating IPs answer ARP with it, so the outside's
 * neighbour entry for a floating IP names the chassis that serves it. Derived from the name
 * (locally administered, unicast: 0a:57 + 4 bytes of its SHA-256), so every controller and
 * `wyvern trace` agree on it without storing it.
 */
export function chassisMac(name: string): string {
  const h = createHash('sha256').update(`wyvern-chassis:${name}`).digest();
  return ['0a', '57', ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
