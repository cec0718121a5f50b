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

/** The routing fields, in their stored order. */
const HEADER_FIELDS = ['id', 'network_id', 'device_owner', 'device_id'] as const;

export interface RecordHeader {
  readonly id: string;
  readonly network_id?: string;
  readonly device_owner?: string;
  readonly device_id?: string;
}

/** JSON text of a record with its routing fields first (the rest keep their order). */
export function encodeRecord(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const rec = value as Record<string, unknown>;
  if (typeof rec.id !== 'string') return JSON.stringify(value);
  const head: Record<string, unknown> = {};
  for (const f of HEADER_FIELDS) if (typeof rec[f] === 'string') head[f] = rec[f];
  // Spread keeps the header keys where they were first defined (at the front).
  return JSON.stringify({ ...head, ...rec });
}

const COMMA = 0x2c;
const CLOSE = 0x7d;
/** What precedes each header value: `{"id":"`, then `,"network_id":"`, ... */
const LEADS = HEADER_FIELDS.map((f, i) => `${i === 0 ? '{' : ','}"${f}":"`);

export type HeaderField = (typeof HEADER_FIELDS)[number];

/**
 * The routing fields at the front of a stored record, or undefined if the text does not start
 * the way `encodeRecord` writes it or lacks one of `required` there (then parse the whole
 * record: a field missing from the header may still be further on, e.g. in an older layout).
 */
export function peekHeader(text: string, required: readonly HeaderField[] = []): RecordHeader | undefined {
  if (!text.startsWith(LEADS[0])) return undefined;
  const values: (string | undefined)[] = [undefined, undefined, undefined, undefined];
  let pos = 0;
  for (let f = 0; f < LEADS.length; f++) {
    const lead = LEADS[f];
    if (!text.startsWith(lead, pos)) continue; // an optional field this record does not have
    const start = pos + lead.length;
    const end = text.indexOf('"', start);
    // No closing quote, or an escape inside the value (the header is short: the backward scan
    // stops at the start of the text, a few hundred characters at most).
    if (end < 0 || text.lastIndexOf('\\', end) >= start) return undefined;
    values[f] = text.slice(start, end);
    pos = end + 1;
  }
  // The header must be followed by another field or the end of the object.
  const next = text.charCodeAt(pos);
  if (next !== COMMA && next !== CLOSE) return undefined;
  const header = { id: values[0]!, network_id: values[1], device_owner: values[2], device_id: values[3] };
  for (const f of required) if (header[f] === undefined) return undefined;
  return header;
}
