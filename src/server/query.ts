/**
 * List query features on rendered API objects: filters (repeated = OR, lists match any element,
 * tag filters), sorting (sort_key/sort_dir pairs), pagination (limit, marker, page_reverse,
 * `<collection>_links`) and `fields=`.
 */
import { BadRequest, invalidAttribute } from './errors.js';
import type { ApiObject, ResourcePlugin } from './registry.js';

const RESERVED = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir', 'tags', 'tags-any', 'not-tags', 'not-tags-any', 'changed_since']);

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function matches(v: unknown, wanted: readonly string[]): boolean {
  if (Array.isArray(v)) return v.some((x) => matches(x, wanted));
  const text = scalarText(v);
  return wanted.some((w) => {
    if (typeof v === 'boolean') return w.toLowerCase() === text;
    if (v === null) return w === '' || w === 'None' || w === 'null';
    return w === text;
  });
}

function tagList(params: URLSearchParams, name: string): string[] | undefined {
  const all = params.getAll(name);
  if (all.length === 0) return undefined;
  return all.flatMap((v) => v.split(',')).filter((t) => t !== '');
}

export function applyFilters(plugin: ResourcePlugin, objs: ApiObject[], params: URLSearchParams): ApiObject[] {
  const names = [...new Set(params.keys())].filter((k) => !RESERVED.has(k));
  let out = objs;
  for (const name of names) {
    const wanted = params.getAll(name);
    if (plugin.storeFilters?.[name]) continue; // applied by the caller (app.ts), with the store
    const objFilter = plugin.filters?.[name];
    const attrFilter = plugin.attributes[name]?.filter;
    if (objFilter) {
      out = out.filter((o) => objFilter(o, wanted));
    } else if (attrFilter) {
      out = out.filter((o) => attrFilter(o[name], wanted));
    } else if (name in plugin.attributes) {
      out = out.filter((o) => matches(o[name], wanted));
    } else {
      // filter-validation: Neutron answers 400 for a filter that is not an attribute.
      throw new BadRequest(`['${name}'] is invalid attribute for filtering`);
    }
  }
  // standard-attr-timestamp: `changed_since=<ISO 8601>` keeps what was updated at or after it.
  const since = params.get('changed_since');
  if (since !== null) {
    const t = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.test(since) ? Date.parse(/Z|[+-]\d\d:?\d\d$/.test(since) ? since : `${since}Z`) : NaN;
    if (Number.isNaN(t)) throw new BadRequest(`The filter changed_since must be an ISO 8601 time, not '${since}'`);
    out = out.filter((o) => typeof o.updated_at === 'string' && Date.parse(o.updated_at) >= t);
  }
  const tags = tagList(params, 'tags');
  const tagsAny = tagList(params, 'tags-any');
  const notTags = tagList(params, 'not-tags');
  const notTagsAny = tagList(params, 'not-tags-any');
  const tagsOf = (o: ApiObject): string[] => (Array.isArray(o.tags) ? (o.tags as string[]) : []);
  if (tags) out = out.filter((o) => tags.every((t) => tagsOf(o).includes(t)));
  if (tagsAny) out = out.filter((o) => tagsAny.some((t) => tagsOf(o).includes(t)));
  if (notTags) out = out.filter((o) => !notTags.every((t) => tagsOf(o).includes(t)));
  if (notTagsAny) out = out.filter((o) => !notTagsAny.some((t) => tagsOf(o).includes(t)));
  return out;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  const sa = scalarText(a);
  const sb = scalarText(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export interface SortKey {
  readonly key: string;
  readonly dir: 1 | -1;
}

export function parseSort(plugin: ResourcePlugin, params: URLSearchParams): SortKey[] {
  const keys = params.getAll('sort_key');
  const dirs = params.getAll('sort_dir');
  if (dirs.length > 0 && dirs.length !== keys.length) {
    throw new BadRequest('The number of sort_keys and sort_dirs must be same');
  }
  return keys.map((key, i) => {
    const spec = plugin.attributes[key];
    if (!spec || spec.adminOnlyRead) throw new BadRequest(`${key} is invalid attribute for sort_keys`);
    const d = (dirs[i] ?? 'asc').toLowerCase();
    if (d !== 'asc' && d !== 'desc') throw new BadRequest(`${dirs[i]} is invalid value for sort_dirs, valid value is 'asc' and 'desc'`);
    return { key, dir: d === 'asc' ? 1 : -1 };
  });
}

export function sortObjects(objs: ApiObject[], keys: readonly SortKey[]): ApiObject[] {
  // `id` is always the last tie breaker so that markers are unambiguous.
  const all = keys.some((k) => k.key === 'id') ? keys : [...keys, { key: 'id', dir: keys[0]?.dir ?? 1 } as SortKey];
  const cmp = (a: ApiObject, b: ApiObject): number => {
    for (const k of all) {
      const c = compareValues(a[k.key], b[k.key]);
      if (c !== 0) return c * k.dir;
    }
    return 0;
  };
  // Records usually arrive in key (= id) order already: check in one pass before sorting.
  for (let i = 1; i < objs.length; i++) if (cmp(objs[i - 1], objs[i]) > 0) return [...objs].sort(cmp);
  return [...objs];
}

export interface Page {
  readonly items: ApiObject[];
  readonly links: { href: string; rel: 'next' | 'previous' }[];
}

function parseBoolParam(v: string | null): boolean {
  return v !== null && ['true', '1'].includes(v.toLowerCase());
}

/** Apply limit/marker/page_reverse to sorted objects; build Neutron's next/previous links. */
export function paginate(objs: ApiObject[], params: URLSearchParams, selfUrl: URL): Page {
  const limitText = params.get('limit');
  const marker = params.get('marker');
  const reverse = parseBoolParam(params.get('page_reverse'));
  if (limitText === null && marker === null) return { items: objs, links: [] };
  let limit = Infinity;
  if (limitText !== null) {
    if (!/^[0-9]+$/.test(limitText)) throw invalidAttribute('limit', `'${limitText}' is not an integer`);
    limit = Number(limitText) === 0 ? Infinity : Number(limitText);
  }
  let seq = reverse ? [...objs].reverse() : objs;
  if (marker !== null) {
    const idx = seq.findIndex((o) => o.id === marker);
    if (idx < 0) throw new BadRequest(`Marker ${marker} could not be found`);
    seq = seq.slice(idx + 1);
  }
  const page = seq.slice(0, limit);
  const items = reverse ? [...page].reverse() : page;
  const links: Page['links'] = [];
  const link = (m: string | undefined, rev: boolean): string => {
    const u = new URL(selfUrl.toString());
    u.searchParams.delete('marker');
    u.searchParams.delete('page_reverse');
    if (m !== undefined) u.searchParams.set('marker', m);
    if (rev) u.searchParams.set('page_reverse', 'True');
    return u.toString();
  };
  // Neutron's get_pagination_links: with a limit, "next" unless a forward page came back short,
  // "previous" unless a reverse page came back short (a full page always offers "next", even
  // when nothing follows: the client learns it from the empty page). An empty forward page's
  // "previous" has no marker: the last page, read backwards.
  if (Number.isFinite(limit)) {
    const first = items[0];
    const last = items[items.length - 1];
    const short = items.length < limit;
    if (!(short && !reverse) && last) links.push({ href: link(String(last.id), false), rel: 'next' });
    if (!(short && reverse)) links.push({ href: link(first === undefined ? undefined : String(first.id), true), rel: 'previous' });
  }
  return { items, links };
}

/** Keep only the requested fields (none requested: everything). */
export function selectFields(obj: ApiObject, fields: readonly string[]): ApiObject {
  if (fields.length === 0) return obj;
  const out: ApiObject = {};
  for (const f of fields) if (f in obj) out[f] = obj[f];
  return out;
}
