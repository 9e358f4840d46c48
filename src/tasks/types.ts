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
  /** ask workers for output as it is produced (command stdout lines, module progress messages) */
  follow?: boolean
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
  /** stopped by a cancel (queued or running) */
  cancelled?: boolean
}

export type TaskState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled'

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
  /** when it ended (done, failed, cancelled) */
  finishedAt?: number
  /** times this node took it up again after a restart (accepted with wait: false, unfinished when the node died) */
  resumed?: number
  /** accepted with wait: false (nobody waited for it): resumed after a restart, and kept apart from the records of waited-for tasks */
  detached?: boolean
  /** tasks accepted with wait: false: the workers an attempt went to (peer ids), so a resumed task goes back there first */
  sentTo?: string[]
}

/** one piece of a followed task's output, as `task --follow` and GET /api/tasks/<id>/events give it */
export interface TaskOutput {
  /** 1, 2, … per task on this node */
  seq: number
  /** the worker's name (or peer id) */
  worker: string
  text: string
  /** pieces lost before this one because a reader or the worker's stream was behind */
  dropped: number
}

/** A result as shown to people and over JSON: output as text when it is UTF-8, else base64. */
export interface TaskResultView extends Omit<TaskResult, 'output'> {
  output?: string
  outputBase64?: string
}


/**
 * Types handlers submit to one another (storage.replicate): the handlers' business, not the operator's, so they
 * are left out of `tasks`, `capabilities`, the node's events and "no worker offers" hints. The one rule for it.
 */
export function isInternalType (type: string): boolean { return type.endsWith('.replicate') }
