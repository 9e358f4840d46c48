import { encode } from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { taskRequestDecoder, taskResponseDecoder } from './frames.js'
import { TaskRequest, TaskResponse } from '../messages/tasks.js'
import { openStream } from '../libp2p/streams.js'
import { TokenBuckets } from '../util/rate-limit.js'
import type { Executor } from './executor.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { STREAM_LIMITS } from '../messages/protocols.js'

/** an attempt that got no answer: the caller retries elsewhere */
export class AttemptError extends Error {
  override name = 'AttemptError'
  /** `unreachable`: no task stream could be opened to the worker (no route, or it does not speak the protocol) */
  constructor (readonly failure: 'timeout' | 'disconnect' | 'rejected', message: string, readonly unreachable = false) {
    super(message)
  }
}

export interface TaskNetworkComponents {
  libp2p: Pick<Node, 'peerId' | 'handle' | 'unhandle' | 'getConnections' | 'dialProtocol'>
  /** workers: tasks asked of this node run here */
  executor?: Executor
  metrics: Metrics
  logger: Logger
}

export interface TaskNetworkInit {
  protocol: string
  maxPayload: number
  /** streams of this protocol one peer may open to us at once */
  maxInboundStreams?: number
  /** also serve the raw echo protocol (a measuring baseline) */
  rawEcho?: string
  /** peers whose requests this worker runs (empty: anyone) */
  allowedSubmitters?: string[]
  /** per-peer token bucket on task requests: per second (0: off), burst */
  rateLimit?: number
  rateBurst?: number
}

const CANCEL_FRAME: TaskRequest = { id: '', type: '', payload: new Uint8Array(), reward: 0n, timeoutMs: 0, attempt: 0, submitter: new Uint8Array(), params: new Map(), cancel: true, follow: false }
const PROGRESS_FRAME: TaskResponse = { id: '', status: TaskResponse.Status.PROGRESS, result: new Uint8Array(), error: '', worker: new Uint8Array(), queueMs: 0, runMs: 0, reward: 0n, duplicate: false, dropped: 0 }

/** frames may carry the payload plus the request's other fields */
const FRAME_OVERHEAD = STREAM_LIMITS.taskFrameOverhead

/** progress frames one stream may have waiting to be written; past this they are dropped, never buffered */
const MAX_PENDING_PROGRESS = 32

/** Serializes writes on a stream and waits for drain when its buffer is full (backpressure). */
class Writer {
  private chain: Promise<void> = Promise.resolve()
  /** frames queued behind a full stream buffer, and their bytes */
  private pending = 0
  private pendingBytes = 0
  /**
   * `maxFrame`: the largest frame (it-length-prefixed refuses frames over 4 MiB unless told otherwise);
   * `onBacklog`: told when the bytes waiting to be written pass `maxPendingBytes` (true) and when they are back
   * under half of it (false)
   */
  constructor (private readonly stream: Stream, private readonly maxFrame: number, private readonly maxPendingBytes = Infinity, private readonly onBacklog?: (behind: boolean) => void) {}

  get backlog (): number { return this.pendingBytes }

  write (frame: Uint8Array): Promise<void> {
    let data: Uint8ArrayList | Uint8Array
    try {
      data = encode.single(frame, { maxDataLength: this.maxFrame })
    } catch (err: any) {
      return Promise.reject(new AttemptError('rejected', `frame of ${frame.byteLength} bytes: ${err.message}`))
    }
    const size = data.byteLength
    this.pending++
    this.pendingBytes += size
    if (this.pendingBytes > this.maxPendingBytes && this.pendingBytes - size <= this.maxPendingBytes) this.onBacklog?.(true)
    this.chain = this.chain.then(async () => {
      if (this.stream.status !== 'open') throw new AttemptError('disconnect', 'stream closed')
      if (!this.stream.send(data)) await this.stream.onDrain()
    }).finally(() => {
      this.pending--
      const before = this.pendingBytes
      this.pendingBytes -= size
      if (before > this.maxPendingBytes / 2 && this.pendingBytes <= this.maxPendingBytes / 2) this.onBacklog?.(false)
    })
    return this.chain
  }

