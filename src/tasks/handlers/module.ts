import { MessageChannel } from 'node:worker_threads'
import { formatByteSize } from '../../config/schema.js'
import { HandlerError, lazyPool, type Handler } from './handler.js'
import type { ModuleJob, ModuleMessage, ModuleResult } from './module-worker.js'
import type { HandlerConfig } from '../../config/types.js'
import type { Logger } from '../../util/logger.js'

/** after an abort, how long a module has to return on its own before its thread is stopped */
const ABORT_GRACE_MS = 1000

export interface ModuleHandler extends Handler {
  close: () => Promise<void>
}

/**
 * A configured JavaScript handler: `run(payload, ctx)` of the user's module, on its own pool of worker threads
 * (never on the node's event loop), each thread's heap capped at `max_memory`. A throw is a task error; a
 * module that ignores its signal past the timeout or a cancel has its thread stopped; one that runs out of
 * memory loses its thread. Either way the pool starts a fresh thread for the next task.
 */
export function moduleHandler (type: string, cfg: HandlerConfig & { module: string }, baseEnv: Record<string, string | undefined>, logger: Logger): ModuleHandler {
  const pool = lazyPool('module-worker.js', cfg.threads, {
    env: { ...baseEnv, ...cfg.env },
    resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(cfg.maxMemory / 1024 ** 2)), stackSizeMb: 4 }
  })
  const log = logger.child({ c: 'module', type })
  return {
    type,
    capability: cfg.capability,
    timeoutMs: cfg.timeoutMs,
    async run (ctx) {
      const { port1, port2 } = new MessageChannel()
      port1.on('message', (m: ModuleMessage) => {
        if ('progress' in m) ctx.progress(m.progress)
        else if ('log' in m) log[m.log]({ task: ctx.id, ...m.fields }, m.msg)
      })
      // an abort first asks the module (ctx.signal); a module that does not return in time loses its thread
      const stop = new AbortController()
      let grace: NodeJS.Timeout | undefined
      const onAbort = (): void => {
        port1.postMessage('abort')
        grace = setTimeout(() => { stop.abort(ctx.signal.reason) }, ABORT_GRACE_MS)
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
      const job: ModuleJob = { module: cfg.module, taskId: ctx.id, type, payload: ctx.payload, params: ctx.params, maxOutput: cfg.maxOutput, port: port2 }
      try {
        const result: ModuleResult = await pool.get().run(job, { transferList: [port2] as any, signal: stop.signal })
        return result.output
      } catch (err: any) {
        if (err?.code === 'ERR_WORKER_OUT_OF_MEMORY' || /memory limit/i.test(String(err?.message))) {
          throw new HandlerError(`out of memory: the handler passed its max_memory of ${formatByteSize(cfg.maxMemory)} (its thread was stopped)`)
        }
        if (stop.signal.aborted) throw new HandlerError(`the handler did not return within ${ABORT_GRACE_MS} ms of being aborted; its thread was stopped`)
        throw new HandlerError(`${cfg.module.split('/').at(-1)}: ${String(err?.message ?? err)}`)
      } finally {
        clearTimeout(grace)
        ctx.signal.removeEventListener('abort', onAbort)
        port1.close()
      }
    },
    close: pool.close
  }
}
