/**
 * The attempt machine of one task on one worker slot (a broadcast runs one per target): which worker the next
 * attempt goes to, and what a finished attempt means — done, retry (after how long), wait for room, or give up
 * and why. Pure: the candidates, the outcome and the time come in, a decision goes out. The submitter
 * (submitter.ts) is the shell that sends the attempts, sleeps and keeps the books; this file is its rules, with
 * the table in test/unit/attempts.test.ts.
 *
 * The rules:
 * - a pinned attempt (a broadcast's target) goes only there; a resumed task goes back first to the workers it
 *   was sent to before a restart (one that ran it answers from its deduplication cache); otherwise the scheduler
 *   picks among the capable workers not tried yet (pickWorker: connected first, then room, distance, load)
 * - no capable worker at all: give up; capable workers but none with room: wait for a slot (not an attempt)
 * - OK or ERROR from the worker is the task's answer; CANCELLED ends it as cancelled
 * - busy and not-found answers retry at once and are bounded by the deadline, not by max_retries (a full
 *   queue is not the task's fault); not-found from every capable worker gives up (no worker has it)
 * - rejected (and a wrong answer, which counts as rejected) retries at once, within max_retries
 * - a timeout or a lost worker backs off (100 ms doubling to 2 s), within max_retries
 * - the deadline always wins: no retry that would start after it
 */
import { TaskResponse } from '../messages/tasks.js'
import { capable, pickWorker, type Candidate } from './scheduler.js'
import { answerProblem } from './verify.js'
import { exponentialDelay } from '../util/backoff.js'
import type { AttemptFailure } from './types.js'

