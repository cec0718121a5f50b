/** A `wyvern` subcommand: each lives in its own file and registers itself in main.ts. */
export interface Command {
  readonly name: string;
  /** One line for `wyvern --help`. */
  readonly summary: string;
  /** Full usage text for `wyvern NAME --help`. */
  readonly usage: string;
  /** Runs the command; resolves with the process exit code. Long-running commands resolve on stop. */
  run(argv: readonly string[]): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string | true>;
  readonly positional: readonly string[];
  /** Everything after a bare `--`. */
  readonly rest: readonly string[];
}

/**
 * Parse `--flag value`, `--flag=value` and boolean `--flag`. `booleans` names flags that never
 * take a value. Unknown flags are an error so typos do not pass silently.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { readonly values?: readonly string[]; readonly booleans?: readonly string[] },
): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const booleans = new Set([...(spec.booleans ?? []), 'help']);
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (booleans.has(name)) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        flags.set(name, true);
      } else if (values.has(name)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else {
      positional.push(arg);
    }
  }
  return { flags, positional, rest };
}

export function flagString(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}
