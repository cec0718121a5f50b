/**
 * Field values as bit strings (bigint): widths, conversion both ways, mask normalization.
 * Used to build canonical keys (desired/installed comparison) and by the fake OpenFlow table.
 */
import type { FieldName, FieldValueMap, Masked, MatchValue } from '../openflow/types.js';

type Kind = 'num' | 'big' | 'mac' | 'ipv4' | 'ipv6';

const FIXED: Partial<Record<FieldName, [Kind, number]>> = {
  in_port: ['num', 32],
  metadata: ['big', 64],
  eth_dst: ['mac', 48],
  eth_src: ['mac', 48],
  eth_type: ['num', 16],
  vlan_vid: ['num', 13],
  vlan_pcp: ['num', 3],
  ip_dscp: ['num', 6],
  ip_ecn: ['num', 2],
  ip_proto: ['num', 8],
  nw_ttl: ['num', 8],
  ipv4_src: ['ipv4', 32],
  ipv4_dst: ['ipv4', 32],
  tcp_src: ['num', 16],
  tcp_dst: ['num', 16],
  udp_src: ['num', 16],
  udp_dst: ['num', 16],
  sctp_src: ['num', 16],
  sctp_dst: ['num', 16],
  icmpv4_type: ['num', 8],
  icmpv4_code: ['num', 8],
  arp_op: ['num', 16],
  arp_spa: ['ipv4', 32],
  arp_tpa: ['ipv4', 32],
  arp_sha: ['mac', 48],
  arp_tha: ['mac', 48],
  ipv6_src: ['ipv6', 128],
  ipv6_dst: ['ipv6', 128],
  icmpv6_type: ['num', 8],
  icmpv6_code: ['num', 8],
  nd_target: ['ipv6', 128],
  nd_sll: ['mac', 48],
  nd_tll: ['mac', 48],
  tunnel_id: ['big', 64],
  tun_ipv4_src: ['ipv4', 32],
  tun_ipv4_dst: ['ipv4', 32],
  ct_state: ['num', 32],
  ct_zone: ['num', 16],
  ct_mark: ['num', 32],
  ct_label: ['big', 128],
  conj_id: ['num', 32],
  pkt_mark: ['num', 32],
};

function kindOf(field: FieldName): [Kind, number] {
  const f = FIXED[field];
  if (f) return f;
  if (/^reg\d+$/.test(field)) return ['num', 32];
  if (/^xreg\d$/.test(field)) return ['big', 64];
  if (/^xxreg\d$/.test(field)) return ['big', 128];
  // tun_metadataN: we map 4-byte options (conventions.ts); wider values still compare as bigints.
  if (/^tun_metadata\d+$/.test(field)) return ['big', 32];
  throw new Error(`unknown field ${field}`);
}

export function fieldWidth(field: FieldName): number {
  return kindOf(field)[1];
}

export function fullMask(field: FieldName): bigint {
  return (1n << BigInt(fieldWidth(field))) - 1n;
}

export function macToBits(mac: string): bigint {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${mac}`);
  return BigInt('0x' + parts.map((p) => p.padStart(2, '0')).join(''));
}
export function bitsToMac(v: bigint): string {
  const h = v.toString(16).padStart(12, '0');
  return h.match(/../g)!.join(':');
}
export function ipv4ToBits(ip: string): bigint {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 ${ip}`);
  return BigInt((((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]) >>> 0);
}
export function bitsToIpv4(v: bigint): string {
  const n = Number(v);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
export function ipv6ToBits(ip: string): bigint {
  let s = ip.toLowerCase();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  // embedded IPv4 tail
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const v4 = Number(ipv4ToBits(m[2]));
    s = `${m[1]}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 ${ip}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) throw new Error(`bad IPv6 ${ip}`);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
export function bitsToIpv6(v: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // longest run of zeros (length >= 2) compressed
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A field value (as in Match / set_field) → bits. */
export function valueToBits(field: FieldName, value: unknown): bigint {
  const [kind] = kindOf(field);
  switch (kind) {
    case 'num':
      if (typeof value !== 'number') throw new Error(`${field}: expected number`);
      return BigInt(value >>> 0);
    case 'big':
      if (typeof value !== 'bigint') throw new Error(`${field}: expected bigint`);
      return value;
    case 'mac':
      return macToBits(String(value));
    case 'ipv4':
      return ipv4ToBits(String(value));
    case 'ipv6':
      return ipv6ToBits(String(value));
  }
}

/** Bits → the field's value type. */
export function bitsToValue<K extends FieldName>(field: K, bits: bigint): FieldValueMap[K] {
  const [kind] = kindOf(field);
  const out: unknown =
    kind === 'num'
      ? Number(bits)
      : kind === 'big'
        ? bits
        : kind === 'mac'
          ? bitsToMac(bits)
          : kind === 'ipv4'
            ? bitsToIpv4(bits)
            : bitsToIpv6(bits);
  return out as FieldValueMap[K];
}

export function isMasked<K extends FieldName>(v: MatchValue<K>): v is Masked<FieldValueMap[K]> {
  return typeof v === 'object' && v !== null && 'mask' in v;
}

/** A match value as { value, mask } bits with value already masked; mask = full for exact. */
export function matchBits(field: FieldName, v: unknown): { value: bigint; mask: bigint } {
  const full = fullMask(field);
  if (typeof v === 'object' && v !== null && 'mask' in v) {
    const m = v as { value: unknown; mask: unknown };
    const mask = valueToBits(field, m.mask) & full;
    return { value: valueToBits(field, m.value) & mask, mask };
  }
  return { value: valueToBits(field, v) & full, mask: full };
}

/** IPv4 CIDR "10.0.0.0/24" or address → match value (exact for /32). */
export function ipv4Prefix(cidr: string): { value: string; mask: string; len: number } {
  const [addr, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
  return { value: bitsToIpv4(ipv4ToBits(addr) & mask), mask: bitsToIpv4(mask), len };
}
export function ipv6Prefix(cidr: string): { value: string; mask: string; len: number } {
  const [addr, lenText] = cidr.split('/');
  const len = lenText === undefined ? 128 : Number(lenText);
  const all = (1n << 128n) - 1n;
  const mask = len === 0 ? 0n : all ^ ((1n << BigInt(128 - len)) - 1n);
  return { value: bitsToIpv6(ipv6ToBits(addr) & mask), mask: bitsToIpv6(mask), len };
}

/** EUI-64 link-local address of a MAC (fe80::/64). */
export function linkLocalOfMac(mac: string): string {
  const b = macToBits(mac);
  const bytes: number[] = [];
  for (let i = 5; i >= 0; i--) bytes.push(Number((b >> BigInt(i * 8)) & 0xffn));
  const eui = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]];
  let v = 0xfe80n << 112n;
  for (let i = 0; i < 8; i++) v |= BigInt(eui[i]) << BigInt((7 - i) * 8);
  return bitsToIpv6(v);
}

export function isIpv6(addr: string): boolean {
  return addr.includes(':');
}
