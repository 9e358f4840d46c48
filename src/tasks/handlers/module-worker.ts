// Runs in a worker thread (piscina), never on the node's event loop: loads a user's handler module once per
// thread and calls its `run(payload, ctx)`. Talks to the node only through the task's MessagePort: progress
// messages and log lines out, an abort in. Kept free of our other modules so it loads fast in every thread.
import { pathToFileURL } from 'node:url'
import type { MessagePort } from 'node:worker_threads'

export interface ModuleJob {
  module: string
  taskId: string
  type: string
  payload: Uint8Array
  params: Record<string, string>
  maxOutput: number
  port: MessagePort
}

/** what crosses back to the node: the result as bytes (a string or a JSON value is encoded here) */
export interface ModuleResult { output: Uint8Array }

/** a message on the task's port, thread -> node */
export type ModuleMessage = { progress: string | Uint8Array } | { log: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown> }

type Run = (payload: Uint8Array, ctx: unknown) => unknown
const loaded = new Map<string, Promise<Run>>()

async function load (path: string): Promise<Run> {
  const mod = await import(pathToFileURL(path).href)
  const run = mod.run ?? mod.default?.run ?? (typeof mod.default === 'function' ? mod.default : undefined)
  if (typeof run !== 'function') throw new Error(`${path} exports no run function (export async function run (payload, ctx) { … })`)
  return run
}

const MAX_PROGRESS = 16 * 1024

export default async function runModule (job: ModuleJob): Promise<ModuleResult> {
  const { port } = job
  const ac = new AbortController()
  port.on('message', (m: unknown) => { if (m === 'abort') ac.abort(new Error('aborted')) })
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: unknown, fields?: Record<string, unknown>): void => {
    port.postMessage({ log: level, msg: String(msg), fields: fields != null && typeof fields === 'object' ? fields : undefined } satisfies ModuleMessage)
  }
  const ctx = Object.freeze({
    taskId: job.taskId,
    type: job.type,
    params: Object.freeze({ ...job.params }),
    signal: ac.signal,
    progress (msg: unknown): void {
      if (ac.signal.aborted) return
      const value = msg instanceof Uint8Array ? msg.subarray(0, MAX_PROGRESS) : String(msg).slice(0, MAX_PROGRESS)
      port.postMessage({ progress: value } satisfies ModuleMessage)
    },
    log: Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') })
  })
  try {
    let run = loaded.get(job.module)
    if (run == null) {
      loaded.set(job.module, run = load(job.module))
      run.catch(() => { loaded.delete(job.module) })
    }
    const value = await (await run)(job.payload, ctx)
    const output = value instanceof Uint8Array
      ? value
      : new TextEncoder().encode(typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value))
    if (output.byteLength > job.maxOutput) throw new Error(`output larger than ${job.maxOutput} bytes (max_output)`)
    return { output }
  } finally {
    port.close()
  }
}
