/**
 * Conntrack zones of the ports plugged into br-int: one per port, stable across controller
 * restarts. The zone is recorded on the port's OVSDB Interface (`external_ids:wyvern-ct-zone`),
 * which outlives the controller process, so a restarted controller finds every zone where it was
 * and the connections tracked in it survive. Pure: the controller reads the interfaces, asks for
 * an assignment and writes back the zones that were not recorded yet.
 */
import { CT_ZONE_MAX, CT_ZONE_MIN } from '../pipeline/conventions.js';

/** The Interface external_ids key holding a port's zone. */
export const CT_ZONE_EXTERNAL_ID = 'wyvern-ct-zone';

export interface ZoneCandidate {
  /** Neutron port id. */
  readonly portId: string;
  /** The zone recorded on its interface, if any (as text, unchecked). */
  readonly recorded?: string;
}

export interface ZoneAssignment {
  /** Port id → zone, for every candidate (unless zones ran out). */
  readonly zones: ReadonlyMap<string, number>;
  /** Ports whose zone is new or differs from what their interface records: write these. */
  readonly toRecord: ReadonlyMap<string, number>;
}

function parseZone(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= CT_ZONE_MIN && n <= CT_ZONE_MAX ? n : undefined;
}

/**
 * Keep every valid recorded zone (the first port in id order wins a zone recorded twice), then
 * the zone this process gave a port before (`previous`), then the lowest free zone.
 */
export function assignZones(candidates: readonly ZoneCandidate[], previous: ReadonlyMap<string, number> = new Map()): ZoneAssignment {
  const sorted = [...candidates].sort((a, b) => (a.portId < b.portId ? -1 : a.portId > b.portId ? 1 : 0));
  const zones = new Map<string, number>();
  const used = new Set<number>();
  const toRecord = new Map<string, number>();
  const pending: ZoneCandidate[] = [];
  for (const c of sorted) {
    const z = parseZone(c.recorded);
    if (z !== undefined && !used.has(z)) {
      zones.set(c.portId, z);
      used.add(z);
    } else pending.push(c);
  }
  const later: ZoneCandidate[] = [];
  for (const c of pending) {
    const z = previous.get(c.portId);
    if (z !== undefined && !used.has(z)) {
      zones.set(c.portId, z);
      used.add(z);
      toRecord.set(c.portId, z);
    } else later.push(c);
  }
  let next = CT_ZONE_MIN;
  for (const c of later) {
    while (next <= CT_ZONE_MAX && used.has(next)) next++;
    if (next > CT_ZONE_MAX) break;
    zones.set(c.portId, next);
    used.add(next);
    toRecord.set(c.portId, next);
  }
  return { zones, toRecord };
}
