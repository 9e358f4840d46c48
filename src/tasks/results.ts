/** A task's result as the submitter builds it from a worker's answer, and as people and the API read it. */
import { TaskResponse } from '../messages/tasks.js'
import type { TaskResult, TaskResultView } from './types.js'

const { Status } = TaskResponse

/**
 * The result of an attempt the worker answered with OK or ERROR. The answer came over an authenticated stream
 * from `worker` (or from this node's own executor): that is the worker named.
 */
export function answered (id: string, type: string, res: TaskResponse, at: { attempts: number, durationMs: number, worker: string, workerName?: string }): TaskResult {
  const ok = res.status === Status.OK
  return {
    id, type, ok, worker: at.worker, workerName: at.workerName, attempts: at.attempts,
    durationMs: at.durationMs, queueMs: res.queueMs, runMs: res.runMs, reward: Number(res.reward),
    output: ok ? res.result : undefined, error: ok ? undefined : res.error, duplicate: res.duplicate
  }
}

/** output as text when it is valid UTF-8, else as base64 */
export function resultView (r: TaskResult): TaskResultView {
  const { output, ...rest } = r
  if (output == null) return rest
  try {
    return { ...rest, output: new TextDecoder('utf-8', { fatal: true }).decode(output) }
  } catch {
    return { ...rest, outputBase64: Buffer.from(output).toString('base64') }
  }
}
