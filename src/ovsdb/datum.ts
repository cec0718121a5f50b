/**
 * OVSDB datum encoding (RFC 7047 §5.1) and schema-driven decoding into plain TypeScript values.
 *
 * Wire forms: an atom is a JSON string, number or boolean, or `["uuid", "<uuid>"]` /
 * `["named-uuid", "<id>"]`; a set is `["set", [atom...]]` or, with exactly one element, the atom
 * itself; a map is `["map", [[key, value]...]]`.
 *
 * Decoded forms: uuids become strings; a column with min=1,max=1 becomes its atom; min=0,max=1
 * becomes the atom or undefined; other sets become arrays; maps with string keys become
 * Record<string, V>, other maps become Map<K, V>.
 */
import { OvsdbDatumError } from './errors.js';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  readonly type: AtomicType;
  readonly refTable?: string;
  readonly refType?: 'strong' | 'weak';
  readonly enum?: unknown;
}

export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: number;
  readonly max: number; // Infinity for "unlimited"
}

export interface ColumnSchema {
  readonly type: ColumnType;
  readonly ephemeral?: boolean;
  readonly mutable?: boolean;
}

export interface TableSchema {
  readonly columns: Record<string, ColumnSchema>;
  readonly isRoot?: boolean;
  readonly maxRows?: number;
  readonly indexes?: string[][];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum?: string;
  readonly tables: Record<string, TableSchema>;
}

/** A uuid reference, as written in operations. */
export interface Uuid {
  readonly uuid: string;
}
/** A reference to a row inserted earlier in the same transaction (`"uuid-name"`). */
export interface NamedUuid {
  readonly namedUuid: string;
}
export type Atom = string | number | boolean | Uuid | NamedUuid;
/** A value to encode: an atom, an array (set), a Set, a Map or a plain object (map). */
export type DatumInput =
  | Atom
  | readonly Atom[]
  | ReadonlySet<Atom>
  | ReadonlyMap<Atom, Atom>
  | { readonly [key: string]: Atom };

export const uuid = (u: string): Uuid => ({ uuid: u });
export const namedUuid = (n: string): NamedUuid => ({ namedUuid: n });

function isUuidObj(v: unknown): v is Uuid {
  return typeof v === 'object' && v !== null && typeof (v as Uuid).uuid === 'string' && Object.keys(v).length === 1;
}
function isNamedObj(v: unknown): v is NamedUuid {
  return (
    typeof v === 'object' && v !== null && typeof (v as NamedUuid).namedUuid === 'string' && Object.keys(v).length === 1
  );
}

export function encodeAtom(a: Atom): unknown {
  if (typeof a === 'string' || typeof a === 'boolean') return a;
  if (typeof a === 'number') {
    if (!Number.isFinite(a)) throw new OvsdbDatumError(`cannot encode non-finite number ${a}`);
    return a;
  }
  if (isUuidObj(a)) return ['uuid', a.uuid];
  if (isNamedObj(a)) return ['named-uuid', a.namedUuid];
  throw new OvsdbDatumError(`cannot encode atom ${JSON.stringify(a)}`);
}

/** Encode a set explicitly (always the `["set", [...]]` form, even for one element). */
export function encodeSet(items: Iterable<Atom>): unknown {
  return ['set', [...items].map(encodeAtom)];
}

export function encodeMap(entries: Iterable<readonly [Atom, Atom]> | { readonly [key: string]: Atom }): unknown {
  const list: Iterable<readonly [Atom, Atom]> =
    Symbol.iterator in entries
      ? (entries as Iterable<readonly [Atom, Atom]>)
      : Object.entries(entries as { readonly [key: string]: Atom });
  return ['map', [...list].map(([k, v]) => [encodeAtom(k), encodeAtom(v)])];
}

/** Encode a value in its natural datum form: arrays and Sets as sets, Maps and plain objects as maps. */
export function encodeDatum(v: DatumInput): unknown {
  if (Array.isArray(v) || v instanceof Set) return encodeSet(v as Iterable<Atom>);
  if (v instanceof Map) return encodeMap(v as ReadonlyMap<Atom, Atom>);
  if (typeof v === 'object' && v !== null && !isUuidObj(v) && !isNamedObj(v)) {
    return encodeMap(v as { readonly [key: string]: Atom });
  }
  return encodeAtom(v as Atom);
}

