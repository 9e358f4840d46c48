import { randomUUID } from 'node:crypto'
import { TaskResponse, type TaskRequest } from '../messages/tasks.js'
import { AttemptError, type TaskNetwork } from './network.js'
import { afterAttempt, chooseTarget, deadlineOf, initialAttempts, outcomeOf, type AttemptPlan, type Sent } from './attempts.js'
import { broadcastTargets, capable, type Candidate } from './scheduler.js'
import { CandidateBook } from './candidates.js'
import { NoCapableWorkerError, NotRunningError, PayloadTooLargeError, TaskEndedError, TooManyTasksError, UnknownTaskError } from '../util/errors.js'
import { capabilityOfTask, isInternalType, type TaskRecord, type TaskResult, type TaskSpec } from './types.js'
import { Followers, type TaskFollower } from './followers.js'
import { isOpen, TaskRecords, type AcceptOptions, type ActiveTask } from './records.js'
import type { TaskJournal } from './journal.js'
import type { Executor } from './executor.js'
import type { Logger } from '../util/logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PeerId } from '@libp2p/interface'
import { sleep, until } from '../util/lifetime.js'
import { answered, resultView } from './results.js'

export interface SubmitterInit {
  selfPeerId: string
  selfName: string
  selfCapabilities: string[]
  maxPayload: number
  defaultTimeoutMs: number
  maxRetries: number
  /** how many tasks `tasks` remembers (tasks.records_max) */
  keep: number
  /** and at most this many bytes of their outputs (tasks.records_max_bytes) */
  keepBytes: number
  /** and for at most this long after they were accepted (tasks.result_ttl; default: no limit) */
  resultTtlMs?: number
  /** unfinished tasks taken here, and their payload bytes, at most (tasks.max_pending, max_pending_bytes) */
  maxPending?: number
  maxPendingBytes?: number
}

export type { AcceptOptions } from './records.js'
export type { TaskFollower } from './followers.js'

/** how long a cancel waits for the workers to confirm before answering */
const CANCEL_WAIT_MS = 10_000
/** how long a resumed task waits for a capable worker to be known after the restart */
const RESUME_WAIT_MS = 60_000

export interface SubmitterComponents {
  membership: Pick<Membership, 'members' | 'get'>
  network: Pick<TaskNetwork, 'request'>
  /** the task journal: records on disk, unfinished `wait: false` tasks resumed after a restart */
  journal?: TaskJournal
  /** this node's own executor (workers): a candidate like any other */
  local?: Executor
  rtt: (peer: string) => number | undefined
  /** an open connection to the peer now (absent: every member counts as connected) */
  connected?: (peer: PeerId) => boolean
  metrics: Metrics
  logger: Logger
  /** wall-clock time (ms since the epoch) for records and deadlines; Date unless a test moves time itself */
  clock?: { now: () => number }
}

const { Status } = TaskResponse


/**
 * Submits tasks: picks a worker per attempt, retries elsewhere on timeout, disconnect, busy or rejection
 * (same task id, so workers deduplicate), and resolves each task exactly once.
 */
export class Submitter {
  /** the tasks `tasks` lists and GET /api/tasks/<id> answers, and the journal behind them */
  private readonly records: TaskRecords
  /** the workers as this submitter sees them: what the scheduler picks from */
  private readonly book: CandidateBook
  private readonly listeners = new Set<(record: TaskRecord) => void>()
  private readonly active = new Map<string, ActiveTask>()
  /** draining: no new task is taken; those taken run to their end */
  private draining = false
  /** payload bytes of the tasks in `active` */
  private pendingBytes = 0
  /** tasks read back from the journal that `resume` runs again */
  private toResume: Array<{ record: TaskRecord, spec: TaskSpec }> = []

