import { peerIdFromString } from '@libp2p/peer-id'
import { DecayingCounts, type Candidate } from './scheduler.js'
import type { Executor } from './executor.js'
import type { Logger } from '../util/logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PeerId } from '@libp2p/interface'
import { exponentialDelay } from '../util/backoff.js'

export interface CandidateBookComponents {
  membership: Pick<Membership, 'members'>
  /** this node's own executor (workers): a candidate like any other */
  local?: Pick<Executor, 'types' | 'load' | 'maxConcurrency' | 'queueCapacity' | 'accepting'>
  rtt: (peer: string) => number | undefined
  /** an open connection to the peer now (absent: every member counts as connected) */
  connected?: (peer: PeerId) => boolean
  metrics: Pick<Metrics, 'workersSetAside' | 'collectFrom'>
  logger: Logger
}

export interface CandidateBookInit {
  selfPeerId: string
  selfCapabilities: string[]
}

/** how long a worker that answered busy is skipped */
const BUSY_BACKOFF_MS = 250
/** how long a worker that could not be reached is skipped (and the first step of the circuit breaker) */
const UNREACHABLE_BACKOFF_MS = 2000
/** the circuit breaker: after this many attempts in a row that could not reach a worker it is set aside, for longer each time */
const BREAKER_FAILURES = 2
const BREAKER_MAX_MS = 60_000
const CANDIDATE_CACHE_MS = 100

/**
 * The workers as one submitter sees them, for the scheduler: membership's view (re-read at most every 100 ms)
 * joined with what this submitter knows itself — its attempts in flight on each, the ones sent lately, the
 * workers that answered busy, and the circuit breaker's count of attempts that could not reach one.
 */
export class CandidateBook {
  private readonly inFlight = new Map<string, number>()
  /** workers the circuit breaker set aside, until when */
  private readonly setAside = new Map<string, number>()
  /** workers that answered busy or could not be reached: skipped until then */
  private readonly busyUntil = new Map<string, number>()
  /** attempts in a row that could not reach each worker (reset by any answer): the circuit breaker's count */
  private readonly unreachable = new Map<string, number>()
  /** attempts sent to each worker lately: the tie-break that spreads short tasks */
  private readonly sent = new DecayingCounts()
  private readonly peerIds = new Map<string, PeerId>()
  private cached?: { at: number, base: Candidate[] }
  /** tasks waiting for room on a worker, oldest first; each finished attempt wakes one */
  private readonly waiters: Array<() => void> = []
  /** how many of them need each capability */
  private readonly waiting = new Map<string, number>()

  constructor (private readonly components: CandidateBookComponents, private readonly init: CandidateBookInit) {
    components.metrics.collectFrom('waitingByCapability', () => this.waitingByCapability())
  }

  /** the candidates now, this node included when it runs tasks */
  list (now = Date.now()): Candidate[] {
    if (this.cached == null || now - this.cached.at > CANDIDATE_CACHE_MS) this.cached = { at: now, base: this.base() }
    return this.cached.base.map(c => ({
      ...c,
      inFlight: this.inFlight.get(c.peerId) ?? 0,
      busyUntil: this.busyUntil.get(c.peerId),
      setAsideUntil: this.setAside.get(c.peerId),
      recent: this.sent.get(c.peerId, now),
      advertisedLoad: c.peerId === this.init.selfPeerId ? this.components.local?.load() ?? 0 : c.advertisedLoad
    }))
  }

  /** an attempt goes to `worker` */
  sending (worker: string, now = Date.now()): void {
    this.inFlight.set(worker, (this.inFlight.get(worker) ?? 0) + 1)
    this.sent.add(worker, now)
  }

  /** an attempt on `worker` has ended, however */
  done (worker: string): void {
    const n = (this.inFlight.get(worker) ?? 1) - 1
    if (n <= 0) this.inFlight.delete(worker)
    else this.inFlight.set(worker, n)
    // a slot may have freed: the task waiting longest looks again
    this.waiters.shift()?.()
  }

