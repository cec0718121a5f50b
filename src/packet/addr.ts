/**
 * Address helpers. At the API, MACs are lowercase "aa:bb:cc:dd:ee:ff", IPv4 addresses dotted
 * quads and IPv6 addresses RFC 5952 canonical strings. These helpers convert to and from bytes
 * and integers; the `*OrThrow`-free variants return `null` on bad input.
 */

const HEX = '0123456789abcdef';
const BYTE_HEX: string[] = [];
for (let i = 0; i < 256; i++) BYTE_HEX.push(HEX[i >> 4] + HEX[i & 15]);

// ---------------------------------------------------------------- MAC

export const MAC_BROADCAST = 'ff:ff:ff:ff:ff:ff';
export const MAC_ZERO = '00:00:00:00:00:00';
const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** Reads 6 bytes at `off` as a lowercase MAC string. */
export function bytesToMac(buf: Uint8Array, off = 0): string {
  return (
    BYTE_HEX[buf[off]] + ':' + BYTE_HEX[buf[off + 1]] + ':' + BYTE_HEX[buf[off + 2]] + ':' +
    BYTE_HEX[buf[off + 3]] + ':' + BYTE_HEX[buf[off + 4]] + ':' + BYTE_HEX[buf[off + 5]]
  );
}

/** Parses a MAC string to 6 bytes; returns null if malformed. */
export function macToBytes(mac: string): Buffer | null {
  const out = Buffer.allocUnsafe(6);
  return writeMac(mac, out, 0) ? out : null;
}

/** Writes a MAC string into `buf` at `off`; returns false (writing nothing useful) if malformed. */
export function writeMac(mac: string, buf: Uint8Array, off: number): boolean {
  if (mac.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    const hi = hexVal(mac.charCodeAt(i * 3));
    const lo = hexVal(mac.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(i * 3 + 2) !== 58)) return false;
    buf[off + i] = (hi << 4) | lo;
  }
  return true;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function normalizeMac(mac: string): string | null {
  return isMac(mac) ? mac.toLowerCase() : null;
}

export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

// ---------------------------------------------------------------- IPv4

/** Parses a dotted quad to an unsigned 32-bit integer; returns null if malformed. */
export function ipv4ToInt(s: string): number | null {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return null; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return null;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return null;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return n * 256 + part;
}

export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv4(s: string): boolean {
  return ipv4ToInt(s) !== null;
}

export function bytesToIpv4(buf: Uint8Array, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

export function ipv4ToBytes(s: string): Buffer | null {
  const n = ipv4ToInt(s);
  if (n === null) return null;
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Writes a dotted quad at `off`; returns false if malformed. */
export function writeIpv4(s: string, buf: Buffer, off: number): boolean {
  const n = ipv4ToInt(s);
  if (n === null) return false;
  buf.writeUInt32BE(n, off);
  return true;
}

/** Netmask for a prefix length 0..32 as an unsigned integer. */
export function prefixMask(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a contiguous netmask ("255.255.255.0" → 24), or null if not contiguous. */
export function maskToPrefix(mask: string | number): number | null {
  const n = typeof mask === 'number' ? mask >>> 0 : ipv4ToInt(mask);
  if (n === null) return null;
  for (let len = 0; len <= 32; len++) if (prefixMask(len) === n) return len;
  return null;
}

export interface Ipv4Cidr {
  readonly family: 4;
  /** Network address (host bits cleared). */
  readonly network: string;
  readonly networkInt: number;
  readonly prefixLen: number;
  readonly mask: number;
}

export interface Ipv6Cidr {
  readonly family: 6;
  readonly network: string;
  readonly networkBytes: Buffer;
  readonly prefixLen: number;
}

export type Cidr = Ipv4Cidr | Ipv6Cidr;

/**
 * Parses "a.b.c.d/n" or "x::/n". Host bits are cleared (use {@link cidrHasHostBits} to reject
 * them if needed). Returns null if malformed.
 */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const lenStr = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenStr)) return null;
  const prefixLen = Number(lenStr);
  if (addr.includes(':')) {
    const bytes = ipv6ToBytes(addr);
    if (!bytes || prefixLen > 128) return null;
    maskIpv6InPlace(bytes, prefixLen);
    return { family: 6, network: bytesToIpv6(bytes), networkBytes: bytes, prefixLen };
  }
  const n = ipv4ToInt(addr);
  if (n === null || prefixLen > 32) return null;
  const mask = prefixMask(prefixLen);
  const networkInt = (n & mask) >>> 0;
  return { family: 4, network: intToIpv4(networkInt), networkInt, prefixLen, mask };
}

