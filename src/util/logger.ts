import pino, { type Logger } from 'pino'
import { createRequire } from 'node:module'
import { Ring } from './ring.js'

export type { Logger }

export interface LoggerOptions {
  level: string
  /** pretty, human-readable lines (a TTY); otherwise one JSON object per line */
  pretty: boolean
  name?: string
  /** also keep the latest lines here (GET /api/logs) */
  ring?: LogRing
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/**
 * The latest log lines, kept as they were written (bounded by count and by line length; parsed only when
 * read), for `GET /api/logs`.
 */
export class LogRing {
  private readonly lines: Ring<string>
  constructor (keep = 500, private readonly maxLine = 4096) {
    this.lines = new Ring(keep)
  }

  /** a pino destination */
  write (line: string): void {
    this.lines.push(line.length > this.maxLine ? line.slice(0, this.maxLine) : line)
  }

  /** the kept lines at `level` or above, oldest first (a cut line comes back as its message only) */
  read (level = 'trace'): Array<Record<string, unknown>> {
    const min = LEVELS[level] ?? 10
    return this.lines.toArray().flatMap(l => {
      let entry: Record<string, unknown>
      try { entry = JSON.parse(l) } catch { entry = { level: Number(/"level":(\d+)/.exec(l)?.[1] ?? 30), msg: l.slice(0, 200) + ' …(cut)' } }
      return (entry.level as number) >= min ? [entry] : []
    })
  }
}

/**
 * Resolves the log level from config and environment: DEBUG implies VERBOSE, VERBOSE means debug,
 * LOG_LEVEL overrides the config file. Pure, so the CLI is the only reader of process.env.
 */
export function resolveLogLevel (configLevel: string, env: Record<string, string | undefined>): string {
  if (env.LOG_LEVEL != null && env.LOG_LEVEL !== '') return env.LOG_LEVEL
  if (isSet(env.DEBUG)) return 'trace'
  if (isSet(env.VERBOSE)) return 'debug'
  return configLevel
}

function isSet (v: string | undefined): boolean {
  return v != null && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
}

export function createLogger (opts: LoggerOptions): Logger {
  const base = { level: opts.level, name: opts.name }
  // logs go to stderr so that stdout stays for command output (REPL, --json)
  const out = opts.pretty ? prettyStream() : pino.destination({ fd: 2, sync: false })
  if (opts.ring == null) return pino(base, out)
  const level = opts.level as pino.Level
  return pino(base, pino.multistream([{ level, stream: out }, { level, stream: opts.ring }]))
}

/** human-readable lines on stderr; loaded only on a terminal: a pod never pays for it */
function prettyStream (): NodeJS.WritableStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
  return pretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })
}