  /**
   * For a task whose capable workers all have their window full: resolves true when a slot may have freed (an
   * attempt finished), or after a short while anyway (a worker may have joined or its busy mark expired); false
   * once the deadline has passed or the task was cancelled.
   */
  async waitForSlot (deadline: number, signal: AbortSignal, now = Date.now, capability = 'any'): Promise<boolean> {
    const left = deadline - now()
    if (left <= 0 || signal.aborted) return false
    this.waiting.set(capability, (this.waiting.get(capability) ?? 0) + 1)
    await new Promise<void>(resolve => {
      const wake = (): void => { clearTimeout(timer); signal.removeEventListener('abort', wake); resolve() }
      signal.addEventListener('abort', wake, { once: true })
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake)
        if (i >= 0) this.waiters.splice(i, 1)
        signal.removeEventListener('abort', wake)
        resolve()
      }, Math.min(left, BUSY_BACKOFF_MS))
      this.waiters.push(wake)
    })
    const n = (this.waiting.get(capability) ?? 1) - 1
    if (n <= 0) this.waiting.delete(capability)
    else this.waiting.set(capability, n)
    return now() < deadline && !signal.aborted
  }

  /** tasks waiting here for room on a worker, by the capability they need (the backlog a scaler reads) */
  waitingByCapability (): Record<string, number> { return Object.fromEntries(this.waiting) }

  /** `worker` answered busy: skipped for a moment */
  busy (worker: string, now = Date.now()): void {
    this.busyUntil.set(worker, now + BUSY_BACKOFF_MS)
  }

  /** `worker` answered: the circuit breaker forgets it */
  reached (worker: string): void {
    if (this.unreachable.delete(worker)) this.setAside.delete(worker)
  }

  /**
   * An attempt that could not reach `worker`: it is skipped for a moment, and after BREAKER_FAILURES in a row set
   * aside for 2 s, 4 s, … up to a minute (a member that left, or one a peer made up, stops drawing attempts).
   */
  notReached (worker: string, now = Date.now()): void {
    const n = (this.unreachable.get(worker) ?? 0) + 1
    this.unreachable.set(worker, n)
    this.busyUntil.set(worker, now + UNREACHABLE_BACKOFF_MS)
    if (n >= BREAKER_FAILURES) {
      this.setAside.set(worker, now + exponentialDelay(n - BREAKER_FAILURES, UNREACHABLE_BACKOFF_MS, BREAKER_MAX_MS))
      this.components.metrics.workersSetAside.inc()
      this.components.logger.info({ worker, failures: n }, 'worker set aside: attempts keep failing to reach it')
    }
    // bounded: a member table's worth of entries
    if (this.unreachable.size > 4096) { this.unreachable.clear(); this.setAside.clear() }
  }

  /** parsing a peer id string costs a base58 decode: the objects are kept */
  peerId (id: string): PeerId {
    let p = this.peerIds.get(id)
    if (p == null) {
      if (this.peerIds.size > 10_000) this.peerIds.clear()
      this.peerIds.set(id, p = peerIdFromString(id))
    }
    return p
  }

  private base (): Candidate[] {
    const { membership, local, rtt, connected } = this.components
    const list: Candidate[] = membership.members().filter(m => m.role === 'worker').map(m => ({
      peerId: m.peerId,
      taskTypes: m.taskTypes,
      capabilities: m.capabilities,
      alive: m.state.phase === 'alive',
      healthy: m.healthy,
      advertisedLoad: m.load,
      maxConcurrency: Math.max(1, m.maxConcurrency),
      queueCapacity: m.queueCapacity,
      inFlight: 0,
      rttMs: rtt(m.peerId),
      connected: connected?.(this.peerId(m.peerId)) ?? true
    }))
    if (local != null) {
      list.push({
        peerId: this.init.selfPeerId, taskTypes: local.types(), capabilities: this.init.selfCapabilities, alive: true, healthy: local.accepting(),
        advertisedLoad: local.load(), maxConcurrency: local.maxConcurrency, queueCapacity: local.queueCapacity, inFlight: 0, rttMs: 0
      })
    }
    return list
  }
}
