import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { InstallationError } from '../../util/errors.js'
import type { TaskSpec } from '../types.js'

export interface HandlerContext {
  id: string
  payload: Uint8Array
  params: Record<string, string>
  /** aborted when the attempt's time is up, its submitter cancels it, or the node stops (the reason says which) */
  signal: AbortSignal
  /** output as it is produced, for a submitter that follows the task (a no-op otherwise); never blocks */
  progress: (msg: string | Uint8Array) => void
  /** someone follows this task: progress is worth producing */
  followed: boolean
  /** submit a task from inside a handler (storage replication) */
  submit: (spec: TaskSpec & { exclude?: string[] }) => Promise<{ ok: boolean, worker?: string, error?: string }>
  selfPeerId: string
}

export interface Handler {
  type: string
  /** the capability a worker needs to run it; undefined: every worker runs it */
  capability?: string
  /** hidden from `capabilities` (internal types such as storage.replicate) */
  internal?: boolean
  /** the handler's own time limit, if stricter than the request's */
  timeoutMs?: number
  run: (ctx: HandlerContext) => Promise<Uint8Array>
}

/** the handler ran and failed: the task fails, retrying elsewhere would not help */
export class HandlerError extends Error {
  override name = 'HandlerError'
}

/** this worker does not hold what was asked for; another may */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const json = (v: unknown): Uint8Array => text(JSON.stringify(v))

/**
 * A pool of worker threads running `file` (one of ours, see threadFile), started on the first task. No thread is
 * kept while idle: each holds its own V8 heap (tens of MiB of RSS); after a minute without tasks they go, and the
 * next task pays for starting one again (tens of ms).
 */
export function lazyPool (file: string, maxThreads: number, options: Partial<ConstructorParameters<typeof Piscina>[0]> = {}): { get: () => Piscina, close: () => Promise<void>, started: () => Piscina | undefined } {
  let pool: Piscina | undefined
  return {
    get: () => (pool ??= new Piscina({ filename: threadFile(file), minThreads: 0, maxThreads, idleTimeout: 60_000, ...options })),
    close: async () => { await pool?.destroy() },
    started: () => pool
  }
}

/** a worker-thread file of ours: next to this module (tsc output) or in tasks/handlers/ beside the bundle */
export function threadFile (name: string): string {
  for (const rel of [`./${name}`, `./tasks/handlers/${name}`]) {
    const path = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new InstallationError(`${name} not found next to the program; run npm run build`)
}
