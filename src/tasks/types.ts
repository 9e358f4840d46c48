/** What a caller asks for. */
export interface TaskSpec {
  type: string
  payload: Uint8Array
  /** credits paid to the worker that completes it */
  reward?: number
  /** per-attempt timeout (ms) */
  timeoutMs?: number
  /** overall deadline for all attempts (ms from submission) */
  deadlineMs?: number
  /** only workers that advertise this capability */
  capability?: string
  /** run on every capable worker, one result each */
  broadcast?: boolean
  maxRetries?: number
  params?: Record<string, string>
  /** reuse an id (idempotent resubmission); a new one is made otherwise */
  id?: string
}

export type AttemptFailure = 'timeout' | 'disconnect' | 'busy' | 'rejected' | 'not_found' | 'worker_timeout'

export interface TaskResult {
  id: string
  type: string
  ok: boolean
  /** worker peer id and name that produced the result */
  worker?: string
  workerName?: string
  attempts: number
  durationMs: number
  queueMs?: number
  runMs?: number
  reward: number
  output?: Uint8Array
  error?: string
  duplicate?: boolean
}

export type TaskState = 'pending' | 'running' | 'done' | 'failed'

/** One entry of the `tasks` list and GET /api/tasks/<id>. */
export interface TaskRecord {
  id: string
  type: string
  state: TaskState
  submittedAt: number
  broadcast: boolean
  attempts: number
  results: TaskResultView[]
  error?: string
}

/** A result as shown to people and over JSON: output as text when it is UTF-8, else base64. */
export interface TaskResultView extends Omit<TaskResult, 'output'> {
  output?: string
  outputBase64?: string
}