/** True if "addr/len" has bits set beyond the prefix (e.g. "10.0.0.1/24"). */
export function cidrHasHostBits(s: string): boolean {
  const c = parseCidr(s);
  if (!c) return false;
  const addr = s.slice(0, s.indexOf('/'));
  if (c.family === 4) return ipv4ToInt(addr) !== c.networkInt;
  return !(ipv6ToBytes(addr) as Buffer).equals(c.networkBytes);
}

export function formatCidr(c: Cidr): string {
  return `${c.network}/${c.prefixLen}`;
}

/** True if `ip` (v4 or v6 string) lies inside `cidr` (string or parsed). Family mismatch → false. */
export function inCidr(ip: string, cidr: string | Cidr): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (!c) return false;
  if (c.family === 4) {
    const n = ipv4ToInt(ip);
    return n !== null && ((n & c.mask) >>> 0) === c.networkInt;
  }
  const b = ipv6ToBytes(ip);
  if (!b) return false;
  maskIpv6InPlace(b, c.prefixLen);
  return b.equals(c.networkBytes);
}

function maskIpv6InPlace(b: Buffer, prefixLen: number): void {
  for (let i = 0; i < 16; i++) {
    const bits = prefixLen - i * 8;
    if (bits >= 8) continue;
    b[i] = bits <= 0 ? 0 : b[i] & ((0xff << (8 - bits)) & 0xff);
  }
}

// ---------------------------------------------------------------- IPv6

/** Parses any RFC 4291 text form (incl. "::" and an embedded dotted IPv4 tail) to 16 bytes. */
export function ipv6ToBytes(s: string): Buffer | null {
  if (s.length < 2 || s.length > 45) return null;
  let head = s;
  let v4: number | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    v4 = ipv4ToInt(s.slice(lastColon + 1));
    if (v4 === null) return null;
    head = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const b = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(groups[i], i * 2);
  if (v4 !== null) b.writeUInt32BE(v4, 12);
  return b;
}

export function isIpv6(s: string): boolean {
  return ipv6ToBytes(s) !== null;
}

/** Formats 16 bytes at `off` in RFC 5952 canonical form (IPv4-mapped as ::ffff:a.b.c.d). */
export function bytesToIpv6(buf: Uint8Array, off = 0): string {
  // longest run of zero groups (length >= 2), first one on ties
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    return '::ffff:' + bytesToIpv4(buf, off + 12);
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]).toString(16);
  }
  return out;
}

/** Canonical (RFC 5952) form of an IPv6 string, or null if malformed. */
export function normalizeIpv6(s: string): string | null {
  const b = ipv6ToBytes(s);
  return b ? bytesToIpv6(b) : null;
}

/** Writes an IPv6 string at `off`; returns false if malformed. */
export function writeIpv6(s: string, buf: Buffer, off: number): boolean {
  const b = ipv6ToBytes(s);
  if (!b) return false;
  b.copy(buf, off);
  return true;
}

/** Solicited-node multicast address ff02::1:ffXX:XXXX for an IPv6 address. */
export function solicitedNodeMulticast(ip: string): string | null {
  const b = ipv6ToBytes(ip);
  if (!b) return null;
  const out = Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13], b[14], b[15]]);
  return bytesToIpv6(out);
}

/** Ethernet multicast MAC 33:33:xx:xx:xx:xx for an IPv6 multicast address. */
export function ipv6MulticastMac(ip: string): string | null {
  const b = ipv6ToBytes(ip);
  if (!b) return null;
  return bytesToMac(Buffer.from([0x33, 0x33, b[12], b[13], b[14], b[15]]));
}

/** Modified EUI-64 link-local address fe80::/64 for a MAC. */
export function linkLocalFromMac(mac: string): string | null {
  const m = macToBytes(mac);
  if (!m) return null;
  const b = Buffer.alloc(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[8] = m[0] ^ 0x02;
  b[9] = m[1];
  b[10] = m[2];
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = m[3];
  b[14] = m[4];
  b[15] = m[5];
  return bytesToIpv6(b);
}
