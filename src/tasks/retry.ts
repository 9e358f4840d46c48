import type { AttemptFailure } from './types.js'

export interface RetryPolicy {
  maxRetries: number
  /** first backoff (ms); doubles per retry */
  baseDelayMs: number
  maxDelayMs: number
}

export type RetryDecision = { retry: true, delayMs: number } | { retry: false, reason: string }

/** failures where another worker may well succeed */
const RETRYABLE: Record<AttemptFailure, boolean> = {
  timeout: true, disconnect: true, busy: true, rejected: true, not_found: true, worker_timeout: true
}

/**
 * After a failed attempt: retry on another worker with backoff, or give up. `attempt` counts from 1.
 * A busy or rejecting worker costs nothing to skip, so those retry at once; a timeout or a lost worker backs
 * off. The overall deadline always wins.
 */
export function nextAttempt (failure: AttemptFailure, attempt: number, policy: RetryPolicy, now: number, deadline: number): RetryDecision {
  if (!RETRYABLE[failure]) return { retry: false, reason: failure }
  if (attempt > policy.maxRetries) return { retry: false, reason: `gave up after ${attempt} attempts (last: ${failure})` }
  const immediate = failure === 'busy' || failure === 'rejected' || failure === 'not_found'
  const delayMs = immediate ? 0 : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  if (now + delayMs >= deadline) return { retry: false, reason: `deadline passed (last: ${failure})` }
  return { retry: true, delayMs }
}
