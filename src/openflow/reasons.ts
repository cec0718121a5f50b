// Packet-in reason numbers (OFPR_*), shared by packet_in, packet_in2 and controller2.
import type { PacketInReason } from './types.js';

const REASONS: readonly PacketInReason[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

export function reasonToNumber(r: PacketInReason): number {
  const i = REASONS.indexOf(r);
  return i < 0 ? 1 : i;
}

/** Unknown numbers map to 'action'. */
export function reasonFromNumber(n: number): PacketInReason {
  return REASONS[n] ?? 'action';
}
