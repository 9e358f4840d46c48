import { createHash } from 'node:crypto'
import { TaskResponse, type TaskRequest } from '../messages/tasks.js'
import { BoundedCache } from './bounded-cache.js'
import { HandlerError, NotFoundError, type Handler, type HandlerContext } from './handlers/handler.js'
import { TaskQueue, type PriorityClass, type QueueItem } from './queue.js'
import { QueueShare } from './queue-share.js'
import { raceAbort } from '../util/lifetime.js'
import type { Ledger } from './ledger.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'

export interface ExecutorInit {
  handlers: Handler[]
  selfPeerId: string
  selfPeerIdBytes: Uint8Array
  maxConcurrency: number
  maxQueue: number
  /** payload bytes the queue holds at most (default: no bound beyond maxQueue x maxPayload) */
  maxQueueBytes?: number
  maxPayload: number
  /** the longest timeout granted to a task (tasks.max_timeout); a task asks for its own, up to this */
  maxTimeoutMs: number
  /** rewards above this order the queue and are credited as this (tasks.max_reward) */
  maxReward: number
  dedupTtlMs: number
  /** the dedup cache's other bounds (tasks.dedup_max_entries, dedup_max_bytes) */
  dedupMaxEntries: number
  dedupMaxBytes: number
  defaultTimeoutMs: number
}

export interface ExecutorComponents {
  metrics: Metrics
  logger: Logger
  ledger: Ledger
  /**
   * how handlers submit tasks of their own (storage replication): the node's submitter. Called only while a task
   * runs, so the node may build its submitter after this executor; absent, handlers cannot submit
   */
  submit?: HandlerContext['submit']
}

interface Job extends QueueItem {
  req: TaskRequest
  /** the key of its dedup entry and of `jobs`: its submitter and id */
  key: string
  handler: Handler
  enqueuedAt: number
  deadline: number
  /** aborted by a cancel (before or while it runs) */
  cancel: AbortController
  /** where a followed task's output goes (progress frames) */
  onProgress?: ProgressSink
  resolve: (res: TaskResponse) => void
}

/** receives a followed task's output as it is produced; `dropped` frames before this one were not kept */
export type ProgressSink = (data: Uint8Array) => void

/** what a cancel request found: the task dropped from the queue, stopped while running, or nothing to stop */
export type CancelOutcome = 'queued' | 'running' | 'unknown' | 'refused'

/** the abort reason of a cancelled task (as opposed to a timeout or the node stopping) */
const cannotSubmit: HandlerContext['submit'] = async () => ({ ok: false, error: 'this node cannot submit tasks' })

export class CancelledError extends Error {
  override name = 'CancelledError'
  constructor () { super('cancelled by its submitter') }
}

const { Status } = TaskResponse
const encoder = new TextEncoder()
const noProgress = (): void => {}
/** bytes a remembered answer costs beyond its result: the response object, the promise, the map entry */
const ENTRY_OVERHEAD = 500
/** a task id: what the HTTP API's /api/tasks/<id> takes (and what P2P_TASK_ID carries to a handler) */
export const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
/** the longest timer Node keeps: a longer setTimeout fires at once */
const MAX_TIMER_MS = 2 ** 31 - 1

/** what a request asks for, as a digest: the same id with another request is not a retry */
function digestOf (req: TaskRequest): string {
  const h = createHash('sha256').update(req.type).update('\u0000').update(req.payload)
  for (const [k, v] of [...req.params].sort(([a], [b]) => a < b ? -1 : 1)) h.update(`\u0000${k}=${v}`)
  return h.digest('base64')
}

/** a remembered answer (or the attempt still running) and the request it answered */
interface Seen { digest: string, answer: Promise<TaskResponse> }

/**
 * Runs tasks on a worker: a bounded queue ordered by reward then age, at most `maxConcurrency` at once, and
 * a `busy` answer when the queue is full. A task id seen before returns the first outcome (or joins the
 * running attempt) instead of running again.
 */
export class Executor {
  private readonly handlers = new Map<string, Handler>()
  private readonly queue: TaskQueue<Job>
  /** answers by submitter and id: a retry gets the first answer; another peer's id is another task */
  private readonly seen: BoundedCache<Seen>
  /** queued and running tasks by submitter and id: what a cancel can reach */
  private readonly jobs = new Map<string, Job>()
  /** payload bytes in the queue, all told and per submitter */
  private readonly share: QueueShare
  private readonly stopping = new AbortController()
  private running = 0
  /** draining: new and queued tasks are answered BUSY, running ones finish */
  private draining = false
  /** called once nothing runs (drain waits on it) */
  private readonly idle = new Set<() => void>()
  private readonly unregister: Array<() => void>

