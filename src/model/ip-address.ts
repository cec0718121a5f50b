/**
 * IPv4/IPv6 addresses as BigInt: parse, format (canonical, RFC 5952 for v6), CIDR arithmetic.
 * Pure functions; parse failures return undefined (callers raise their own typed errors).
 */
import { bytesToIpv6 } from '../packet/addr.js';

export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

export interface Cidr {
  readonly version: 4 | 6;
  /** Network address (host bits cleared). */
  readonly network: bigint;
  readonly prefixLen: number;
}

export function bits(version: 4 | 6): number {
  return version === 4 ? 32 : 128;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const left = groupsOf(dbl[0]);
  const right = dbl.length === 2 ? groupsOf(dbl[1]) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length;
  if (dbl.length === 1 && total !== 8) return undefined;
  if (dbl.length === 2 && total > 7) return undefined;
  const groups = [...left, ...Array<string>(8 - total).fill('0'), ...right];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

export function parseIp(text: unknown): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  if (text.includes(':')) {
    const v = parseV6(text);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseV4(text);
  return v === undefined ? undefined : { version: 4, value: v };
}

export function formatIp(version: 4 | 6, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt(8 * (15 - i))) & 0xffn);
  return bytesToIpv6(bytes); // RFC 5952
}

/** Canonical text of an address, or undefined if it does not parse. */
export function canonicalIp(text: unknown): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip.version, ip.value) : undefined;
}

/** Parse `a.b.c.d/n`; `strict` rejects host bits set (Neutron accepts and normalises them). */
export function parseCidr(text: unknown): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > bits(ip.version)) return undefined;
  return { version: ip.version, network: ip.value & netmask(ip.version, prefixLen), prefixLen };
}

export function netmask(version: 4 | 6, prefixLen: number): bigint {
  const b = BigInt(bits(version));
  const all = (1n << b) - 1n;
  return (all << (b - BigInt(prefixLen))) & all;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.version, c.network)}/${c.prefixLen}`;
}

/** Last address of the block (the IPv4 broadcast address). */
export function lastAddress(c: Cidr): bigint {
  return c.network | (~netmask(c.version, c.prefixLen) & ((1n << BigInt(bits(c.version))) - 1n));
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  return ip.version === c.version && ip.value >= c.network && ip.value <= lastAddress(c);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/**
 * First and last usable host: IPv4 excludes the network and broadcast addresses (except /31,
 * /32); IPv6 excludes the subnet-router anycast address (the network address).
 */
export function usableRange(c: Cidr): { first: bigint; last: bigint } {
  const last = lastAddress(c);
  if (c.version === 4) {
    if (c.prefixLen >= 31) return { first: c.network, last };
    return { first: c.network + 1n, last: last - 1n };
  }
  if (c.prefixLen === 128) return { first: c.network, last };
  return { first: c.network + 1n, last };
}