  /** writes a frame that may be lost (a followed task's output): false, and nothing queued, when the reader is behind */
  offer (frame: Uint8Array): boolean {
    if (this.pending >= MAX_PENDING_PROGRESS) return false
    this.write(frame).catch(() => {})
    return true
  }
}

interface Waiter {
  resolve: (r: TaskResponse) => void
  reject: (e: Error) => void
  onProgress?: (data: Uint8Array, dropped: number) => void
}

/** One long-lived outbound stream to a worker; requests are matched to responses by task id. */
class Channel {
  private readonly pending = new Map<string, Waiter[]>()
  private readonly writer: Writer
  closed = false

  constructor (readonly stream: Stream, maxFrame: number, onInvalid: () => void, onClose: () => void) {
    this.writer = new Writer(stream, maxFrame)
    const decode = taskResponseDecoder(maxFrame)
    stream.addEventListener('message', evt => {
      try {
        for (const res of decode(evt.data)) {
          if (res.status === TaskResponse.Status.PROGRESS) {
            for (const w of this.pending.get(res.id) ?? []) w.onProgress?.(res.result, res.dropped)
            continue
          }
          const waiters = this.pending.get(res.id)
          this.pending.delete(res.id)
          for (const w of waiters ?? []) w.resolve(res)
        }
      } catch (err: any) {
        onInvalid()
        stream.abort(err)
      }
    })
    stream.addEventListener('close', () => {
      this.closed = true
      for (const waiters of this.pending.values()) for (const w of waiters) w.reject(new AttemptError('disconnect', 'connection to the worker was lost'))
      this.pending.clear()
      onClose()
    })
  }

  get inFlight (): number { return this.pending.size }

  /** fails every request waiting here (the caller retries them elsewhere) and drops the stream */
  abandon (reason: string): void {
    this.closed = true
    for (const waiters of this.pending.values()) for (const w of waiters) w.reject(new AttemptError('disconnect', reason))
    this.pending.clear()
    this.stream.abort(new Error(reason))
  }

  /** asks the worker to stop task `id` (its answer comes back on the request that started it) */
  cancel (id: string): void {
    this.writer.write(TaskRequest.encode({ ...CANCEL_FRAME, id })).catch(() => {})
  }

  async request (req: TaskRequest, timeoutMs: number, onProgress?: Waiter['onProgress']): Promise<TaskResponse> {
    return await new Promise<TaskResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove()
        reject(new AttemptError('timeout', `no answer within ${timeoutMs}ms`))
      }, timeoutMs)
      const waiter: Waiter = {
        resolve: (r: TaskResponse) => { clearTimeout(timer); resolve(r) },
        reject: (e: Error) => { clearTimeout(timer); reject(e) },
        onProgress
      }
      const remove = (): void => {
        const list = this.pending.get(req.id)?.filter(w => w !== waiter)
        if (list == null || list.length === 0) this.pending.delete(req.id)
        else this.pending.set(req.id, list)
      }
      const list = this.pending.get(req.id) ?? []
      list.push(waiter)
      this.pending.set(req.id, list)
      this.writer.write(TaskRequest.encode(req)).catch(err => {
        remove()
        waiter.reject(err instanceof AttemptError ? err : new AttemptError('disconnect', err.message))
      })
    })
  }
}

/**
 * The only module that touches task streams. Submitters keep one stream per worker and multiplex many tasks
 * over it; workers answer on the stream they were asked on, in completion order.
 */
export class TaskNetwork {
  private readonly channels = new Map<string, Promise<Channel>>()
  private readonly inbound = new Set<Stream>()
  private readonly maxFrame: number
  /** answer bytes one inbound stream may have unsent before its requests are no longer read */
  private readonly maxPendingAnswers: number

  private readonly libp2p: TaskNetworkComponents['libp2p']
  private readonly executor?: Executor
  private readonly metrics: Metrics
  private readonly logger: Logger

  private readonly init: TaskNetworkInit & Required<Pick<TaskNetworkInit, 'maxInboundStreams' | 'rateLimit' | 'rateBurst'>>

  constructor (components: TaskNetworkComponents, init: TaskNetworkInit) {
    ({ libp2p: this.libp2p, executor: this.executor, metrics: this.metrics, logger: this.logger } = components)
    this.init = { maxInboundStreams: 8, rateLimit: 0, rateBurst: 1, ...init }
    this.maxFrame = init.maxPayload + FRAME_OVERHEAD
    this.maxPendingAnswers = Math.max(8 * 1024 ** 2, 2 * this.maxFrame)
  }

