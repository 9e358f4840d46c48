import { describe, expect, it } from 'vitest'
import { TaskResponse } from '../../src/messages/tasks.js'
import { afterAttempt, chooseTarget, deadlineOf, initialAttempts, outcomeOf, type AttemptPlan, type AttemptState, type Outcome } from '../../src/tasks/attempts.js'
import type { Candidate } from '../../src/tasks/scheduler.js'

// The task attempt machine (src/tasks/attempts.ts): which worker the next attempt goes to and what a finished
// attempt means, as tables. The submitter that sends the attempts is tested with real nodes (test/e2e/tasks*).

const worker = (peerId: string, over: Partial<Candidate> = {}): Candidate => ({
  peerId, taskTypes: ['echo'], capabilities: [], alive: true, healthy: true, advertisedLoad: 0, maxConcurrency: 2, queueCapacity: 10, inFlight: 0, connected: true, ...over
})
const plan = (over: Partial<AttemptPlan> = {}): AttemptPlan => ({ type: 'echo', timeoutMs: 1000, maxRetries: 2, deadline: 10_000, banned: new Set(), ...over })
const state = (attempt: number, tried: string[] = []): AttemptState => ({ attempt, tried: new Set(tried), last: tried.at(-1) })

describe('chooseTarget: where the next attempt goes', () => {
  const cases: Array<[string, AttemptState, AttemptPlan, Candidate[], ReturnType<typeof chooseTarget>]> = [
    ['the only capable worker', state(0), plan(), [worker('a')], { kind: 'send', target: 'a', timeoutMs: 1000 }],
    ['a worker not tried yet before one tried', state(1, ['a']), plan(), [worker('a'), worker('b')], { kind: 'send', target: 'b', timeoutMs: 1000 }],
    ['a tried worker again when nothing else is left', state(1, ['a']), plan(), [worker('a')], { kind: 'send', target: 'a', timeoutMs: 1000 }],
    ['a broadcast target only, even if busy elsewhere', state(0), plan({ pinned: 'b' }), [worker('a'), worker('b')], { kind: 'send', target: 'b', timeoutMs: 1000 }],
    ['a resumed task back where it was sent before the restart', state(0), plan({ sentTo: ['c'] }), [worker('a'), worker('c', { advertisedLoad: 5 })], { kind: 'send', target: 'c', timeoutMs: 1000 }],
    ['not back to a worker it was sent to that is gone', state(0), plan({ sentTo: ['gone'] }), [worker('a')], { kind: 'send', target: 'a', timeoutMs: 1000 }],
    ['never to a banned worker (replication lands elsewhere)', state(0), plan({ banned: new Set(['a']) }), [worker('a'), worker('b')], { kind: 'send', target: 'b', timeoutMs: 1000 }],
    ['give up: only banned workers are capable', state(0), plan({ banned: new Set(['a']) }), [worker('a')], { kind: 'give-up', error: 'no capable worker left' }],
    ['give up: nobody offers the type', state(0), plan({ type: 'compute' }), [worker('a')], { kind: 'give-up', error: 'no capable worker left' }],
    ['give up: the only worker is unhealthy', state(0), plan(), [worker('a', { healthy: false })], { kind: 'give-up', error: 'no capable worker left' }],
    ['give up: the capability is missing', state(0), plan({ capability: 'gpu' }), [worker('a')], { kind: 'give-up', error: 'no capable worker left' }],
    ['wait: every capable worker is full (not an attempt)', state(0), plan(), [worker('a', { advertisedLoad: 12, inFlight: 12 })], { kind: 'wait' }],
    ['wait: the only worker is set aside by the circuit breaker', state(0), plan(), [worker('a', { setAsideUntil: 5000 })], { kind: 'wait' }],
    ['the attempt timeout is cut to the time left before the deadline', state(0), plan({ deadline: 400 }), [worker('a')], { kind: 'send', target: 'a', timeoutMs: 300 }],
    ['at least 1 ms when the deadline is here', state(0), plan({ deadline: 100 }), [worker('a')], { kind: 'send', target: 'a', timeoutMs: 1 }]
  ]
  it.each(cases)('%s', (_name, s, p, candidates, expected) => {
    const before = s.attempt
    const choice = chooseTarget(s, p, candidates, 100)
    expect(choice).toEqual(expected)
    if (choice.kind === 'send') {
      expect(s.attempt).toBe(before + 1)
      expect(s.tried.has(choice.target)).toBe(true)
      expect(s.last).toBe(choice.target)
    } else {
      expect(s.attempt).toBe(before)
    }
  })

  it('a worker with no connection only when no connected worker has room', () => {
    expect(chooseTarget(state(0), plan(), [worker('far', { connected: false }), worker('near')], 0)).toMatchObject({ target: 'near' })
    expect(chooseTarget(state(0), plan(), [worker('far', { connected: false }), worker('near', { advertisedLoad: 12, inFlight: 12 })], 0)).toMatchObject({ target: 'far' })
  })
})

