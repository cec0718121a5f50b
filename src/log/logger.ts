/**
 * Structured logs through pino: one JSON object per line (level, time, pid, the component and
 * what happened), or, with `--log-format text` (the sandbox's default), one human-readable line
 * per event through pino-pretty. Logs go to stderr: stdout carries the lines other programs wait
 * for (`listening on URL`, `ready: chassis ...`, `metrics: URL`).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'json' | 'text';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Component: `server`, `controller`. */
  readonly name: string;
  readonly format?: LogFormat;
  readonly level?: LevelWithSilent;
  /** Fields on every line (e.g. `chassis`). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Where lines go (default: stderr, written synchronously so nothing is lost on exit). */
  readonly destination?: NodeJS.WritableStream | number;
}

export function createLogger(o: LoggerOptions): Logger {
  const options = {
    name: o.name,
    level: o.level ?? 'info',
    base: { pid: process.pid, ...(o.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  const dest = o.destination ?? 2;
  if (o.format === 'text') {
    const stream = pretty({
      destination: dest,
      sync: true,
      colorize: false,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      singleLine: true,
    });
    return pino(options, stream);
  }
  return pino(options, typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest);
}