  constructor (private readonly components: ExecutorComponents, private readonly init: ExecutorInit) {
    for (const h of init.handlers) this.handlers.set(h.type, h)
    this.queue = new TaskQueue(init.maxQueue)
    this.share = new QueueShare(init.maxQueueBytes)
    this.unregister = [
      components.metrics.collectFrom('dedup', () => this.dedupStats()),
      components.metrics.collectFrom('queueByClass', () => this.queue.depthByClass()),
      components.metrics.collectFrom('workByCapability', () => this.workByCapability())
    ]
    this.seen = new BoundedCache<Seen>({ ttlMs: init.dedupTtlMs, maxEntries: init.dedupMaxEntries, maxBytes: init.dedupMaxBytes })
  }

  /** every type this worker runs, internal ones included (the scheduler needs them) */
  types (): string[] { return [...this.handlers.keys()].sort() }
  /** the dedup cache: how many ids, the bytes of their answers, and how far back it reaches */
  dedupStats (now = Date.now()): { entries: number, bytes: number, windowMs: number } {
    const oldest = this.seen.oldest()
    return { entries: this.seen.size, bytes: this.seen.bytes, windowMs: oldest == null ? 0 : now - oldest }
  }

  /** the types people may submit */
  publicTypes (): string[] { return [...this.handlers.values()].filter(h => h.internal !== true).map(h => h.type).sort() }
  load (): number { return this.running + this.queue.size }
  get maxConcurrency (): number { return this.init.maxConcurrency }
  /** false once the executor drains or stops: it answers every new task BUSY then, and says so in its heartbeats */
  accepting (): boolean { return !this.stopping.signal.aborted && !this.draining }

