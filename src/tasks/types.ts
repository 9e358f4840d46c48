import type { TaskResultView } from '../messages/api.js'
export type { TaskState, TaskRecord, TaskOutput, TaskResultView } from '../messages/api.js'
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

/** a result as the submitter holds it: the output as bytes (TaskResultView, in messages/api.ts, is how it is shown) */
export interface TaskResult extends Omit<TaskResultView, 'output' | 'outputBase64'> {
  output?: Uint8Array
}






/**
 * Types handlers submit to one another (storage.replicate): the handlers' business, not the operator's, so they
 * are left out of `tasks`, `capabilities`, the node's events and "no worker offers" hints. The one rule for it.
 */
export function isInternalType (type: string): boolean { return type.endsWith('.replicate') }

/**
 * The capability a task needs, as the backlog metric labels it (p2p_task_backlog{capability}): the one it names,
 * else the built-in types' own (compute, storage), `any` for echo (every worker runs it), else its type (a
 * configured handler's capability is its type unless its config says otherwise).
 */
export function capabilityOfTask (type: string, capability?: string): string {
  if (capability != null) return capability
  if (type === 'compute') return 'compute'
  if (type.startsWith('storage.')) return 'storage'
  return type === 'echo' ? 'any' : type
}
