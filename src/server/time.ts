/** Neutron's timestamp format: seconds precision, `Z` (same as app.ts's `timestamp`). */
export function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
