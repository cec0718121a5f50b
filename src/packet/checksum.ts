/** RFC 1071 Internet checksum helpers working on Buffer ranges (no allocation). */

/** Adds the 16-bit big-endian words of buf[start, end) to `sum` (odd tail padded with zero). */
export function sumWords(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** Folds a running sum to 16 bits and complements it. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Checksum of buf[start, end) plus an initial (pseudo-header) sum. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return finishChecksum(sumWords(buf, start, end, initial));
}

/** Pseudo-header sum for IPv4 (RFC 768/793): addresses read from `buf` at the given offsets. */
export function ipv4PseudoSum(buf: Uint8Array, srcOff: number, dstOff: number, protocol: number, length: number): number {
  return sumWords(buf, srcOff, srcOff + 4) + sumWords(buf, dstOff, dstOff + 4) + protocol + length;
}

/** Pseudo-header sum for IPv6 (RFC 8200 §8.1). */
export function ipv6PseudoSum(buf: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, length: number): number {
  return sumWords(buf, srcOff, srcOff + 16) + sumWords(buf, dstOff, dstOff + 16) + nextHeader + (length >>> 16) + (length & 0xffff);
}
