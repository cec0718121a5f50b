/**
 * Status records (read by `wyvern status`; docs/status.md). Nothing in the data plane reads them
 * and no controller watches `/status/`.
 *
 * - `/status/chassis/<name>`: what a controller last published about itself (ChassisStatusRecord).
 *   Not under a lease, so a chassis whose controller died stays known: its liveness is its
 *   registration `/chassis/<name>`, which is under the lease. `wyvern status --forget NAME`
 *   removes the record of a chassis taken out of service.
 * - `/status/servers/<id>`: each API server (ServerStatusRecord), not leased either; its
 *   liveness is `/status/live/servers/<id>`, under the server's lease.
 */
export const STATUS_PREFIX = '/status/';
export const CHASSIS_STATUS_PREFIX = '/status/chassis/';
export const SERVER_STATUS_PREFIX = '/status/servers/';
export const SERVER_LIVE_PREFIX = '/status/live/servers/';

export function chassisStatusKey(name: string): string {
  return `${CHASSIS_STATUS_PREFIX}${name}`;
}
export function serverStatusKey(id: string): string {
  return `${SERVER_STATUS_PREFIX}${id}`;
}
export function serverLiveKey(id: string): string {
  return `${SERVER_LIVE_PREFIX}${id}`;
}

export interface ChassisStatusRecord {
  readonly name: string;
  readonly version: string;
  readonly hostname: string;
  readonly gateway: boolean;
  readonly l3_mode: string;
  readonly lease_ttl_seconds: number;
  /** North-bound revision the switch held, and the newest one seen, when published. */
  readonly applied_revision: number;
  readonly seen_revision: number;
  /** Since when the switch has stayed behind what the controller saw (null: it keeps up). */
  readonly behind_since: string | null;
  readonly local_ports: number;
  readonly installed_flows: number;
  readonly groups: number;
  /** OpenFlow channel and OVSDB session state (`connected` when healthy). */
  readonly openflow: string;
  readonly ovsdb: string;
  readonly metrics_url: string | null;
  readonly started_at: string;
  readonly updated_at: string;
}

export interface ServerStatusRecord {
  readonly id: string;
  readonly url: string;
  readonly version: string;
  readonly hostname: string;
  readonly pid: number;
  /** The store it serves, as given (`sqlite:PATH`, `etcd:URL,...`), credentials removed. */
  readonly store: string;
  readonly metrics_url: string;
  readonly started_at: string;
}

/** Parse a status record; undefined when it is not an object with a string `name`/`id`. */
export function parseStatusRecord<T extends ChassisStatusRecord | ServerStatusRecord>(text: string, idField: 'name' | 'id'): T | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || typeof (v as Record<string, unknown>)[idField] !== 'string') return undefined;
    return v as T;
  } catch {
    return undefined;
  }
}
