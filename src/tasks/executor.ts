import { TaskResponse, type TaskRequest } from '../messages/tasks.js'
import { BoundedCache } from './bounded-cache.js'
import { HandlerError, NotFoundError, type Handler, type HandlerContext } from './handlers/handler.js'
import { TaskQueue, type PriorityClass, type QueueItem } from './queue.js'
import { raceAbort } from '../lifetime.js'
import type { Ledger } from './ledger.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'

export interface ExecutorInit {
  handlers: Handler[]
  selfPeerId: string
  selfPeerIdBytes: Uint8Array
  maxConcurrency: number
  maxQueue: number
  maxPayload: number
  dedupTtlMs: number
  /** the dedup cache's other bounds (defaults 10,000 ids, 32 MiB of answers) */
  dedupMaxEntries?: number
  dedupMaxBytes?: number
  defaultTimeoutMs: number
}

export interface ExecutorComponents {
  metrics: Metrics
  logger: Logger
  ledger: Ledger
}

interface Job extends QueueItem {
  req: TaskRequest
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
export class CancelledError extends Error {
  override name = 'CancelledError'
  constructor () { super('cancelled by its submitter') }
}

const { Status } = TaskResponse
const encoder = new TextEncoder()
const noProgress = (): void => {}
/** bytes a remembered answer costs beyond its result: the response object, the promise, the map entry */
const ENTRY_OVERHEAD = 500

/**
 * Runs tasks on a worker: a bounded queue ordered by reward then age, at most `maxConcurrency` at once, and
 * a `busy` answer when the queue is full. A task id seen before returns the first outcome (or joins the
 * running attempt) instead of running again.
 */
export class Executor {
  private readonly handlers = new Map<string, Handler>()
  private readonly queue: TaskQueue<Job>
  private readonly seen: BoundedCache<Promise<TaskResponse>>
  /** queued and running tasks by id: what a cancel can reach */
  private readonly jobs = new Map<string, Job>()
  private readonly stopping = new AbortController()
  private running = 0

  /** how handlers submit tasks of their own (storage replication): the node's submitter, once it exists */
  private submit: HandlerContext['submit'] = async () => ({ ok: false, error: 'this node cannot submit tasks' })

  constructor (private readonly deps: ExecutorComponents, private readonly init: ExecutorInit) {
    for (const h of init.handlers) this.handlers.set(h.type, h)
    this.queue = new TaskQueue(init.maxQueue)
    deps.metrics.sources.dedup = () => this.dedupStats()
    deps.metrics.sources.queueByClass = () => this.queue.depthByClass()
    this.seen = new BoundedCache({ ttlMs: init.dedupTtlMs, maxEntries: init.dedupMaxEntries ?? 10_000, maxBytes: init.dedupMaxBytes ?? 32 * 1024 ** 2 })
  }

  submitThrough (submit: HandlerContext['submit']): void { this.submit = submit }

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
  get queueCapacity (): number { return this.init.maxQueue }

  stop (): void {
    this.stopping.abort(new Error('node stopping'))
    for (const job of this.queue.removeWhere(() => true)) job.resolve(this.response(job.req, Status.BUSY, { error: 'worker is stopping' }))
    this.jobs.clear()
  }

  /** tasks waiting, per priority class (rewards by order of magnitude) */
  queueDepth (): Record<PriorityClass, number> { return this.queue.depthByClass() }

