/**
 * How north-bound records are written to the store, so that readers can route them unparsed.
 *
 * A record is stored as JSON with its routing fields first, in this order when present:
 * `id`, `network_id`, `device_owner`, `device_id`. Those fields say what a record is about
 * (which network, which router). A controller on 1 of 1,000 chassis sees every store event
 * but needs few of them; `peekHeader` reads the routing fields from the front of the text in
 * well under a microsecond, so it parses only the records it keeps. A full JSON.parse of a port
 * costs 10–20 µs, and at 20,000 ports × 1,000 chassis that was the largest cost of loading
 * a cloud.
 *
 * `peekHeader` is conservative. It accepts only the exact prefix `encodeRecord` writes, and only
 * values that are plain strings (no quote, no backslash). For anything else it returns
 * undefined, and the caller parses the whole record. Records written before this layout, or by
 * another tool, are still read correctly, just more slowly. A nested object, for example a
 * `binding:profile` holding its own "network_id", can never be mistaken for the header: the
 * header is the run of fields right after the opening brace.
 */

/** The routing fields, in their stored order, with the JSON shape of their values. */
const HEADER_FIELDS = [
  ['id', 'string'],
  ['network_id', 'string'],
  ['device_owner', 'string'],
  ['device_id', 'string'],
  ['security_group_id', 'string'],
  ['security_groups', 'strings'],
  ['port_id', 'string'],
] as const;

export interface RecordHeader {
  readonly id: string;
  readonly network_id?: string;
  readonly device_owner?: string;
  readonly device_id?: string;
  /** A security group rule's group. */
  readonly security_group_id?: string;
  /** A port's security groups. */
  readonly security_groups?: readonly string[];
  /** A floating IP's associated port. */
  readonly port_id?: string;
}

export type HeaderField = (typeof HEADER_FIELDS)[number][0];

/** A value the header can carry: a string, or an array of strings (no quote, no backslash, checked when read). */
function headerValue(v: unknown, shape: 'string' | 'strings'): boolean {
  return shape === 'string' ? typeof v === 'string' : Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** JSON text of a record with its routing fields first (the rest keep their order). */
export function encodeRecord(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const rec = value as Record<string, unknown>;
  if (typeof rec.id !== 'string') return JSON.stringify(value);
  const head: Record<string, unknown> = {};
  for (const [f, shape] of HEADER_FIELDS) if (headerValue(rec[f], shape)) head[f] = rec[f];
  // Spread keeps the header keys where they were first defined (at the front).
  return JSON.stringify({ ...head, ...rec });
}

const COMMA = 0x2c;
const CLOSE = 0x7d;
const QUOTE = 0x22;
const CLOSE_BRACKET = 0x5d;
/** What precedes each header value: `{"id":"`, then `,"network_id":"`, ..., `,"security_groups":[` */
const LEADS = HEADER_FIELDS.map(([f, shape], i) => `${i === 0 ? '{' : ','}"${f}":${shape === 'string' ? '"' : '['}`);

/** The plain string starting at `start` (after its opening quote): [value, index after the closing quote]. */
function plainString(text: string, start: number): [string, number] | undefined {
  const end = text.indexOf('"', start);
  // No closing quote, or an escape inside the value (the header is short: the backward scan
  // stops at the start of the text, a few hundred characters at most).
  if (end < 0 || text.lastIndexOf('\\', end) >= start) return undefined;
  return [text.slice(start, end), end + 1];
}

/**
 * The routing fields at the front of a stored record, or undefined if the text does not start
 * the way `encodeRecord` writes it or lacks one of `required` there (then parse the whole
 * record: a field missing from the header may still be further on, e.g. in an older layout).
 */
export function peekHeader(text: string, required: readonly HeaderField[] = []): RecordHeader | undefined {
  if (!text.startsWith(LEADS[0])) return undefined;
  const header: Record<string, string | string[]> = {};
  let pos = 0;
  for (let f = 0; f < LEADS.length; f++) {
    const lead = LEADS[f];
    if (!text.startsWith(lead, pos)) continue; // an optional field this record does not have
    const [name, shape] = HEADER_FIELDS[f];
    pos += lead.length;
    if (shape === 'string') {
      const got = plainString(text, pos);
      if (!got) return undefined;
      header[name] = got[0];
      pos = got[1];
      continue;
    }
    const items: string[] = [];
    if (text.charCodeAt(pos) === CLOSE_BRACKET) pos++;
    else {
      for (;;) {
        if (text.charCodeAt(pos) !== QUOTE) return undefined;
        const got = plainString(text, pos + 1);
        if (!got) return undefined;
        items.push(got[0]);
        pos = got[1];
        const c = text.charCodeAt(pos++);
        if (c === CLOSE_BRACKET) break;
        if (c !== COMMA) return undefined;
      }
    }
    header[name] = items;
  }
  // The header must be followed by another field or the end of the object.
  const next = text.charCodeAt(pos);
  if (next !== COMMA && next !== CLOSE) return undefined;
  for (const f of required) if (header[f] === undefined) return undefined;
  return header as unknown as RecordHeader;
}
