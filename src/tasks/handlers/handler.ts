import type { TaskSpec } from '../types.js'

export interface HandlerContext {
  id: string
  payload: Uint8Array
  params: Record<string, string>
  /** aborted when the attempt's time is up or the node stops */
  signal: AbortSignal
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
