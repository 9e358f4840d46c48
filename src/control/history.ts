/**
 * A node's recent history kept by the node itself (`GET /api/history`): one sample every `intervalMs` of its
 * connections, gossip messages per second, RSS, event-loop lag and the tasks taken here (rate, failures, latency
 * p50/p99), in a ring of `keep` samples (default 10 s
 * × 180: the last 30 minutes), so the last half hour can be seen without a Prometheus.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Ring } from '../util/ring.js'
import type { Startable } from '../util/startable.js'
import type { HistorySample } from '../messages/api.js'
export type { HistorySample } from '../messages/api.js'


/** durations kept per interval for the percentiles (a flood past this still counts in the rate) */
const MAX_DURATIONS = 20_000

export interface HistoryComponents {
  connections: () => number
  /** gossip messages received so far (a running count) */
  messages: () => number
  /** told of each sample (the node's event stream) */
  onSample?: (s: HistorySample) => void
}

/** the node's own history: a sample every interval, the last `keep` of them */
export function createHistory (components: HistoryComponents, init: { intervalMs: number, keep?: number }): History {
  return new History(components, init)
}

export class History implements Startable {
  private readonly ring: Ring<HistorySample>
  private timer?: NodeJS.Timeout
  private lag?: ReturnType<typeof monitorEventLoopDelay>
  private lastMessages = 0
  private lastAt = 0
  private durations: number[] = []
  private finished = 0
  private failed = 0
  private readonly intervalMs: number

  constructor (private readonly components: HistoryComponents, init: { intervalMs: number, keep?: number }) {
    this.intervalMs = init.intervalMs
    this.ring = new Ring(init.keep ?? 180)
  }

  start (): void {
    if (this.timer != null) return
    this.lag = monitorEventLoopDelay({ resolution: 20 })
    this.lag.enable()
    this.lastMessages = this.components.messages()
    this.lastAt = performance.now()
    this.timer = setInterval(() => { this.sample() }, this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.lag?.disable()
  }

  samples (): HistorySample[] { return this.ring.toArray() }

  /** a task taken here finished (`durationMs`: submit → result) */
  taskFinished (durationMs: number, ok: boolean): void {
    this.finished++
    if (!ok) this.failed++
    if (this.durations.length < MAX_DURATIONS) this.durations.push(durationMs)
  }

  /** takes one sample now (the timer calls it every interval) */
  sample (): HistorySample {
    const now = performance.now()
    const messages = this.components.messages()
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000)
    const ns = (v: number | undefined): number => Number.isFinite(v) ? Math.round((v as number) / 1e4) / 100 : 0
    const sorted = this.durations.sort((a, b) => a - b)
    const s: HistorySample = {
      at: Date.now(),
      connections: this.components.connections(),
      messagesPerSecond: Math.round((messages - this.lastMessages) / seconds * 10) / 10,
      rssBytes: process.memoryUsage.rss(),
      loopLagP50Ms: ns(this.lag?.percentile(50)),
      loopLagMaxMs: ns(this.lag?.max),
      tasksPerSecond: Math.round(this.finished / seconds * 100) / 100,
      taskFailures: this.failed,
      taskP50Ms: percentile(sorted, 0.5),
      taskP99Ms: percentile(sorted, 0.99)
    }
    this.lag?.reset()
    this.durations = []
    this.finished = 0
    this.failed = 0
    this.lastMessages = messages
    this.lastAt = now
    this.ring.push(s)
    this.components.onSample?.(s)
    return s
  }
}

/** the q-quantile of ascending `sorted` (nearest rank), rounded to 0.1 ms; 0 for none */
function percentile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] * 10) / 10
}
