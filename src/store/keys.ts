/** Key helpers shared by the drivers. */

/** The smallest key greater than every key starting with `prefix` ('' when there is none). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return '';
}

export function hasPrefix(key: string, prefix: string): boolean {
  return key.startsWith(prefix);
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
