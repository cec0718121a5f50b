/**
 * Chassis registrations: each local controller writes `/chassis/<name>` under a lease, so a
 * chassis whose controller dies disappears from the store when its lease expires. Other
 * controllers watch `/chassis/` to learn tunnel endpoints.
 */
import type { Encap } from '../pipeline/topology.js';

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
