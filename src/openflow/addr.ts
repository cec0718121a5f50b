// Address text <-> bytes. Throws OfEncodeError on malformed input.
import { OfEncodeError } from './errors.js';
import { bytesToIpv6 as formatIpv6Bytes } from '../packet/addr.js';

export function macToBytes(mac: string): Buffer {
  // Hand-rolled parse (no regex / arrays): this runs for every MAC in every encoded flow.
  const out = Buffer.allocUnsafe(6);
  let part = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i < mac.length; i++) {
    const c = mac.charCodeAt(i);
    if (c === 58 /* : */) {
      if (digits === 0 || part === 5) return badMac(mac);
      out[part++] = n;
      n = 0;
      digits = 0;
      continue;
    }
    const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (h < 0 || ++digits > 2) return badMac(mac);
    n = n * 16 + h;
  }
  if (part !== 5 || digits === 0) return badMac(mac);
  out[5] = n;
  return out;
}

function badMac(mac: string): never {
  throw new OfEncodeError('bad_value', `bad MAC address ${JSON.stringify(mac)}`);
}

export function bytesToMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function ipv4ToBytes(ip: string): Buffer {
  // Hand-rolled parse (no regex / arrays): this runs for every address in every encoded flow.
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return badIpv4(ip);
      out[part++] = n;
      n = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && ++digits <= 3) {
      n = n * 10 + (c - 48);
      if (n > 255) return badIpv4(ip);
    } else return badIpv4(ip);
  }
  if (part !== 3 || digits === 0) return badIpv4(ip);
  out[3] = n;
  return out;
}

function badIpv4(ip: string): never {
  throw new OfEncodeError('bad_value', `bad IPv4 address ${JSON.stringify(ip)}`);
}

export function bytesToIpv4(b: Uint8Array): string {
  return Array.from(b).join('.');
}

export function ipv6ToBytes(ip: string): Buffer {
  const bad = (): never => {
    throw new OfEncodeError('bad_value', `bad IPv6 address ${JSON.stringify(ip)}`);
  };
  let text = ip;
  const out = Buffer.alloc(16);
  // Embedded IPv4 tail, e.g. ::ffff:1.2.3.4
  let tail: Buffer | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = ipv4ToBytes(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const parse = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : bad()));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + rest.length > 7) bad();
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (tail) tail.copy(out, 12);
  return out;
}

/** RFC 5952 canonical text (one formatter for the whole code base: packet/addr.ts). */
export const bytesToIpv6 = (b: Uint8Array): string => formatIpv6Bytes(b);

/** Unsigned big-endian integer of `len` bytes. */
export function bigToBytes(v: bigint, len: number): Buffer {
  if (v < 0n || v >> BigInt(len * 8) !== 0n) {
    throw new OfEncodeError('bad_value', `value 0x${v.toString(16)} does not fit in ${len} bytes`);
  }
  const out = Buffer.alloc(len);
  if (len === 8) {
    out.writeBigUInt64BE(v);
    return out;
  }
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}