  /**
   * Scale-in: takes no new task (answered BUSY, "worker is draining"), hands the queued ones back the same way
   * (their submitters place them elsewhere at once, none of them has started), and resolves once the running
   * ones have finished and been answered, or when `signal` aborts. Returns how many still run then.
   */
  async drain (signal: AbortSignal): Promise<number> {
    this.draining = true
    for (const job of this.queue.removeWhere(() => true)) {
      this.share.removed(job.submitter, job.req.payload.byteLength)
      this.components.metrics.tasksExecuted.inc({ type: job.req.type, outcome: 'busy' })
      job.resolve(this.response(job.req, Status.BUSY, { error: 'worker is draining' }))
    }
    this.gauges()
    if (this.running > 0 && !signal.aborted) {
      await new Promise<void>(resolve => {
        const done = (): void => { this.idle.delete(done); signal.removeEventListener('abort', done); resolve() }
        this.idle.add(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
    return this.running
  }

  /**
   * tasks queued or running here, by the capability their handler needs (`any`: every worker runs it); every
   * capability this worker serves is there at 0 when idle, so a scaler's sum reads 0, not "no data"
   */
  workByCapability (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const h of this.handlers.values()) out[h.capability ?? 'any'] = 0
    for (const job of this.jobs.values()) {
      const c = job.handler.capability ?? 'any'
      out[c] = (out[c] ?? 0) + 1
    }
    return out
  }

  /** tasks running now */
  get runningCount (): number { return this.running }
  get queueCapacity (): number { return this.init.maxQueue }

  stop (): void {
    this.stopping.abort(new Error('node stopping'))
    for (const job of this.queue.removeWhere(() => true)) {
      this.share.removed(job.submitter, job.req.payload.byteLength)
      job.resolve(this.response(job.req, Status.BUSY, { error: 'worker is stopping' }))
    }
    this.jobs.clear()
    for (const off of this.unregister) off()
  }

  /** tasks waiting, per priority class (rewards by order of magnitude) */
  queueDepth (): Record<PriorityClass, number> { return this.queue.depthByClass() }

  /**
   * Stops the task `id` for `submitter` (only the peer that sent it may): a queued one is dropped, a running
   * one aborted (a command handler's process group killed, a module handler's thread stopped). Its own answer,
   * CANCELLED, goes back on the request that started it.
   */
  cancel (id: string, submitter: string): CancelOutcome {
    const job = this.jobs.get(keyOf(submitter, id))
    let outcome: CancelOutcome
    // another peer's task of the same id is another task: not found from here
    if (job == null) outcome = this.anyJob(id) ? 'refused' : 'unknown'
    else if (this.queue.removeWhere(j => j === job).length > 0) {
      outcome = 'queued'
      this.share.removed(job.submitter, job.req.payload.byteLength)
      this.jobs.delete(job.key)
      this.components.metrics.tasksExecuted.inc({ type: job.req.type, outcome: 'cancelled' })
      job.resolve(this.response(job.req, Status.CANCELLED, { error: 'cancelled while queued', queueMs: Date.now() - job.enqueuedAt }))
      this.gauges()
    } else {
      outcome = 'running'
      job.cancel.abort(new CancelledError())
    }
    this.components.metrics.taskCancelRequests.inc({ outcome })
    return outcome
  }

  /**
   * Runs (or queues) one task and answers when it is done. `submitter`: who sent it (fairness and cancel
   * rights); `onProgress`: a followed task's output as it comes.
   */
  async execute (req: TaskRequest, now = Date.now(), opts: { submitter?: string, onProgress?: ProgressSink } = {}): Promise<TaskResponse> {
    const handler = this.handlers.get(req.type)
    if (handler == null) return this.response(req, Status.REJECTED, { error: `this worker does not run task type "${req.type}"` })
    if (req.payload.byteLength > this.init.maxPayload) {
      return this.response(req, Status.REJECTED, { error: `payload of ${req.payload.byteLength} bytes is over this worker's limit of ${this.init.maxPayload}` })
    }
    if (!TASK_ID.test(req.id)) return this.response(req, Status.REJECTED, { error: 'a task id is 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit' })
    const submitter = opts.submitter ?? this.init.selfPeerId
    const key = keyOf(submitter, req.id)
    const digest = digestOf(req)
    const earlier = this.seen.get(key, now)
    if (earlier != null) {
      if (earlier.digest !== digest) return this.response(req, Status.REJECTED, { error: `task id ${req.id} was used for another request (another type, payload or params)` })
      this.components.metrics.taskDuplicates.inc()
      return { ...(await earlier.answer), duplicate: true }
    }
    if (this.stopping.signal.aborted) return this.response(req, Status.BUSY, { error: 'worker is stopping' })
    if (this.draining) return this.response(req, Status.BUSY, { error: 'worker is draining' })
    const refusal = this.room(req, submitter)
    if (refusal != null) {
      this.components.metrics.tasksExecuted.inc({ type: req.type, outcome: 'busy' })
      return this.response(req, Status.BUSY, { error: refusal })
    }
    // the submitter asks for a timeout; this worker grants at most its own maximum (and what a timer can hold)
    const asked = req.timeoutMs > 0 ? req.timeoutMs : this.init.defaultTimeoutMs
    const timeout = Math.min(asked, this.init.maxTimeoutMs, handler.timeoutMs ?? Infinity, MAX_TIMER_MS)
    // the reward orders the queue and is credited: a claim past this worker's policy counts as its maximum
    const reward = Math.min(Number(req.reward), this.init.maxReward)
    const promise = new Promise<TaskResponse>(resolve => {
      const job: Job = { req, key, handler, reward, submitter, enqueuedAt: now, deadline: now + timeout, cancel: new AbortController(), onProgress: opts.onProgress, resolve }
      this.jobs.set(key, job)
      this.queue.push(job)
      this.share.added(job.submitter, job.req.payload.byteLength)
    })
    void promise.then(() => { this.jobs.delete(key) })
    this.seen.set(key, { digest, answer: promise }, now)
    // what the answer holds counts against dedup_max_bytes (plus a rough per-entry overhead)
    void promise.then(res => { this.seen.weigh(key, res.result.byteLength + res.error.length + ENTRY_OVERHEAD, Date.now()) })
    this.gauges()
    this.pump()
    return await promise
  }

  /** why a new task from `submitter` cannot wait here now (undefined: it can) */
  private room (req: TaskRequest, submitter: string): string | undefined {
    if (this.running < this.init.maxConcurrency && this.queue.size === 0) return undefined
    return this.share.refusal(req.payload.byteLength, submitter, this.queue.size, this.queue.capacity)
  }

  private anyJob (id: string): boolean {
    for (const job of this.jobs.values()) if (job.req.id === id) return true
    return false
  }

  private pump (): void {
    while (this.running < this.init.maxConcurrency && this.queue.size > 0) {
      const job = this.queue.pop()!
      this.share.removed(job.submitter, job.req.payload.byteLength)
      this.running++
      this.gauges()
      void this.run(job).then(res => {
        this.running--
        job.resolve(res)
        this.gauges()
        this.pump()
        if (this.running === 0) for (const done of [...this.idle]) done()
      })
    }
  }

  private async run (job: Job): Promise<TaskResponse> {
    const { req, handler } = job
    const started = Date.now()
    const queueMs = started - job.enqueuedAt
    const remaining = job.deadline - started
    const m = this.components.metrics
    if (remaining <= 0) {
      m.tasksExecuted.inc({ type: req.type, outcome: 'timeout' })
      return this.response(req, Status.TIMEOUT, { error: `waited ${queueMs}ms in the queue, past its timeout`, queueMs })
    }
    // one controller and one timer per task: AbortSignal.any/timeout cost far more on this hot path
    const ac = new AbortController()
    const timer = setTimeout(() => { ac.abort(new Error('timeout')) }, remaining)
    const onStop = (): void => { ac.abort(this.stopping.signal.reason) }
    const onCancel = (): void => { ac.abort(job.cancel.signal.reason) }
    this.stopping.signal.addEventListener('abort', onStop, { once: true })
    job.cancel.signal.addEventListener('abort', onCancel, { once: true })
    const signal = ac.signal
    const sink = job.onProgress
    const progress = sink == null ? noProgress : (msg: string | Uint8Array): void => { if (!signal.aborted) sink(typeof msg === 'string' ? encoder.encode(msg) : msg) }
    try {
      const result = await raceAbort(handler.run({
        id: req.id, payload: req.payload, params: Object.fromEntries(req.params), signal, progress, followed: sink != null, submit: this.components.submit ?? cannotSubmit, selfPeerId: this.init.selfPeerId
      }), signal)
      const runMs = Date.now() - started
      // the answer must fit a frame a submitter reads (its max_payload + 64 KiB; ours is the one we know)
      if (result.byteLength > this.init.maxPayload) {
        this.counter(req.type, 'error').inc()
        return this.response(req, Status.ERROR, { error: `output of ${result.byteLength} bytes is over tasks.max_payload (${this.init.maxPayload}), the largest answer a task stream carries`, queueMs, runMs })
      }
      this.counter(req.type, 'ok').inc()
      this.runHistogram(req.type).observe(runMs / 1000)
      const reward = job.reward
      if (reward > 0) {
        this.components.ledger.credit(req.type, reward)
        m.rewardsEarned.inc({ type: req.type }, reward)
      }
      return this.response(req, Status.OK, { result: result as Uint8Array<ArrayBuffer>, queueMs, runMs, reward: BigInt(reward) })
    } catch (err: any) {
      const runMs = Date.now() - started
      if (signal.aborted && signal.reason instanceof CancelledError) {
        m.tasksExecuted.inc({ type: req.type, outcome: 'cancelled' })
        return this.response(req, Status.CANCELLED, { error: 'cancelled while running', queueMs, runMs })
      }
      if (signal.aborted) {
        m.tasksExecuted.inc({ type: req.type, outcome: 'timeout' })
        return this.response(req, Status.TIMEOUT, { error: this.stopping.signal.aborted ? 'worker is stopping' : `timed out after ${remaining}ms`, queueMs, runMs })
      }
      if (err instanceof NotFoundError) {
        m.tasksExecuted.inc({ type: req.type, outcome: 'not_found' })
        return this.response(req, Status.NOT_FOUND, { error: err.message, queueMs, runMs })
      }
      this.counter(req.type, 'error').inc()
      if (!(err instanceof HandlerError)) this.components.logger.warn({ type: req.type, id: req.id, err: err.message }, 'task handler failed unexpectedly')
      return this.response(req, Status.ERROR, { error: err.message, queueMs, runMs })
    } finally {
      clearTimeout(timer)
      this.stopping.signal.removeEventListener('abort', onStop)
      job.cancel.signal.removeEventListener('abort', onCancel)
    }
  }

  private readonly counters = new Map<string, { inc: () => void }>()
  private readonly histograms = new Map<string, { observe: (v: number) => void }>()
  /** labelled children looked up once per type and outcome, not on every task */
  private counter (type: string, outcome: string): { inc: () => void } {
    const key = `${type}\u0000${outcome}`
    let c = this.counters.get(key)
    if (c == null) this.counters.set(key, c = this.components.metrics.tasksExecuted.labels({ type, outcome }))
    return c
  }

  private runHistogram (type: string): { observe: (v: number) => void } {
    let h = this.histograms.get(type)
    if (h == null) this.histograms.set(type, h = this.components.metrics.taskRunSeconds.labels({ type }))
    return h
  }

  private gauges (): void {
    this.components.metrics.taskQueueDepth.set(this.queue.size)
    this.components.metrics.tasksRunning.set(this.running)
  }

  private response (req: TaskRequest, status: TaskResponse.Status, extra: Partial<TaskResponse>): TaskResponse {
    return {
      id: req.id, status, result: new Uint8Array(), error: '', worker: this.init.selfPeerIdBytes as Uint8Array<ArrayBuffer>,
      queueMs: 0, runMs: 0, reward: 0n, duplicate: false, dropped: 0, ...extra
    }
  }
}

const keyOf = (submitter: string, id: string): string => `${submitter}\u0000${id}`
