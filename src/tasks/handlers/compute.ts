import { HandlerError, json, lazyPool, type Handler } from './handler.js'

export const DEFAULT_COST = 10_000
export const MAX_COST = 100_000_000

export interface ComputeHandler extends Handler {
  close: () => Promise<void>
  /** threads busy or waiting */
  pending: () => number
}

/**
 * `compute`: iterated SHA-256 over the payload, `cost` iterations (param, default 10,000), on a pool of
 * worker threads so heartbeats and other tasks never wait for it.
 */
export function computeHandler (threads: number): ComputeHandler {
  const pool = lazyPool('compute-worker.js', threads)
  return {
    type: 'compute',
    capability: 'compute',
    async run (ctx) {
      const cost = ctx.params.cost == null ? DEFAULT_COST : Number(ctx.params.cost)
      if (!Number.isInteger(cost) || cost < 1 || cost > MAX_COST) throw new HandlerError(`cost must be an integer from 1 to ${MAX_COST}`)
      const digest: string = await pool.get().run({ payload: ctx.payload, iterations: cost }, { signal: ctx.signal })
      return json({ algorithm: 'sha256-iterated', iterations: cost, digest })
    },
    close: pool.close,
    pending: () => { const p = pool.started(); return p == null ? 0 : p.queueSize + p.utilization * threads }
  }
}
