/** Pseudo-header context passed from the IP layer to L4 codecs. */
import { ipv4ToBytes, ipv6ToBytes } from './addr.js';
import { sumWords } from './checksum.js';

export interface PseudoHeader {
  readonly family: 4 | 6;
  /** Sum of the source and destination address words plus the protocol number (no length). */
  readonly base: number;
}

export function pseudoWithLength(p: PseudoHeader, length: number): number {
  return p.base + (length >>> 16) + (length & 0xffff);
}

/** Builds a pseudo-header context from address strings; null if they do not parse. */
export function pseudoFromAddrs(src: string, dst: string, protocol: number): PseudoHeader | null {
  const v6 = src.includes(':');
  const s = v6 ? ipv6ToBytes(src) : ipv4ToBytes(src);
  const d = v6 ? ipv6ToBytes(dst) : ipv4ToBytes(dst);
  if (!s || !d || s.length !== d.length) return null;
  return { family: v6 ? 6 : 4, base: sumWords(s, 0, s.length) + sumWords(d, 0, d.length) + protocol };
}

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