  /**
   * Stops the task `id` for `submitter` (only the peer that sent it may): a queued one is dropped, a running
   * one aborted (a command handler's process group killed, a module handler's thread stopped). Its own answer,
   * CANCELLED, goes back on the request that started it.
   */
  cancel (id: string, submitter: string): CancelOutcome {
    const job = this.jobs.get(id)
    let outcome: CancelOutcome
    if (job == null) outcome = 'unknown'
    else if (job.submitter !== submitter) outcome = 'refused'
    else if (this.queue.removeWhere(j => j === job).length > 0) {
      outcome = 'queued'
      this.jobs.delete(id)
      this.deps.metrics.tasksExecuted.inc({ type: job.req.type, outcome: 'cancelled' })
      job.resolve(this.response(job.req, Status.CANCELLED, { error: 'cancelled while queued', queueMs: Date.now() - job.enqueuedAt }))
      this.gauges()
    } else {
      outcome = 'running'
      job.cancel.abort(new CancelledError())
    }
    this.deps.metrics.taskCancelRequests.inc({ outcome })
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
    if (req.id === '' || req.id.length > 128) return this.response(req, Status.REJECTED, { error: 'task id must be 1-128 characters' })
    const earlier = this.seen.get(req.id, now)
    if (earlier != null) {
      this.deps.metrics.taskDuplicates.inc()
      return { ...(await earlier), duplicate: true }
    }
    if (this.stopping.signal.aborted) return this.response(req, Status.BUSY, { error: 'worker is stopping' })
    if (this.queue.full && this.running >= this.init.maxConcurrency) {
      this.deps.metrics.tasksExecuted.inc({ type: req.type, outcome: 'busy' })
      return this.response(req, Status.BUSY, { error: 'queue full' })
    }
    const timeout = Math.min(req.timeoutMs > 0 ? req.timeoutMs : this.init.defaultTimeoutMs, handler.timeoutMs ?? Infinity)
    const submitter = opts.submitter ?? this.init.selfPeerId
    const promise = new Promise<TaskResponse>(resolve => {
      const job: Job = { req, handler, reward: Number(req.reward), submitter, enqueuedAt: now, deadline: now + timeout, cancel: new AbortController(), onProgress: opts.onProgress, resolve }
      this.jobs.set(req.id, job)
      this.queue.push(job)
    })
    void promise.then(() => { this.jobs.delete(req.id) })
    this.seen.set(req.id, promise, now)
    // what the answer holds counts against dedup_max_bytes (plus a rough per-entry overhead)
    void promise.then(res => { this.seen.weigh(req.id, res.result.byteLength + res.error.length + ENTRY_OVERHEAD, Date.now()) })
    this.gauges()
    this.pump()
    return await promise
  }

  private pump (): void {
    while (this.running < this.init.maxConcurrency && this.queue.size > 0) {
      const job = this.queue.pop()!
      this.running++
      this.gauges()
      void this.run(job).then(res => {
        this.running--
        job.resolve(res)
        this.gauges()
        this.pump()
      })
    }
  }

  private async run (job: Job): Promise<TaskResponse> {
    const { req, handler } = job
    const started = Date.now()
    const queueMs = started - job.enqueuedAt
    const remaining = job.deadline - started
    const m = this.deps.metrics
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
        id: req.id, payload: req.payload, params: Object.fromEntries(req.params), signal, progress, followed: sink != null, submit: this.submit, selfPeerId: this.init.selfPeerId
      }), signal)
      const runMs = Date.now() - started
      // the answer must fit a frame a submitter reads (its max_payload + 64 KiB; ours is the one we know)
      if (result.byteLength > this.init.maxPayload) {
        this.counter(req.type, 'error').inc()
        return this.response(req, Status.ERROR, { error: `output of ${result.byteLength} bytes is over tasks.max_payload (${this.init.maxPayload}), the largest answer a task stream carries`, queueMs, runMs })
      }
      this.counter(req.type, 'ok').inc()
      this.runHistogram(req.type).observe(runMs / 1000)
      const reward = Number(req.reward)
      if (reward > 0) {
        this.deps.ledger.credit(req.type, reward)
        m.rewardsEarned.inc({ type: req.type }, reward)
      }
      return this.response(req, Status.OK, { result: result as Uint8Array<ArrayBuffer>, queueMs, runMs, reward: req.reward })
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
      if (!(err instanceof HandlerError)) this.deps.logger.warn({ type: req.type, id: req.id, err: err.message }, 'task handler failed unexpectedly')
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
    if (c == null) this.counters.set(key, c = this.deps.metrics.tasksExecuted.labels({ type, outcome }))
    return c
  }

  private runHistogram (type: string): { observe: (v: number) => void } {
    let h = this.histograms.get(type)
    if (h == null) this.histograms.set(type, h = this.deps.metrics.taskRunSeconds.labels({ type }))
    return h
  }

  private gauges (): void {
    this.deps.metrics.taskQueueDepth.set(this.queue.size)
    this.deps.metrics.tasksRunning.set(this.running)
  }

  private response (req: TaskRequest, status: TaskResponse.Status, extra: Partial<TaskResponse>): TaskResponse {
    return {
      id: req.id, status, result: new Uint8Array(), error: '', worker: this.init.selfPeerIdBytes as Uint8Array<ArrayBuffer>,
      queueMs: 0, runMs: 0, reward: 0n, duplicate: false, dropped: 0, ...extra
    }
  }
}
