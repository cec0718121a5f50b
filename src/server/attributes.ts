/**
 * Attribute declarations (Neutron's RESOURCE_ATTRIBUTE_MAP, as data) and the converters used to
 * validate request values. A converter returns the normalised value or throws BadRequest.
 */
import { canonicalIp, parseCidr, formatCidr } from '../model/ip-address.js';
import { invalidAttribute } from './errors.js';

export type Converter = (value: unknown, attr: string) => unknown;

export interface AttributeSpec {
  /** May be given on create. */
  readonly allowPost: boolean;
  /** May be given on update. */
  readonly allowPut: boolean;
  /** Must be given on create. */
  readonly required?: boolean;
  /** Applied on create when absent (a function is called per request). */
  readonly default?: unknown;
  readonly convert?: Converter;
  /** Only admins may set it (create or update); others get 403. */
  readonly adminOnlyWrite?: boolean;
  /** Only admins see it; hidden from others' views. */
  readonly adminOnlyRead?: boolean;
  /** Custom filter for `?attr=value` (default: string comparison, lists match any element). */
  readonly filter?: (apiValue: unknown, wanted: readonly string[]) => boolean;
}

export type AttributeMap = Readonly<Record<string, AttributeSpec>>;

/** Attributes every standard resource has. `name` is added per resource. */
export function standardAttributes(): AttributeMap {
  return {
    id: { allowPost: false, allowPut: false },
    name: { allowPost: true, allowPut: true, default: '', convert: str(255) },
    description: { allowPost: true, allowPut: true, default: '', convert: str(255) },
    project_id: { allowPost: true, allowPut: false, convert: str(255) },
    tenant_id: { allowPost: true, allowPut: false, convert: str(255) },
    tags: { allowPost: false, allowPut: false },
    created_at: { allowPost: false, allowPut: false },
    updated_at: { allowPost: false, allowPut: false },
    revision_number: { allowPost: false, allowPut: false },
  };
}

function describe(value: unknown): string {
  return `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
}

export function str(max = 255): Converter {
  return (v, attr) => {
    if (typeof v !== 'string') throw invalidAttribute(attr, `${describe(v)} is not a valid string`);
    if (v.length > max) throw invalidAttribute(attr, `${describe(v)} exceeds maximum length of ${max}`);
    return v;
  };
}

export const bool: Converter = (v, attr) => {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const l = v.toLowerCase();
    if (l === 'true' || l === '1') return true;
    if (l === 'false' || l === '0') return false;
  }
  throw invalidAttribute(attr, `${describe(v)} cannot be converted to boolean`);
};

export function int(min: number, max: number): Converter {
  return (v, attr) => {
    const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw invalidAttribute(attr, `${describe(v)} is not an integer`);
    if (n < min || n > max) throw invalidAttribute(attr, `${describe(v)} is not in range ${min} through ${max}`);
    return n;
  };
}

export function nullable(c: Converter): Converter {
  return (v, attr) => (v === null ? null : c(v, attr));
}

export function oneOf(values: readonly string[]): Converter {
  return (v, attr) => {
    if (typeof v !== 'string' || !values.includes(v)) throw invalidAttribute(attr, `${describe(v)} is not in ${JSON.stringify(values)}`);
    return v;
  };
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export const uuid: Converter = (v, attr) => {
  if (typeof v !== 'string' || !UUID_RE.test(v)) throw invalidAttribute(attr, `${describe(v)} is not a valid UUID`);
  return v.toLowerCase();
};

export const ipAddress: Converter = (v, attr) => {
  const c = canonicalIp(v);
  if (c === undefined) throw invalidAttribute(attr, `${describe(v)} is not a valid IP address`);
  return c;
};

export const cidr: Converter = (v, attr) => {
  const c = parseCidr(v);
  if (!c) throw invalidAttribute(attr, `${describe(v)} is not a valid IP subnet`);
  return formatCidr(c);
};

/** A CIDR or a bare address (host route /32, allowed address pair). Keeps the prefix given. */
export const ipOrCidr: Converter = (v, attr) => {
  if (typeof v === 'string' && v.includes('/')) {
    const slash = v.indexOf('/');
    const ip = canonicalIp(v.slice(0, slash));
    if (ip === undefined || !parseCidr(v)) throw invalidAttribute(attr, `${describe(v)} is not a valid IP subnet`);
    return `${ip}${v.slice(slash)}`;
  }
  return ipAddress(v, attr);
};

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
export const macAddress: Converter = (v, attr) => {
  if (typeof v !== 'string' || !MAC_RE.test(v)) throw invalidAttribute(attr, `${describe(v)} is not a valid MAC address`);
  const mac = v.toLowerCase().replace(/-/g, ':');
  if (mac === '00:00:00:00:00:00' || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw invalidAttribute(attr, `${describe(v)} is not a valid MAC address`);
  }
  return mac;
};

export function listOf(c: Converter, opts: { unique?: boolean; max?: number } = {}): Converter {
  return (v, attr) => {
    if (!Array.isArray(v)) throw invalidAttribute(attr, `${describe(v)} is not a list`);
    if (opts.max !== undefined && v.length > opts.max) throw invalidAttribute(attr, `more than ${opts.max} items`);
    const out = v.map((x) => c(x, attr));
    if (opts.unique) {
      const seen = new Set(out.map((x) => JSON.stringify(x)));
      if (seen.size !== out.length) throw invalidAttribute(attr, `duplicate items in the list: ${describe(v)}`);
    }
    return out;
  };
}

/** A dict with the given keys (each with its converter; missing optional keys omitted). */
export function dict(spec: Readonly<Record<string, { convert: Converter; required?: boolean }>>): Converter {
  return (v, attr) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidAttribute(attr, `${describe(v)} is not a dictionary`);
    const obj = v as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      if (!(k in spec)) throw invalidAttribute(attr, `unexpected key '${k}' in ${describe(v)}`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(spec)) {
      if (obj[k] === undefined) {
        if (s.required) throw invalidAttribute(attr, `missing key '${k}' in ${describe(v)}`);
        continue;
      }
      out[k] = s.convert(obj[k], `${attr}.${k}`);
    }
    return out;
  };
}

/** Any JSON object (binding:profile). */
export const anyDict: Converter = (v, attr) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidAttribute(attr, `${describe(v)} is not a dictionary`);
  return v;
};