  constructor (private readonly components: SubmitterComponents, private readonly init: SubmitterInit) {
    this.records = new TaskRecords({
      journal: components.journal,
      ttlMs: init.resultTtlMs ?? Infinity,
      maxEntries: init.keep,
      maxBytes: init.keepBytes,
      active: () => this.active.values(),
      isActive: id => this.active.has(id),
      onWriteError: err => {
        components.metrics.journalErrors.inc()
        components.logger.warn({ err: err.message }, 'the task journal could not be written: the task goes on, its record in memory only')
      }
    })
    this.book = new CandidateBook(components, { selfPeerId: init.selfPeerId, selfCapabilities: init.selfCapabilities })
  }

  /**
   * Reads the task journal: ended tasks come back into `tasks`; unfinished ones accepted with `wait: false` are
   * queued for `resume`; unfinished ones somebody waited for are marked failed (that caller is gone), so none
   * is silently forgotten. Returns how many of each.
   */
  load (now = this.now()): { kept: number, resumable: number, interrupted: number, unreadable: number } {
    const loaded = this.records.load(now)
    this.toResume.push(...loaded.resumable)
    // kept: what the bounds (result_ttl, records_max, records_max_bytes) left of them
    return { kept: loaded.kept, resumable: this.toResume.length, interrupted: loaded.interrupted, unreadable: loaded.unreadable }
  }

  /**
   * Runs the unfinished `wait: false` tasks of the journal again, with the same ids (a worker that already ran
   * one answers from its deduplication cache). Each waits up to a minute for a capable worker to be known.
   */
  resume (): number {
    const list = this.toResume
    this.toResume = []
    for (const { record, spec } of list) {
      record.resumed = (record.resumed ?? 0) + 1
      record.state = 'pending'
      record.attempts = 0
      // a fresh deadline: the time the node was down is not the task's
      record.submittedAt = this.now()
      const a = this.track(record, spec, { durable: true, resumable: true })
      this.components.metrics.tasksResumed.inc({ type: spec.type })
      this.components.logger.info({ id: record.id, type: spec.type }, 'resuming a task accepted before the restart')
      void (async () => {
        // a worker it was sent to before, if any (it may have run it: going elsewhere would run it twice), else any capable one
        const known = (): boolean => this.candidates().some(c => capable(c, spec.type, spec.capability) && (record.sentTo == null || record.sentTo.includes(c.peerId)))
        await until(known, AbortSignal.any([a.cancel.signal, AbortSignal.timeout(RESUME_WAIT_MS)]), 500)
        await this.completion(record, spec)
      })()
    }
    return list.length
  }

