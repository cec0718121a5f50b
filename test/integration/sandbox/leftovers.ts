/** What a sandbox may have left behind: namespaces with its tag, processes naming its dir (argv or env). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface Leftovers {
  readonly netns: readonly string[];
  readonly pids: readonly number[];
  readonly dirExists: boolean;
}

export function leftovers(tag: string, dir: string): Leftovers {
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${tag}-`)) : [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (cmd.includes(dir) || env.includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return { netns, pids, dirExists: existsSync(dir) };
}

export const NOTHING_LEFT: Leftovers = { netns: [], pids: [], dirExists: false };

/** Wait until `check` holds (polling a real condition), or fail after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
