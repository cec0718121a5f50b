/** `--log-format json|text` and `--log-level LEVEL`, shared by the long-running commands. */
import type { LevelWithSilent } from 'pino';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger } from '../log/logger.js';
import { flagString, UsageError, type ParsedArgs } from './command.js';

export const LOG_FLAGS = ['log-format', 'log-level'] as const;

export const LOG_USAGE = `  --log-format F         json (default: one JSON object per line) or text (one readable line)
  --log-level L          fatal, error, warn, info (default), debug, trace or silent`;

export function loggerFromArgs(args: ParsedArgs, name: string, base?: Record<string, unknown>): Logger {
  const format = flagString(args, 'log-format', 'json') as string;
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}`);
  const level = flagString(args, 'log-level', 'info') as string;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return createLogger({ name, format: format as LogFormat, level: level as LevelWithSilent, ...(base ? { base } : {}) });
}
