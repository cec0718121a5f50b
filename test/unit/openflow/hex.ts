// Annotated hex → Buffer. `# comment` runs to the next `|` or end of line; whitespace and `|` are ignored.
// Used to write expected bytes by hand, independent of the production writer.
export function hex(strings: TemplateStringsArray | string, ...values: unknown[]): Buffer {
  const text = typeof strings === 'string' ? strings : String.raw(strings, ...values);
  const clean = text
    .split('\n')
    .map((l) => l.replace(/#[^|]*/g, ''))
    .join('')
    .replace(/[\s|]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad fixture hex: ${clean}`);
  return Buffer.from(clean, 'hex');
}