describe('afterAttempt: what a finished attempt means', () => {
  const answer = (status: 'ok' | 'error' | 'cancelled'): Outcome => ({ kind: 'answer', status })
  const refused = (failure: 'busy' | 'not_found' | 'worker_timeout' | 'rejected'): Outcome => ({ kind: 'refused', failure, error: failure })
  const failed = (failure: 'timeout' | 'disconnect' | 'rejected', unreachable?: boolean): Outcome => ({ kind: 'failed', failure, error: failure, unreachable })
  const both = [worker('a'), worker('b')]
  const cases: Array<[string, AttemptState, AttemptPlan, Outcome, Candidate[], number, ReturnType<typeof afterAttempt>]> = [
    ['OK is the answer; the worker is reachable', state(1, ['a']), plan(), answer('ok'), both, 0, { decision: { kind: 'answer' }, marks: ['reached'] }],
    ['ERROR from the handler is the answer too (not retried)', state(1, ['a']), plan(), answer('error'), both, 0, { decision: { kind: 'answer' }, marks: ['reached'] }],
    ['the worker cancelled it', state(1, ['a']), plan(), answer('cancelled'), both, 0, { decision: { kind: 'cancelled' }, marks: [] }],
    ['busy: at once, and the worker is skipped a moment', state(1, ['a']), plan(), refused('busy'), both, 0, { decision: { kind: 'retry', failure: 'busy', delayMs: 0 }, marks: ['reached', 'busy'] }],
    ['busy is bounded by the deadline, not max_retries', state(50, ['a']), plan(), refused('busy'), both, 0, { decision: { kind: 'retry', failure: 'busy', delayMs: 0 }, marks: ['reached', 'busy'] }],
    ['busy past the deadline gives up', state(5, ['a']), plan({ deadline: 100 }), refused('busy'), both, 100, { decision: { kind: 'fail', error: 'busy (deadline passed (last: busy))' }, marks: ['reached', 'busy'] }],
    ['not found while another worker may have it: at once', state(1, ['a']), plan(), refused('not_found'), both, 0, { decision: { kind: 'retry', failure: 'not_found', delayMs: 0 }, marks: ['reached'] }],
    ['not found on every capable worker: no worker has it', state(2, ['a', 'b']), plan(), refused('not_found'), both, 0, { decision: { kind: 'fail', error: 'not_found (no worker has it)' }, marks: ['reached'] }],
    ['rejected: at once, within max_retries', state(1, ['a']), plan(), refused('rejected'), both, 0, { decision: { kind: 'retry', failure: 'rejected', delayMs: 0 }, marks: ['reached'] }],
    ['rejected past max_retries gives up', state(3, ['a', 'b', 'a']), plan(), refused('rejected'), both, 0, { decision: { kind: 'fail', error: 'rejected (gave up after 3 attempts (last: rejected))' }, marks: ['reached'] }],
    ["the worker's own timeout backs off", state(1, ['a']), plan(), refused('worker_timeout'), both, 0, { decision: { kind: 'retry', failure: 'worker_timeout', delayMs: 100 }, marks: ['reached'] }],
    ['a timeout backs off, doubling', state(2, ['a', 'b']), plan(), failed('timeout'), both, 0, { decision: { kind: 'retry', failure: 'timeout', delayMs: 200 }, marks: [] }],
    ['a lost connection backs off; the worker was not reached', state(1, ['a']), plan(), failed('disconnect'), both, 0, { decision: { kind: 'retry', failure: 'disconnect', delayMs: 100 }, marks: ['not-reached'] }],
    ['a stream that would not open counts against the worker', state(1, ['a']), plan(), failed('rejected', true), both, 0, { decision: { kind: 'retry', failure: 'rejected', delayMs: 0 }, marks: ['not-reached'] }],
    ['the backoff is capped at 2 s', state(8, ['a']), plan({ maxRetries: 10, deadline: 100_000 }), failed('timeout'), both, 0, { decision: { kind: 'retry', failure: 'timeout', delayMs: 2000 }, marks: [] }],
    ['no retry that would start after the deadline', state(1, ['a']), plan({ deadline: 50 }), failed('timeout'), both, 0, { decision: { kind: 'fail', error: 'timeout (deadline passed (last: timeout))' }, marks: [] }],
    ['max_retries 0: the first failure is final', state(1, ['a']), plan({ maxRetries: 0 }), failed('timeout'), both, 0, { decision: { kind: 'fail', error: 'timeout (gave up after 1 attempts (last: timeout))' }, marks: [] }]
  ]
  it.each(cases)('%s', (_name, s, p, outcome, able, now, expected) => {
    expect(afterAttempt(s, p, outcome, able, now)).toEqual(expected)
  })

  it('a cancel wins over any answer but the worker\'s own word', () => {
    expect(afterAttempt(state(1, ['a']), plan(), answer('ok'), both, 0, true).decision).toEqual({ kind: 'cancelled' })
    expect(afterAttempt(state(1, ['a']), plan(), failed('timeout'), both, 0, true).decision).toEqual({ kind: 'cancelled' })
  })
})