// ---- schema parsing -------------------------------------------------------------------------

function parseBase(j: unknown): BaseType {
  if (typeof j === 'string') return { type: j as AtomicType };
  if (typeof j === 'object' && j !== null && typeof (j as { type?: unknown }).type === 'string') {
    const o = j as { type: AtomicType; refTable?: string; refType?: 'strong' | 'weak'; enum?: unknown };
    return { type: o.type, refTable: o.refTable, refType: o.refType, enum: o.enum };
  }
  throw new OvsdbDatumError(`bad base type ${JSON.stringify(j)}`);
}

export function parseColumnType(j: unknown): ColumnType {
  if (typeof j === 'string') return { key: parseBase(j), min: 1, max: 1 };
  if (typeof j !== 'object' || j === null) throw new OvsdbDatumError(`bad column type ${JSON.stringify(j)}`);
  const o = j as { key?: unknown; value?: unknown; min?: number; max?: number | 'unlimited' };
  return {
    key: parseBase(o.key),
    value: o.value === undefined ? undefined : parseBase(o.value),
    min: o.min ?? 1,
    max: o.max === 'unlimited' ? Infinity : (o.max ?? 1),
  };
}

/** Parse a get_schema reply into typed column types. */
export function parseSchema(j: unknown): DatabaseSchema {
  if (typeof j !== 'object' || j === null) throw new OvsdbDatumError('schema is not an object');
  const o = j as { name: string; version: string; cksum?: string; tables: Record<string, { columns: Record<string, { type: unknown; ephemeral?: boolean; mutable?: boolean }>; isRoot?: boolean; maxRows?: number; indexes?: string[][] }> };
  const tables: Record<string, TableSchema> = {};
  for (const [t, ts] of Object.entries(o.tables ?? {})) {
    const columns: Record<string, ColumnSchema> = {};
    for (const [c, cs] of Object.entries(ts.columns ?? {})) {
      columns[c] = { type: parseColumnType(cs.type), ephemeral: cs.ephemeral, mutable: cs.mutable };
    }
    tables[t] = { columns, isRoot: ts.isRoot, maxRows: ts.maxRows, indexes: ts.indexes };
  }
  return { name: o.name, version: o.version, cksum: o.cksum, tables };
}

// ---- decoding -------------------------------------------------------------------------------

export type DecodedAtom = string | number | boolean;

/** Decode one wire atom of base type `t` (uuids become their string). */
export function decodeAtom(j: unknown, t: BaseType): DecodedAtom {
  switch (t.type) {
    case 'string':
      if (typeof j === 'string') return j;
      break;
    case 'integer':
      if (typeof j === 'number' && Number.isInteger(j)) return j;
      break;
    case 'real':
      if (typeof j === 'number') return j;
      break;
    case 'boolean':
      if (typeof j === 'boolean') return j;
      break;
    case 'uuid':
      if (Array.isArray(j) && j.length === 2 && (j[0] === 'uuid' || j[0] === 'named-uuid') && typeof j[1] === 'string') {
        return j[1];
      }
      break;
  }
  throw new OvsdbDatumError(`expected ${t.type} atom, got ${JSON.stringify(j)}`);
}

/** The elements of a set datum (the single-atom shorthand included), still in wire form. */
export function setElements(j: unknown): unknown[] {
  if (Array.isArray(j) && j.length === 2 && j[0] === 'set') {
    if (!Array.isArray(j[1])) throw new OvsdbDatumError(`bad set ${JSON.stringify(j)}`);
    return j[1] as unknown[];
  }
  return [j];
}

/** The pairs of a map datum, still in wire form. */
export function mapPairs(j: unknown): [unknown, unknown][] {
  if (!Array.isArray(j) || j.length !== 2 || j[0] !== 'map' || !Array.isArray(j[1])) {
    throw new OvsdbDatumError(`bad map ${JSON.stringify(j)}`);
  }
  return (j[1] as unknown[]).map((p) => {
    if (!Array.isArray(p) || p.length !== 2) throw new OvsdbDatumError(`bad map pair ${JSON.stringify(p)}`);
    return [p[0], p[1]];
  });
}