  /** registers a task taken here as unfinished: cancel and follow reach it until it ends */
  private track (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }, opts: AcceptOptions): ActiveTask {
    let settle!: () => void
    const done = new Promise<void>(resolve => { settle = resolve })
    const a: ActiveTask = {
      record, spec, durable: opts.durable === true, resumable: opts.resumable === true, cancel: new AbortController(), done, settle,
      followers: new Followers()
    }
    this.active.set(record.id, a)
    this.pendingBytes += spec.payload.byteLength
    if (opts.resumable === true) record.detached = true
    this.records.add(record)
    this.records.save(a)
    return a
  }

  /**
   * Stops a task taken here: retries and waiting end, and every worker running an attempt is asked to stop it
   * (a queued attempt is dropped there, a running one killed). Answers once the workers confirmed (or after
   * 10 s) with the task's record: `cancelled`, or `done`/`failed` when it ended before the cancel reached it.
   * UnknownTaskError for an id not taken here, TaskEndedError for one that has ended already.
   */
  async cancel (id: string): Promise<TaskRecord> {
    const record = this.get(id)
    const a = this.active.get(id)
    if (record == null && a == null) {
      this.components.metrics.taskCancels.inc({ outcome: 'not_found' })
      throw new UnknownTaskError(`no task ${id} here (tasks lists the ones this node took)`)
    }
    if (a == null) {
      this.components.metrics.taskCancels.inc({ outcome: 'already' })
      throw new TaskEndedError(`task ${id} has already ended: ${record!.state}${record!.state === 'cancelled' ? '' : ' (nothing to cancel)'}`)
    }
    a.cancel.abort()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([a.done, new Promise<void>(resolve => { timer = setTimeout(resolve, CANCEL_WAIT_MS) })])
    clearTimeout(timer)
    const r = this.get(id) ?? record!
    this.components.metrics.taskCancels.inc({ outcome: r.state === 'cancelled' ? 'cancelled' : 'finished' })
    return r
  }

  /**
   * Follows a task taken here: the output kept so far, then output as it comes, then `end` with its record.
   * For an ended task `end` is called at once. Returns the function that stops following (undefined: no such task).
   */
  follow (id: string, follower: TaskFollower): (() => void) | undefined {
    const a = this.active.get(id)
    if (a == null) {
      const record = this.get(id)
      if (record == null) return undefined
      follower.end(record)
      return () => {}
    }
    return a.followers.add(follower)
  }

  /** Takes no new task; resolves once every task taken here has ended, or when `signal` aborts (how many are left). */
  async drain (signal: AbortSignal): Promise<number> {
    this.draining = true
    await until(() => this.active.size === 0, signal)
    return this.active.size
  }

  /** calls `listener` whenever a task taken here changes state (pending, running, done, failed) */
  onChange (listener: (record: TaskRecord) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private changed (record: TaskRecord): void {
    for (const l of this.listeners) l(record)
  }

  /** the live candidates, this node included when it runs tasks */
  candidates (): Candidate[] { return this.book.list() }

  /** every task type some live worker offers, with how many offer it */
  offeredTypes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const c of this.candidates()) if (c.alive) for (const t of c.taskTypes) out[t] = (out[t] ?? 0) + 1
    return out
  }

  get (id: string): TaskRecord | undefined { return this.records.get(id) }
  /** newest first */
  list (): TaskRecord[] { return this.records.list() }

  /** Runs a task (or a broadcast) to completion. Throws NoCapableWorkerError when it cannot run anywhere, PayloadTooLargeError over the limit. */
  async submit (spec: TaskSpec & { exclude?: string[] }, opts: AcceptOptions = {}): Promise<TaskRecord> {
    const record = this.accept(spec, opts)
    await this.completion(record, spec)
    return record
  }

  /**
   * Validates and registers a task; `completion` runs it. Split so the HTTP API can answer with an id at once.
   * A durable task's record is on its way to disk when this returns.
   */
  accept (spec: TaskSpec & { exclude?: string[] }, opts: AcceptOptions = {}): TaskRecord {
    if (this.draining) throw new NotRunningError('this node is draining (leaving the network): submit the task through another node')
    if (spec.payload.byteLength > this.init.maxPayload) {
      throw new PayloadTooLargeError(`payload is ${spec.payload.byteLength} bytes; the limit is ${this.init.maxPayload}`)
    }
    if (!this.candidates().some(c => capable(c, spec.type, spec.capability))) {
      const offered = Object.keys(this.offeredTypes()).filter(t => !isInternalType(t))
      throw new NoCapableWorkerError(`no live worker offers task type "${spec.type}"${spec.capability != null ? ` with capability "${spec.capability}"` : ''}` +
        (offered.length > 0 ? ` (offered: ${offered.sort().join(', ')})` : ' (no workers known)'))
    }
    const id = spec.id ?? randomUUID()
    if (this.active.has(id)) throw new TaskEndedError(`task ${id} is already running here`)
    const max = this.init.maxPending ?? Infinity
    const maxBytes = this.init.maxPendingBytes ?? Infinity
    if (this.active.size >= max || this.pendingBytes + spec.payload.byteLength > maxBytes) {
      this.components.metrics.tasksRefused.inc({ reason: 'too_many_pending' })
      throw new TooManyTasksError(`this node has ${this.active.size} unfinished tasks holding ${this.pendingBytes} payload bytes (tasks.max_pending ${max}, max_pending_bytes ${maxBytes}): try again when some have finished`)
    }
    const record: TaskRecord = { id, type: spec.type, state: 'pending', submittedAt: this.now(), broadcast: spec.broadcast === true, attempts: 0, results: [] }
    this.track(record, spec, opts)
    this.components.metrics.tasksSubmitted.inc({ type: spec.type })
    this.changed(record)
    return record
  }

  async completion (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }): Promise<void> {
    const a = this.active.get(record.id)
    if (a == null) throw new Error(`task ${record.id} was not accepted here`)
    try {
      await this.run(record, spec, a)
    } finally {
      // whatever happened, the task has ended: journalled as such (a throw is a failure too), followers told
      if (isOpen(record)) {
        record.state = 'failed'
        record.error ??= 'internal error while running the task'
        record.finishedAt = this.now()
      }
      this.records.save(a)
      this.active.delete(record.id)
      this.pendingBytes -= spec.payload.byteLength
      this.records.ended(record)
      a.followers.end(record)
      a.settle()
    }
  }

  private async run (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }, a: ActiveTask): Promise<void> {
    record.state = 'running'
    this.changed(record)
    const timeoutMs = spec.timeoutMs ?? this.init.defaultTimeoutMs
    const maxRetries = spec.maxRetries ?? this.init.maxRetries
    const plan: AttemptPlan = {
      type: spec.type, capability: spec.capability, timeoutMs, maxRetries, deadline: deadlineOf(record.submittedAt, timeoutMs, maxRetries, spec.deadlineMs),
      banned: new Set(spec.exclude ?? []), sentTo: record.sentTo
    }
    let results: TaskResult[]
    if (spec.broadcast === true) {
      const targets = broadcastTargets(this.candidates(), spec.type, spec.capability)
      results = await Promise.all(targets.map(async t => await this.runOne(record, spec, a, { ...plan, pinned: t.peerId })))
    } else {
      results = [await this.runOne(record, spec, a, plan)]
    }
    record.results = results.map(resultView)
    this.records.weigh(record)
    const ok = results.every(r => r.ok)
    // a broadcast cancelled part way keeps the results of the workers that had finished
    record.state = ok ? 'done' : results.some(r => r.cancelled === true) ? 'cancelled' : 'failed'
    if (!ok) record.error = results.find(r => !r.ok)?.error
    record.finishedAt = this.now()
    this.changed(record)
    for (const r of results) {
      this.components.metrics.tasksCompleted.inc({ type: spec.type, outcome: r.ok ? 'ok' : r.cancelled === true ? 'cancelled' : 'failed' })
      this.components.metrics.taskDuration.observe({ type: spec.type }, r.durationMs / 1000)
    }
  }

  /** one task on one worker (or pinned to `pinned`), with retries, as the attempt machine decides; never throws */
  private async runOne (record: TaskRecord, spec: TaskSpec & { exclude?: string[] }, a: ActiveTask, plan: AttemptPlan): Promise<TaskResult> {
    const signal = a.cancel.signal
    const started = this.now()
    const s = initialAttempts()
    const fail = (error: string): TaskResult => ({ id: record.id, type: spec.type, ok: false, attempts: s.attempt, durationMs: this.now() - started, reward: 0, error, worker: s.last, workerName: s.last == null ? undefined : this.nameOf(s.last) })
    // the worker's own word when it answered (cancelled while queued / while running)
    const cancelled = (worker?: string, error = 'cancelled'): TaskResult => ({ ...fail(error), cancelled: true, worker, workerName: worker == null ? undefined : this.nameOf(worker) })
    for (;;) {
      if (signal.aborted) return cancelled()
      const choice = chooseTarget(s, plan, this.candidates(), this.now())
      if (choice.kind === 'give-up') return fail(choice.error)
      if (choice.kind === 'wait') {
        // every capable worker has its window full: wait here for a slot; waiting is not an attempt
        if (!await this.book.waitForSlot(plan.deadline, signal, () => this.now(), capabilityOfTask(spec.type, spec.capability))) return signal.aborted ? cancelled() : fail('every capable worker stayed busy until the deadline')
        continue
      }
      const { target, timeoutMs } = choice
      record.attempts++
      // written down before it is sent, for a resumable task: after a crash it goes back there first
      if (a.resumable && !(record.sentTo ?? []).includes(target)) {
        (record.sentTo ??= []).push(target)
        this.records.save(a)
      }
      const req: TaskRequest = {
        id: record.id, type: spec.type, payload: spec.payload as Uint8Array<ArrayBuffer>, reward: BigInt(spec.reward ?? 0),
        timeoutMs, attempt: s.attempt, submitter: new Uint8Array() as Uint8Array<ArrayBuffer>,
        params: new Map(Object.entries(spec.params ?? {})), cancel: false, follow: spec.follow === true
      }
      const onProgress = spec.follow === true ? (data: Uint8Array, dropped: number) => { a.followers.push(this.nameOf(target) ?? target, data, dropped) } : undefined
      const sent = await this.attempt(target, req, timeoutMs, signal, onProgress)
      const { outcome, problem } = outcomeOf(sent, spec.type, spec.payload)
      if (problem != null) {
        // a lying or broken worker: not the caller's answer; the next worker is asked
        this.components.metrics.invalidMessages.inc({ reason: 'task_answer' })
        this.components.logger.warn({ id: record.id, worker: target, type: spec.type }, problem)
      }
      const { decision, marks } = afterAttempt(s, plan, outcome, this.candidates().filter(c => capable(c, spec.type, spec.capability)), this.now(), signal.aborted)
      for (const m of marks) {
        if (m === 'reached') this.book.reached(target)
        else if (m === 'busy') this.book.busy(target)
        else this.book.notReached(target)
      }
      const res = 'response' in sent ? sent.response : undefined
      switch (decision.kind) {
        case 'answer': return answered(record.id, spec.type, res!, { attempts: s.attempt, durationMs: this.now() - started, worker: target, workerName: this.nameOf(target) })
        case 'cancelled': return res?.status === Status.CANCELLED ? { ...cancelled(target, res.error), queueMs: res.queueMs, runMs: res.runMs } : cancelled(target)
        case 'fail': return fail(decision.error)
        case 'retry':
          this.components.metrics.taskRetries.inc({ reason: decision.failure })
          this.components.logger.debug({ id: record.id, attempt: s.attempt, failure: decision.failure, worker: target, error: outcome.kind === 'answer' ? undefined : outcome.error }, 'retrying task')
          if (decision.delayMs > 0) await sleep(decision.delayMs, signal)
      }
    }
  }



  private now (): number { return (this.components.clock ?? Date).now() }

  private nameOf (worker: string): string | undefined {
    return worker === this.init.selfPeerId ? this.init.selfName : this.components.membership.get(worker)?.name
  }

  /** one attempt on one worker; a cancel (signal) asks that worker to stop it, and its answer is awaited */
  private async attempt (target: string, req: TaskRequest, timeoutMs: number, signal: AbortSignal, onProgress?: (data: Uint8Array, dropped: number) => void): Promise<Sent> {
    this.book.sending(target)
    try {
      const local = this.components.local
      if (target === this.init.selfPeerId && local != null) {
        const onAbort = (): void => { local.cancel(req.id, this.init.selfPeerId) }
        signal.addEventListener('abort', onAbort, { once: true })
        try {
          return { response: await local.execute(req, this.now(), { submitter: this.init.selfPeerId, onProgress: onProgress == null ? undefined : data => { onProgress(data, 0) } }) }
        } finally {
          signal.removeEventListener('abort', onAbort)
        }
      }
      return { response: await this.components.network.request(this.book.peerId(target), req, timeoutMs, onProgress, signal) }
    } catch (err: any) {
      if (err instanceof AttemptError) return { failure: err.failure, error: err.message, unreachable: err.unreachable }
      return { failure: 'disconnect', error: err.message, unreachable: true }
    } finally {
      this.book.done(target)
    }
  }


}
