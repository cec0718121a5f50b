/**
 * A port range as the fewest masked matches: [min, max] split into aligned power-of-two blocks
 * (each one `value/mask`), the smallest exact cover by prefixes. 1-65535 is 16 matches, 1024-65535
 * is 6, a single port is 1, 0-65535 is one wildcard (mask 0).
 */
export interface MaskedPort {
  readonly value: number;
  readonly mask: number;
}

export function portRangeMasks(min: number, max: number, bits = 16): MaskedPort[] {
  const full = 2 ** bits - 1;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max > full || min > max) {
    throw new RangeError(`bad port range ${min}-${max}`);
  }
  const out: MaskedPort[] = [];
  let lo = min;
  while (lo <= max) {
    // The largest aligned block starting at lo that stays inside [lo, max].
    let size = 1;
    while (size <= full && lo % (size * 2) === 0 && lo + size * 2 - 1 <= max) size *= 2;
    out.push({ value: lo, mask: full - (size - 1) });
    lo += size;
  }
  return out;
}