  async start (): Promise<void> {
    if (this.init.rawEcho != null) {
      await this.libp2p.handle(this.init.rawEcho, stream => {
        // bytes back as they come, pausing the reader while the writer drains
        stream.addEventListener('message', evt => {
          if (!stream.send(evt.data)) {
            stream.pause()
            void stream.onDrain().then(() => { stream.resume() }, () => {})
          }
        })
        // the caller is done writing: finish our side too, so its close() completes
        stream.addEventListener('remoteCloseWrite', () => { void stream.close().catch(() => {}) })
      }, { maxInboundStreams: 8 })
    }
    if (this.executor == null) return
    await this.libp2p.handle(this.init.protocol, (stream, connection) => { this.serve(stream, connection) }, {
      maxInboundStreams: this.init.maxInboundStreams,
      runOnLimitedConnection: true
    })
  }

  async stop (): Promise<void> {
    if (this.executor != null) await this.libp2p.unhandle(this.init.protocol).catch(() => {})
    if (this.init.rawEcho != null) await this.libp2p.unhandle(this.init.rawEcho).catch(() => {})
    for (const s of this.inbound) s.abort(new Error('node stopping'))
    const channels = await Promise.allSettled(this.channels.values())
    for (const c of channels) if (c.status === 'fulfilled') c.value.stream.abort(new Error('node stopping'))
    this.channels.clear()
  }

  /**
   * The worker stopped answering heartbeats (frozen, or cut off while its TCP connection looks open): fail its
   * in-flight attempts now so they are retried elsewhere, instead of when pings finally close the connection.
   */
  async abandon (peer: string, reason: string): Promise<void> {
    const channel = await this.channels.get(peer)?.catch(() => undefined)
    if (channel == null || channel.closed) return
    if (channel.inFlight > 0) this.logger.info({ peer, tasks: channel.inFlight }, 'retrying the tasks of a member that went away')
    channel.abandon(reason)
  }

  /** sends one attempt to `peer` and waits for its response; `onProgress` gets a followed task's output */
  async request (peer: PeerId, req: TaskRequest, timeoutMs: number, onProgress?: (data: Uint8Array, dropped: number) => void, signal?: AbortSignal): Promise<TaskResponse> {
    const channel = await this.channel(peer, timeoutMs)
    if (signal?.aborted === true) throw new AttemptError('rejected', 'cancelled before it was sent')
    // a cancel goes to the worker on the same stream, behind the request: the worker answers CANCELLED on it
    const onAbort = (): void => { channel.cancel(req.id) }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await channel.request(req, timeoutMs, onProgress)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }


  private async channel (peer: PeerId, timeoutMs: number): Promise<Channel> {
    const key = peer.toString()
    const existing = this.channels.get(key)
    if (existing != null) {
      const c = await existing.catch(() => undefined)
      if (c != null && !c.closed && c.stream.status === 'open') return c
      if (this.channels.get(key) === existing) this.channels.delete(key)
    }
    const opening = (async () => {
      let stream: Stream
      try {
        stream = await openStream(this.libp2p, peer, this.init.protocol, { signal: AbortSignal.timeout(timeoutMs) })
      } catch (err: any) {
        throw new AttemptError(err.name === 'UnsupportedProtocolError' ? 'rejected' : 'disconnect', `cannot open a task stream: ${err.message}`, true)
      }
      return new Channel(stream, this.maxFrame, () => { this.metrics.invalidMessages.inc({ reason: 'task_frame' }) }, () => {
        if (this.channels.get(key) === opening) this.channels.delete(key)
      })
    })()
    this.channels.set(key, opening)
    opening.catch(() => { if (this.channels.get(key) === opening) this.channels.delete(key) })
    return await opening
  }

  private allowed?: Set<string>
  private buckets?: TokenBuckets
  private selfBytes?: Uint8Array

