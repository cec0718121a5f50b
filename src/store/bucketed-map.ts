/**
 * The memory store's key space: a map split into buckets by key prefix, with each bucket's
 * sorted key list kept between writes. A range over one collection, `/nb/ports/` for example,
 * visits only that collection and sorts nothing unless keys were added or removed since the
 * last range. Before this, every range filtered and sorted the whole store. With 20,000 ports
 * and their address and MAC reservations, that made each port create or controller load cost
 * tens of milliseconds.
 *
 * A key's bucket is its prefix up to the third '/', or up to its last '/' if it has fewer:
 * `/nb/ports/<id>` goes in `/nb/ports/`, and `/chassis/hv1` goes in `/chassis/`.
 */
import { compareKeys } from './keys.js';

interface Bucket<V> {
  readonly entries: Map<string, V>;
  /** Sorted keys; undefined after an insert or delete until the next range. */
  sorted: string[] | undefined;
}

function bucketOf(key: string): string {
  let slashes = 0;
  let last = -1;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) !== 0x2f) continue;
    last = i;
    if (++slashes === 3) break;
  }
  return key.slice(0, last + 1);
}

function slashes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 0x2f) n++;
  return n;
}

export class BucketedMap<V> {
  private readonly buckets = new Map<string, Bucket<V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.buckets.get(bucketOf(key))?.entries.get(key);
  }

  set(key: string, value: V): void {
    const name = bucketOf(key);
    let b = this.buckets.get(name);
    if (!b) {
      b = { entries: new Map(), sorted: undefined };
      this.buckets.set(name, b);
    }
    if (!b.entries.has(key)) {
      b.sorted = undefined;
      this.count++;
    }
    b.entries.set(key, value);
  }

  delete(key: string): boolean {
    const name = bucketOf(key);
    const b = this.buckets.get(name);
    if (!b || !b.entries.delete(key)) return false;
    this.count--;
    b.sorted = undefined;
    if (b.entries.size === 0) this.buckets.delete(name);
    return true;
  }

  /** Keys starting with `prefix`, sorted as the store sorts them. */
  keysWithPrefix(prefix: string): string[] {
    // A prefix with three slashes lies within one bucket; a shorter one may span several
    // (`/nb/` spans every collection) or lie within one (`/chassis/hv`).
    const names = slashes(prefix) >= 3 ? [bucketOf(prefix)] : [...this.buckets.keys()].filter((n) => n.startsWith(prefix) || prefix.startsWith(n));
    const out: string[] = [];
    for (const n of names) {
      const b = this.buckets.get(n);
      if (!b) continue;
      b.sorted ??= [...b.entries.keys()].sort(compareKeys);
      if (n.startsWith(prefix)) out.push(...b.sorted);
      else for (const k of b.sorted) if (k.startsWith(prefix)) out.push(k);
    }
    return names.length > 1 ? out.sort(compareKeys) : out;
  }

  /** Values of the keys starting with `prefix`, in key order. */
  valuesWithPrefix(prefix: string): V[] {
    return this.keysWithPrefix(prefix).map((k) => this.get(k)!);
  }
}
