import pino, { type Logger } from 'pino'
import { createRequire } from 'node:module'

export type { Logger }

export interface LoggerOptions {
  level: string
  /** pretty, human-readable lines (a TTY); otherwise one JSON object per line */
  pretty: boolean
  name?: string
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
  if (opts.pretty) {
    // loaded only on a terminal: a pod never pays for it
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
    return pino(base, pretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }))
  }
  return pino(base, pino.destination({ fd: 2, sync: false }))
}