export interface RetryPolicy {
  maxRetries: number
  /** first backoff (ms); doubles per retry */
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_POLICY: Omit<RetryPolicy, 'maxRetries'> = { baseDelayMs: 100, maxDelayMs: 2000 }

/** what one task's attempts are bound by */
export interface AttemptPlan {
  type: string
  capability?: string
  /** per-attempt timeout (ms) */
  timeoutMs: number
  maxRetries: number
  /** absolute time (ms, the submitter's clock) after which nothing is sent */
  deadline: number
  /** a broadcast's target: every attempt goes there */
  pinned?: string
  /** never used for this task (replication must land elsewhere) */
  banned: ReadonlySet<string>
  /** where a resumed task was sent before a restart */
  sentTo?: readonly string[]
}

/** the attempts so far */
export interface AttemptState {
  /** attempts sent, counted from 1 once the first is sent */
  attempt: number
  /** workers this task was sent to; used again only when the scheduler has nothing else */
  tried: Set<string>
  /** the worker tried last: where a task that failed was when it gave up */
  last?: string
}

export const initialAttempts = (): AttemptState => ({ attempt: 0, tried: new Set() })

export type Choice =
  | { kind: 'send', target: string, timeoutMs: number }
  /** capable workers exist but none has room: wait for a slot (no attempt is spent) */
  | { kind: 'wait' }
  | { kind: 'give-up', error: string }

/** Where the next attempt goes. Marks the target as tried and counts the attempt when it is `send`. */
export function chooseTarget (s: AttemptState, plan: AttemptPlan, candidates: Candidate[], now: number): Choice {
  const usable = candidates.filter(c => !plan.banned.has(c.peerId))
  const able = usable.filter(c => capable(c, plan.type, plan.capability))
  const back = plan.pinned == null ? plan.sentTo?.find(p => !s.tried.has(p) && able.some(c => c.peerId === p)) : undefined
  const target = plan.pinned ?? back ?? pickWorker(usable, { type: plan.type, capability: plan.capability, exclude: s.tried, now })?.peerId
  if (target == null) return able.length === 0 ? { kind: 'give-up', error: 'no capable worker left' } : { kind: 'wait' }
  s.attempt++
  s.tried.add(target)
  s.last = target
  return { kind: 'send', target, timeoutMs: Math.max(1, Math.min(plan.timeoutMs, plan.deadline - now)) }
}

/** how an attempt ended, as the machine needs it */
export type Outcome =
  /** the worker's answer to the task: a result (OK or ERROR), or it cancelled the task */
  | { kind: 'answer', status: 'ok' | 'error' | 'cancelled' }
  /** the worker answered without a result (busy, not found, its own timeout, rejected), or with a wrong one (rejected) */
  | { kind: 'refused', failure: 'busy' | 'not_found' | 'worker_timeout' | 'rejected', error: string }
  /** no answer: the attempt timed out, the connection went, or the worker could not be reached */
  | { kind: 'failed', failure: AttemptFailure, error: string, unreachable?: boolean }

/** what one attempt came back with: the worker's answer, or why there was none */
export type Sent = { response: TaskResponse } | { failure: AttemptFailure, error: string, unreachable?: boolean }

const { Status } = TaskResponse
const REFUSAL_OF: Partial<Record<TaskResponse.Status, 'busy' | 'not_found' | 'worker_timeout' | 'rejected'>> = {
  [Status.BUSY]: 'busy', [Status.NOT_FOUND]: 'not_found', [Status.TIMEOUT]: 'worker_timeout', [Status.REJECTED]: 'rejected'
}

/**
 * What an attempt's answer (or its failure) means to the machine. An OK answer that is wrong for the task
 * (verify.ts) is refused as `rejected`, with the `problem` for the submitter to count and log.
 */
export function outcomeOf (sent: Sent, type: string, payload: Uint8Array): { outcome: Outcome, problem?: string } {
  if (!('response' in sent)) return { outcome: { kind: 'failed', failure: sent.failure, error: sent.error, unreachable: sent.unreachable } }
  const res = sent.response
  if (res.status === Status.CANCELLED) return { outcome: { kind: 'answer', status: 'cancelled' } }
  if (res.status === Status.ERROR) return { outcome: { kind: 'answer', status: 'error' } }
  if (res.status === Status.OK) {
    const problem = answerProblem(type, payload, res.result)
    return problem == null ? { outcome: { kind: 'answer', status: 'ok' } } : { outcome: { kind: 'refused', failure: 'rejected', error: problem }, problem }
  }
  return { outcome: { kind: 'refused', failure: REFUSAL_OF[res.status] ?? 'rejected', error: res.error } }
}

/** what the submitter does about the worker the attempt went to */
export type WorkerMark = 'reached' | 'busy' | 'not-reached'

export type Decision =
  | { kind: 'answer' }
  | { kind: 'cancelled' }
  | { kind: 'retry', failure: AttemptFailure, delayMs: number }
  | { kind: 'fail', error: string }

/**
 * After an attempt to `target`: the decision, and the marks for the worker book. `able` is the capable workers
 * known now (for "no worker has it"); `cancelled` is whether the task was cancelled meanwhile.
 */
export function afterAttempt (s: AttemptState, plan: AttemptPlan, outcome: Outcome, able: Candidate[], now: number, cancelled = false): { decision: Decision, marks: WorkerMark[] } {
  if (outcome.kind === 'answer' && outcome.status === 'cancelled') return { decision: { kind: 'cancelled' }, marks: [] }
  if (cancelled) return { decision: { kind: 'cancelled' }, marks: [] }
  if (outcome.kind === 'answer') return { decision: { kind: 'answer' }, marks: ['reached'] }
  const { failure, error } = outcome
  const marks: WorkerMark[] = []
  if (outcome.kind === 'refused') {
    // it answered: it is reachable (and a busy one is skipped for a while)
    marks.push('reached')
    if (failure === 'busy') marks.push('busy')
  } else if (failure === 'disconnect' || outcome.unreachable === true) {
    // a worker we cannot reach (or that does not speak the task protocol it advertises) is likely dead or lying
    marks.push('not-reached')
  }
  // a blob missing everywhere will not appear by asking again
  if (failure === 'not_found' && able.filter(c => !plan.banned.has(c.peerId)).every(c => s.tried.has(c.peerId))) {
    return { decision: { kind: 'fail', error: `${error} (no worker has it)` }, marks }
  }
  const budget = failure === 'busy' || failure === 'not_found' ? Number.MAX_SAFE_INTEGER : plan.maxRetries
  const next = nextAttempt(failure, s.attempt, { ...DEFAULT_POLICY, maxRetries: budget }, now, plan.deadline)
  return { decision: next.retry ? { kind: 'retry', failure, delayMs: next.delayMs } : { kind: 'fail', error: `${error} (${next.reason})` }, marks }
}

export type RetryDecision = { retry: true, delayMs: number } | { retry: false, reason: string }

/**
 * After a failed attempt: retry with backoff, or give up. `attempt` counts from 1. A busy or rejecting worker
 * costs nothing to skip, so those retry at once; a timeout or a lost worker backs off. The deadline always wins.
 */
export function nextAttempt (failure: AttemptFailure, attempt: number, policy: RetryPolicy, now: number, deadline: number): RetryDecision {
  if (attempt > policy.maxRetries) return { retry: false, reason: `gave up after ${attempt} attempts (last: ${failure})` }
  const immediate = failure === 'busy' || failure === 'rejected' || failure === 'not_found'
  const delayMs = immediate ? 0 : exponentialDelay(attempt - 1, policy.baseDelayMs, policy.maxDelayMs)
  if (now + delayMs >= deadline) return { retry: false, reason: `deadline passed (last: ${failure})` }
  return { retry: true, delayMs }
}

/** the overall deadline of a task accepted at `submittedAt`: its own, or every attempt's timeout plus a second */
export function deadlineOf (submittedAt: number, timeoutMs: number, maxRetries: number, deadlineMs?: number): number {
  return submittedAt + (deadlineMs ?? timeoutMs * (maxRetries + 1) + 1000)
}