describe('outcomeOf: a worker\'s answer as the machine reads it', () => {
  const { Status } = TaskResponse
  const res = (status: TaskResponse.Status, result = new Uint8Array()): { response: TaskResponse } => ({ response: { id: 't', status, result, error: 'e', reward: 0n, queueMs: 0, runMs: 0, duplicate: false, attempt: 1 } as unknown as TaskResponse })
  const payload = new TextEncoder().encode('hello')
  const cases: Array<[string, Parameters<typeof outcomeOf>[0], string, Outcome]> = [
    ['an echo that echoes', res(Status.OK, payload), 'echo', { kind: 'answer', status: 'ok' }],
    ['a blob that does not hash to the one asked for is refused as rejected', res(Status.OK, new TextEncoder().encode('not it')), 'storage.get', { kind: 'refused', failure: 'rejected', error: expect.stringContaining('not to the hash asked for') as unknown as string }],
    ['ERROR', res(Status.ERROR), 'echo', { kind: 'answer', status: 'error' }],
    ['CANCELLED', res(Status.CANCELLED), 'echo', { kind: 'answer', status: 'cancelled' }],
    ['BUSY', res(Status.BUSY), 'echo', { kind: 'refused', failure: 'busy', error: 'e' }],
    ['NOT_FOUND', res(Status.NOT_FOUND), 'echo', { kind: 'refused', failure: 'not_found', error: 'e' }],
    ['TIMEOUT (the worker\'s)', res(Status.TIMEOUT), 'echo', { kind: 'refused', failure: 'worker_timeout', error: 'e' }],
    ['REJECTED', res(Status.REJECTED), 'echo', { kind: 'refused', failure: 'rejected', error: 'e' }],
    ['no answer', { failure: 'disconnect', error: 'gone', unreachable: true }, 'echo', { kind: 'failed', failure: 'disconnect', error: 'gone', unreachable: true }]
  ]
  it.each(cases)('%s', (_name, sent, type, expected) => {
    expect(outcomeOf(sent, type, payload).outcome).toEqual(expected)
  })
})

describe('a task run through the machine', () => {
  it('busy, busy, then a timeout, then OK: four attempts over three workers, one backoff', () => {
    const s = initialAttempts()
    const p = plan({ maxRetries: 3 })
    const workers = [worker('a'), worker('b'), worker('c')]
    const script: Outcome[] = [
      { kind: 'refused', failure: 'busy', error: 'full' },
      { kind: 'refused', failure: 'busy', error: 'full' },
      { kind: 'failed', failure: 'timeout', error: 'slow' },
      { kind: 'answer', status: 'ok' }
    ]
    const log: string[] = []
    for (const outcome of script) {
      const c = chooseTarget(s, p, workers, 0)
      if (c.kind !== 'send') throw new Error(c.kind)
      const { decision } = afterAttempt(s, p, outcome, workers, 0)
      log.push(`${c.target}:${decision.kind}${decision.kind === 'retry' ? `+${decision.delayMs}` : ''}`)
    }
    expect(log.map(l => l.split(':')[1])).toEqual(['retry+0', 'retry+0', 'retry+400', 'answer'])
    expect(new Set(log.slice(0, 3).map(l => l.split(':')[0])).size).toBe(3)
    expect(s.attempt).toBe(4)
  })

  it('the deadline: its own, or every attempt\'s timeout plus a second', () => {
    expect(deadlineOf(1000, 500, 2)).toBe(1000 + 1500 + 1000)
    expect(deadlineOf(1000, 500, 2, 700)).toBe(1700)
  })
})