  /** a refusal for a request from `peer`, or undefined when it may run (allowlist, then rate limit) */
  private gate (peer: string, req: TaskRequest): TaskResponse | undefined {
    this.allowed ??= new Set(this.init.allowedSubmitters ?? [])
    this.buckets ??= new TokenBuckets(this.init.rateLimit, this.init.rateBurst)
    let status: TaskResponse.Status | undefined
    let error = ''
    if (this.allowed.size > 0 && !this.allowed.has(peer)) {
      status = TaskResponse.Status.REJECTED
      error = 'this worker does not take tasks from your peer id (tasks.allowed_submitters)'
      this.metrics.accessDenied.inc({ what: 'task' })
      this.logger.debug({ peer, id: req.id }, 'task refused: submitter not allowed')
    } else if (!this.buckets.take(peer)) {
      status = TaskResponse.Status.BUSY
      error = 'rate limit: too many requests from your peer (tasks.rate_limit)'
      this.metrics.rateLimited.inc({ what: 'task' })
    }
    if (status == null) return undefined
    this.selfBytes ??= this.libp2p.peerId.toMultihash().bytes
    return { id: req.id, status, result: new Uint8Array(), error, worker: this.selfBytes as Uint8Array<ArrayBuffer>, queueMs: 0, runMs: 0, reward: 0n, duplicate: false, dropped: 0 }
  }

  /** stream opens per peer: a long-lived stream is the normal case, so a few a second is plenty */
  private readonly streamBuckets = new TokenBuckets(2, 16)

  /** a followed task's output as PROGRESS frames; what the stream cannot take now is dropped and counted */
  private progressSink (writer: Writer, id: string): (data: Uint8Array) => void {
    let dropped = 0
    return data => {
      const frame = TaskResponse.encode({ ...PROGRESS_FRAME, id, result: data as Uint8Array<ArrayBuffer>, dropped })
      if (writer.offer(frame)) dropped = 0
      else {
        dropped++
        this.metrics.taskProgressDropped.inc()
      }
    }
  }

  private serve (stream: Stream, connection: Connection): void {
    const executor = this.executor!
    const peer = connection.remotePeer.toString()
    if (!this.streamBuckets.take(peer)) {
      this.metrics.rateLimited.inc({ what: 'task_stream' })
      stream.abort(new Error('too many task streams opened'))
      return
    }
    this.inbound.add(stream)
    // room for the largest request while paused; a submitter that sends past it is cut off (the stream reset)
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 2 * this.maxFrame)
    // a submitter that sends requests and never reads the answers: once its unread answers pass the bound, its
    // requests are not read either (Yamux stops its window), so what it can make this worker hold stays bounded
    let paused = false
    const writer = new Writer(stream, this.maxFrame, this.maxPendingAnswers, behind => {
      if (behind === paused || stream.status !== 'open') return
      paused = behind
      if (behind) {
        this.metrics.taskStreamsPaused.inc()
        this.logger.debug({ peer, bytes: writer.backlog }, 'a submitter is not reading its answers: its stream is paused')
        stream.pause()
      } else {
        stream.resume()
      }
    })
    const decode = taskRequestDecoder(this.maxFrame)
    const submitter = connection.remotePeer.toMultihash().bytes
    stream.addEventListener('message', evt => {
      let frames: TaskRequest[]
      try {
        frames = decode(evt.data)
      } catch (err: any) {
        // a malformed frame poisons the stream (frame boundaries are lost): drop the stream, keep the node
        this.metrics.invalidMessages.inc({ reason: 'task_frame' })
        this.logger.debug({ peer: connection.remotePeer.toString(), err: err.message }, 'malformed task frame')
        stream.abort(err)
        return
      }
      for (const req of frames) {
        // a cancel is not a new task: no rate limit; the executor checks that it comes from the task's submitter
        if (req.cancel) { executor.cancel(req.id, peer); continue }
        const refused = this.gate(peer, req)
        if (refused != null) {
          writer.write(TaskResponse.encode(refused)).catch(() => {})
          continue
        }
        void executor.execute({ ...req, submitter: submitter as Uint8Array<ArrayBuffer> }, Date.now(), { submitter: peer, onProgress: req.follow ? this.progressSink(writer, req.id) : undefined })
          .then(async res => { await writer.write(TaskResponse.encode(res)) })
          .catch(err => { this.logger.debug({ err: err.message }, 'could not send a task response') })
      }
    })
    stream.addEventListener('close', () => { this.inbound.delete(stream) })
  }
}
