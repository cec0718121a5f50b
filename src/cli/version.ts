import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package version (package.json beside the sources or beside dist/). */
export function version(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(path.join(here, rel), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout (source tree vs dist/)
    }
  }
  return 'unknown';
}
