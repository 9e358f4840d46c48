import { randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { TaskResponse, type TaskRequest } from '../messages/tasks.js'
import { BoundedCache } from './bounded-cache.js'
import { AttemptError, type TaskNetwork } from './network.js'
import { nextAttempt, type RetryPolicy } from './retry.js'
import { broadcastTargets, capable, DecayingCounts, pickWorker, type Candidate } from './scheduler.js'
import { NoCapableWorkerError, PayloadTooLargeError } from '../errors.js'
import { type AttemptFailure, type TaskRecord, type TaskResult, type TaskResultView, type TaskSpec } from './types.js'
import type { Executor } from './executor.js'
import type { Logger } from '../logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PeerId } from '@libp2p/interface'

export interface SubmitterInit {
  selfPeerId: string
  selfName: string
  selfCapabilities: string[]
  maxPayload: number
  defaultTimeoutMs: number
  maxRetries: number
  /** how many tasks `tasks` remembers (default 500) */
  keep?: number
  /** and at most this many bytes of their outputs (default 32 MiB) */
  keepBytes?: number
}

export interface SubmitterComponents {
  membership: Pick<Membership, 'members' | 'get'>
  network: TaskNetwork
  /** this node's own executor (workers): a candidate like any other */
  local?: Executor
  rtt: (peer: string) => number | undefined
  metrics: Metrics
  logger: Logger
}

const { Status } = TaskResponse
const BUSY_BACKOFF_MS = 250
const UNREACHABLE_BACKOFF_MS = 2000
const CANDIDATE_CACHE_MS = 100
const FAILURE_OF: Partial<Record<TaskResponse.Status, AttemptFailure>> = {
  [Status.BUSY]: 'busy', [Status.NOT_FOUND]: 'not_found', [Status.TIMEOUT]: 'worker_timeout', [Status.REJECTED]: 'rejected'
}

/**
 * Submits tasks: picks a worker per attempt, retries elsewhere on timeout, disconnect, busy or rejection
 * (same task id, so workers deduplicate), and resolves each task exactly once.
 */
export class Submitter {
  /** the tasks `tasks` lists and GET /api/tasks/<id> answers: the newest, by count and by output bytes */
  private readonly records: BoundedCache<TaskRecord>
  private readonly inFlight = new Map<string, number>()
  /** workers that answered busy or could not be reached: skipped until then */
  private readonly busyUntil = new Map<string, number>()
  /** attempts sent to each worker lately: the tie-break that spreads short tasks */
  private readonly sent = new DecayingCounts()
  private readonly policy: RetryPolicy
  /** tasks waiting for room on a worker, oldest first; each freed slot wakes one */
  private readonly waiters: Array<() => void> = []
  private readonly listeners = new Set<(record: TaskRecord) => void>()

  constructor (private readonly deps: SubmitterComponents, private readonly init: SubmitterInit) {
    this.policy = { maxRetries: init.maxRetries, baseDelayMs: 100, maxDelayMs: 2000 }
    this.records = new BoundedCache({ ttlMs: Infinity, maxEntries: init.keep ?? 500, maxBytes: init.keepBytes ?? 32 * 1024 ** 2 })
  }

  /** calls `listener` whenever a task taken here changes state (pending, running, done, failed) */
  onChange (listener: (record: TaskRecord) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private changed (record: TaskRecord): void {
    for (const l of this.listeners) l(record)
  }

  private cached?: { at: number, base: Candidate[] }

  /** the live candidates, this node included when it runs tasks; membership is re-read at most every 100 ms */
  candidates (): Candidate[] {
    const now = Date.now()
    if (this.cached == null || now - this.cached.at > CANDIDATE_CACHE_MS) this.cached = { at: now, base: this.baseCandidates() }
    return this.cached.base.map(c => ({
      ...c,
      inFlight: this.inFlight.get(c.peerId) ?? 0,
      busyUntil: this.busyUntil.get(c.peerId),
      recent: this.sent.get(c.peerId, now),
      advertisedLoad: c.peerId === this.init.selfPeerId ? this.deps.local?.load() ?? 0 : c.advertisedLoad
    }))
  }

  private baseCandidates (): Candidate[] {
    const list: Candidate[] = this.deps.membership.members().filter(m => m.role === 'worker').map(m => ({
      peerId: m.peerId,
      taskTypes: m.taskTypes,
      capabilities: m.capabilities,
      alive: m.state.phase === 'alive',
      healthy: m.healthy,
      advertisedLoad: m.load,
      maxConcurrency: Math.max(1, m.maxConcurrency),
      queueCapacity: m.queueCapacity,
      inFlight: this.inFlight.get(m.peerId) ?? 0,
      rttMs: this.deps.rtt(m.peerId),
      busyUntil: this.busyUntil.get(m.peerId)
    }))
    const local = this.deps.local
    if (local != null) {
      list.push({
        peerId: this.init.selfPeerId, taskTypes: local.types(), capabilities: this.init.selfCapabilities, alive: true, healthy: true,
        advertisedLoad: local.load(), maxConcurrency: local.maxConcurrency, queueCapacity: local.queueCapacity,
        inFlight: this.inFlight.get(this.init.selfPeerId) ?? 0, rttMs: 0, busyUntil: this.busyUntil.get(this.init.selfPeerId)
      })
    }
    return list
  }

  /** every task type some live worker offers, with how many offer it */
  offeredTypes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const c of this.candidates()) if (c.alive) for (const t of c.taskTypes) out[t] = (out[t] ?? 0) + 1
    return out
  }

  get (id: string): TaskRecord | undefined { return this.records.get(id, Date.now()) }
  list (): TaskRecord[] { return this.records.values().reverse() }

  /** Runs a task (or a broadcast) to completion. Throws NoCapableWorkerError when it cannot run anywhere, PayloadTooLargeError over the limit. */
  async submit (spec: TaskSpec & { exclude?: string[] }): Promise<TaskRecord> {
    const record = this.accept(spec)
    await this.completion(record, spec)
    return record
  }

  /** Validates and registers a task; `completion` runs it. Split so the HTTP API can answer with an id at once. */
  accept (spec: TaskSpec & { exclude?: string[] }): TaskRecord {
    if (spec.payload.byteLength > this.init.maxPayload) {
      throw new PayloadTooLargeError(`payload is ${spec.payload.byteLength} bytes; the limit is ${this.init.maxPayload}`)
    }
    if (!this.candidates().some(c => capable(c, spec.type, spec.capability))) {
      const offered = Object.keys(this.offeredTypes()).filter(t => !t.endsWith('.replicate'))
      throw new NoCapableWorkerError(`no live worker offers task type "${spec.type}"${spec.capability != null ? ` with capability "${spec.capability}"` : ''}` +
        (offered.length > 0 ? ` (offered: ${offered.sort().join(', ')})` : ' (no workers known)'))
    }
    const id = spec.id ?? randomUUID()
    const record: TaskRecord = { id, type: spec.type, state: 'pending', submittedAt: Date.now(), broadcast: spec.broadcast === true, attempts: 0, results: [] }
    this.records.set(id, record, Date.now())
    this.deps.metrics.tasksSubmitted.inc({ type: spec.type })
    this.changed(record)
    return record
  }

  async completion (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }): Promise<void> {
    record.state = 'running'
    this.changed(record)
    const timeoutMs = spec.timeoutMs ?? this.init.defaultTimeoutMs
    const maxRetries = spec.maxRetries ?? this.init.maxRetries
    const deadline = record.submittedAt + (spec.deadlineMs ?? timeoutMs * (maxRetries + 1) + 1000)
    let results: TaskResult[]
    if (spec.broadcast === true) {
      const targets = broadcastTargets(this.candidates(), spec.type, spec.capability)
      results = await Promise.all(targets.map(async t => await this.runOne(record, spec, timeoutMs, maxRetries, deadline, t.peerId)))
    } else {
      results = [await this.runOne(record, spec, timeoutMs, maxRetries, deadline)]
    }
    record.results = results.map(view)
    this.records.weigh(record.id, record.results.reduce((n, r) => n + (r.output?.length ?? r.outputBase64?.length ?? 0) + (r.error?.length ?? 0) + 300, 0), Date.now())
    const ok = results.every(r => r.ok)
    record.state = ok ? 'done' : 'failed'
    if (!ok) record.error = results.find(r => !r.ok)?.error
    this.changed(record)
    for (const r of results) {
      this.deps.metrics.tasksCompleted.inc({ type: spec.type, outcome: r.ok ? 'ok' : 'failed' })
      this.deps.metrics.taskDuration.observe({ type: spec.type }, r.durationMs / 1000)
    }
  }

  /** one task on one worker (or pinned to `pinned`), with retries; never throws */
  private async runOne (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }, timeoutMs: number, maxRetries: number, deadline: number, pinned?: string): Promise<TaskResult> {
    const started = Date.now()
    // never used for this task (replication must land elsewhere) vs. used again only when nothing else is left
    const banned = new Set(spec.exclude ?? [])
    const tried = new Set<string>()
    const fail = (attempts: number, error: string): TaskResult => ({ id: record.id, type: spec.type, ok: false, attempts, durationMs: Date.now() - started, reward: 0, error })
    let attempt = 0
    for (;;) {
      attempt++
      record.attempts++
      const candidates = this.candidates().filter(c => !banned.has(c.peerId))
      const able = candidates.filter(c => capable(c, spec.type, spec.capability))
      const target = pinned ?? pickWorker(candidates, { type: spec.type, capability: spec.capability, exclude: tried, now: Date.now() })?.peerId
      let failure: AttemptFailure
      let error: string
      if (target == null) {
        if (able.length === 0) return fail(attempt, 'no capable worker left')
        // every capable worker has its window full: wait here for a slot; waiting is not an attempt
        attempt--
        record.attempts--
        if (!await this.waitForSlot(deadline)) return fail(attempt, 'every capable worker stayed busy until the deadline')
        continue
      } else {
        tried.add(target)
        const now = Date.now()
        const req: TaskRequest = {
          id: record.id, type: spec.type, payload: spec.payload as Uint8Array<ArrayBuffer>, reward: BigInt(spec.reward ?? 0),
          timeoutMs: Math.max(1, Math.min(timeoutMs, deadline - now)), attempt, submitter: new Uint8Array() as Uint8Array<ArrayBuffer>,
          params: new Map(Object.entries(spec.params ?? {}))
        }
        const outcome = await this.attempt(target, req, Math.min(timeoutMs, Math.max(1, deadline - now)))
        if ('response' in outcome) {
          const res = outcome.response
          if (res.status === Status.OK || res.status === Status.ERROR) return this.result(record, spec, res, attempt, started, target)
          failure = FAILURE_OF[res.status] ?? 'rejected'
          error = res.error
          if (res.status === Status.BUSY) this.busyUntil.set(target, Date.now() + BUSY_BACKOFF_MS)
        } else {
          failure = outcome.failure
          error = outcome.error
          // a worker we cannot reach is likely dead: skip it until its heartbeats say otherwise or are missed
          if (failure === 'disconnect') this.busyUntil.set(target, Date.now() + UNREACHABLE_BACKOFF_MS)
        }
        // a blob missing everywhere will not appear by asking again
        if (failure === 'not_found' && able.every(c => tried.has(c.peerId))) return fail(attempt, `${error} (no worker has it)`)
      }
      // queue-full answers are bounded by the deadline, not by max_retries
      const budget = failure === 'busy' || failure === 'not_found' ? Number.MAX_SAFE_INTEGER : maxRetries
      const decision = nextAttempt(failure, attempt, { ...this.policy, maxRetries: budget }, Date.now(), deadline)
      if (!decision.retry) return fail(attempt, `${error} (${decision.reason})`)
      this.deps.metrics.taskRetries.inc({ reason: failure })
      this.deps.logger.debug({ id: record.id, attempt, failure, worker: target, error }, 'retrying task')
      if (decision.delayMs > 0) await new Promise(resolve => setTimeout(resolve, decision.delayMs))
    }
  }

  private readonly peerIds = new Map<string, PeerId>()
  /** parsing a peer id string costs a base58 decode: keep the objects */
  private peerId (id: string): PeerId {
    let p = this.peerIds.get(id)
    if (p == null) {
      if (this.peerIds.size > 10_000) this.peerIds.clear()
      this.peerIds.set(id, p = peerIdFromString(id))
    }
    return p
  }

  private async attempt (target: string, req: TaskRequest, timeoutMs: number): Promise<{ response: TaskResponse } | { failure: AttemptFailure, error: string }> {
    this.inFlight.set(target, (this.inFlight.get(target) ?? 0) + 1)
    this.sent.add(target, Date.now())
    try {
      if (target === this.init.selfPeerId && this.deps.local != null) {
        return { response: await this.deps.local.execute(req) }
      }
      return { response: await this.deps.network.request(this.peerId(target), req, timeoutMs) }
    } catch (err: any) {
      if (err instanceof AttemptError) return { failure: err.failure, error: err.message }
      return { failure: 'disconnect', error: err.message }
    } finally {
      const n = (this.inFlight.get(target) ?? 1) - 1
      if (n <= 0) this.inFlight.delete(target)
      else this.inFlight.set(target, n)
      this.waiters.shift()?.()
    }
  }

  /**
   * Resolves true when a slot may have freed (an attempt finished), or after a short while anyway (a worker
   * may have joined or its busy mark expired); false once the deadline has passed.
   */
  private async waitForSlot (deadline: number): Promise<boolean> {
    const left = deadline - Date.now()
    if (left <= 0) return false
    await new Promise<void>(resolve => {
      const wake = (): void => { clearTimeout(timer); resolve() }
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake)
        if (i >= 0) this.waiters.splice(i, 1)
        resolve()
      }, Math.min(left, BUSY_BACKOFF_MS))
      this.waiters.push(wake)
    })
    return Date.now() < deadline
  }

  private result (record: TaskRecord, spec: TaskSpec, res: TaskResponse, attempt: number, started: number, target: string): TaskResult {
    // the answer came over an authenticated stream from `target` (or from our own executor): that is the worker
    const worker = target
    const name = worker === this.init.selfPeerId ? this.init.selfName : this.deps.membership.get(worker)?.name
    return {
      id: record.id, type: spec.type, ok: res.status === Status.OK, worker, workerName: name, attempts: attempt,
      durationMs: Date.now() - started, queueMs: res.queueMs, runMs: res.runMs, reward: Number(res.reward),
      output: res.status === Status.OK ? res.result : undefined, error: res.status === Status.OK ? undefined : res.error, duplicate: res.duplicate
    }
  }
}

/** output as text when it is valid UTF-8, else as base64 */
export function view (r: TaskResult): TaskResultView {
  const { output, ...rest } = r
  if (output == null) return rest
  try {
    return { ...rest, output: new TextDecoder('utf-8', { fatal: true }).decode(output) }
  } catch {
    return { ...rest, outputBase64: Buffer.from(output).toString('base64') }
  }
}
