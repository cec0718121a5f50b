/**
 * Checked decoding of stored JSON: small combinators that turn `unknown` into a typed value or
 * throw a DecodeError naming the path of the first bad field. Readers of the store (controllers,
 * `wyvern trace`) decode every record they keep through these, so a record written by an older
 * server or another tool is refused with a reason instead of surfacing as `undefined` deep inside
 * a flow compiler.
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '(record)'}: ${reason}`);
  }
}

/** A decoder: returns the typed value or throws DecodeError. */
export type Decoder<T> = (v: unknown, path: string) => T;

function fail(path: string, reason: string): never {
  throw new DecodeError(path, reason);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export const str: Decoder<string> = (v, p) => (typeof v === 'string' ? v : fail(p, `expected a string, got ${show(v)}`));

export const bool: Decoder<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, `expected a boolean, got ${show(v)}`));

/** An integer in [min, max]. */
export function int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Decoder<number> {
  return (v, p) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(p, `expected an integer in [${min}, ${max}], got ${show(v)}`);
}

export function oneOf<const T extends string | number>(values: readonly T[]): Decoder<T> {
  return (v, p) => (values.includes(v as T) ? (v as T) : fail(p, `expected one of ${values.join(', ')}, got ${show(v)}`));
}

export function nullable<T>(d: Decoder<T>): Decoder<T | null> {
  return (v, p) => (v === null ? null : d(v, p));
}

/** A field that may be absent (undefined). */
export function optional<T>(d: Decoder<T>): Decoder<T | undefined> {
  return (v, p) => (v === undefined ? undefined : d(v, p));
}

/** An absent field reads as `fallback` (fields added after records were first written). */
export function withDefault<T>(d: Decoder<T>, fallback: T): Decoder<T> {
  return (v, p) => (v === undefined ? fallback : d(v, p));
}

export function array<T>(d: Decoder<T>): Decoder<readonly T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) return fail(p, `expected an array, got ${show(v)}`);
    return v.map((x, i) => d(x, `${p}[${i}]`));
  };
}

/** A JSON object whose values are all `d` (e.g. bridge mappings). */
export function dictOf<T>(d: Decoder<T>): Decoder<Readonly<Record<string, T>>> {
  return (v, p) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, `expected an object, got ${show(v)}`);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = d(x, `${p}.${k}`);
    return out;
  };
}

/** Any JSON object (kept as is: opaque fields such as `binding:profile`). */
export const anyObject: Decoder<Readonly<Record<string, unknown>>> = (v, p) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(p, `expected an object, got ${show(v)}`);

type Shape = Readonly<Record<string, Decoder<unknown>>>;
type FromShape<S extends Shape> = { readonly [K in keyof S]: ReturnType<S[K]> };

/**
 * An object with the fields of `shape`, each checked. Fields not in the shape are kept as they
 * are (a newer server may add fields; readers ignore what they do not know).
 */
export function object<S extends Shape>(shape: S): Decoder<FromShape<S>> {
  const entries = Object.entries(shape);
  return (v, p) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, `expected an object, got ${show(v)}`);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = { ...src };
    for (const [k, d] of entries) {
      const x = d(src[k], p ? `${p}.${k}` : k);
      if (x === undefined) delete out[k];
      else out[k] = x;
    }
    return out as FromShape<S>;
  };
}

/** Parse JSON text and decode it; DecodeError for bad JSON too. */
export function decodeJson<T>(text: string, d: Decoder<T>): T {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return fail('', `not JSON: ${(err as Error).message}`);
  }
  return d(v, '');
}