export type DecodedDatum =
  | DecodedAtom
  | undefined
  | DecodedAtom[]
  | Record<string, DecodedAtom>
  | Map<DecodedAtom, DecodedAtom>;

/** Decode a wire datum according to its column type. */
export function decodeDatum(j: unknown, t: ColumnType): DecodedDatum {
  if (t.value) {
    const pairs = mapPairs(j);
    const v = t.value;
    if (t.key.type === 'string') {
      const rec: Record<string, DecodedAtom> = {};
      for (const [k, val] of pairs) rec[decodeAtom(k, t.key) as string] = decodeAtom(val, v);
      return rec;
    }
    return new Map(pairs.map(([k, val]) => [decodeAtom(k, t.key), decodeAtom(val, v)]));
  }
  const elems = setElements(j).map((e) => decodeAtom(e, t.key));
  if (t.max === 1) {
    if (elems.length > 1) throw new OvsdbDatumError(`too many elements for scalar column: ${JSON.stringify(j)}`);
    if (t.min === 1 && elems.length === 0) throw new OvsdbDatumError('empty datum for required scalar column');
    return elems[0];
  }
  return elems;
}

/** The default datum of a column type, in wire form (update2 omits columns that hold it). */
export function defaultWireDatum(t: ColumnType): unknown {
  if (t.value) return ['map', []];
  if (t.min === 0) return ['set', []];
  switch (t.key.type) {
    case 'string':
      return '';
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'uuid':
      return ['uuid', '00000000-0000-0000-0000-000000000000'];
  }
}

/** A canonical key for an atom in wire form (for set/map arithmetic). */
function atomKey(a: unknown): string {
  if (Array.isArray(a)) return `u:${String(a[1])}`;
  return `${typeof a}:${String(a)}`;
}

/**
 * Apply an update2 "modify" diff to a wire datum (RFC 7047bis / ovsdb-server(7)): for a set, the
 * diff holds elements to toggle (add if absent, remove if present); for a map, pairs whose key
 * is absent are added, whose key and value match are removed, whose key matches with another
 * value replace it; for a scalar column, the diff is the new value.
 */
export function applyDatumDiff(old: unknown, diff: unknown, t: ColumnType): unknown {
  if (t.value) {
    const cur = new Map<string, [unknown, unknown]>();
    for (const [k, v] of mapPairs(old)) cur.set(atomKey(k), [k, v]);
    for (const [k, v] of mapPairs(diff)) {
      const key = atomKey(k);
      const have = cur.get(key);
      if (!have) cur.set(key, [k, v]);
      else if (atomKey(have[1]) === atomKey(v)) cur.delete(key);
      else cur.set(key, [k, v]);
    }
    return ['map', [...cur.values()]];
  }
  // Columns holding at most one value (required or optional): the diff is the new value.
  if (t.max === 1) return diff;
  const cur = new Map<string, unknown>();
  for (const e of setElements(old)) cur.set(atomKey(e), e);
  for (const e of setElements(diff)) {
    const key = atomKey(e);
    if (cur.has(key)) cur.delete(key);
    else cur.set(key, e);
  }
  return ['set', [...cur.values()]];
}

/** Structural equality of two wire datums of the same column type (order-insensitive for sets/maps). */
export function wireDatumEqual(a: unknown, b: unknown, t: ColumnType): boolean {
  if (t.value) {
    const pa = mapPairs(a);
    const pb = mapPairs(b);
    if (pa.length !== pb.length) return false;
    const m = new Map(pa.map(([k, v]) => [atomKey(k), atomKey(v)]));
    return pb.every(([k, v]) => m.get(atomKey(k)) === atomKey(v));
  }
  const ea = setElements(a).map(atomKey);
  const eb = setElements(b).map(atomKey);
  if (ea.length !== eb.length) return false;
  const s = new Set(ea);
  return eb.every((x) => s.has(x));
}
