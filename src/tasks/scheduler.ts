/** A candidate worker as the scheduler sees it: a snapshot, no I/O. */
export interface Candidate {
  peerId: string
  taskTypes: string[]
  capabilities: string[]
  alive: boolean
  healthy: boolean
  /** load the worker last advertised (queued + running) */
  advertisedLoad: number
  maxConcurrency: number
  queueCapacity: number
  /** tasks this submitter has in flight on it now */
  inFlight: number
  rttMs?: number
  /** the worker answered busy recently: skip it until then */
  busyUntil?: number
  /** tasks this submitter sent it lately (a decaying count): spreads tasks that finish before the next pick */
  recent?: number
  /**
   * an open connection to it now (or it is this node). A member known only from gossip (its heartbeats may be
   * signed by a peer that has left, or that made it up) is tried only when no connected worker can take the task.
   */
  connected?: boolean
  /** attempts to it kept failing to open (the circuit breaker): not picked until then */
  setAsideUntil?: number
}

export interface PickOptions {
  type: string
  capability?: string
  /** workers already tried for this task: picked again only when nothing else is left */
  exclude?: ReadonlySet<string>
  now: number
  /** tie-break between equally good workers (tests pass a fixed one) */
  random?: () => number
}

export function capable (c: Candidate, type: string, capability?: string): boolean {
  return c.alive && c.healthy && c.taskTypes.includes(type) && (capability == null || c.capabilities.includes(capability))
}

/** tasks on the worker now: its advertised load or our own in-flight count, whichever is larger */
function load (c: Candidate): number {
  return Math.max(c.advertisedLoad, c.inFlight)
}

/**
 * How far past its concurrency the worker says it is: 0 while it has a free slot, 1 once its queue holds a round
 * more. From the worker's own report, not our in-flight count: tasks on the wire are not in its queue, and
 * counting them would send every short task to the submitting node, whose own tasks never are on the wire.
 */
function saturation (c: Candidate): number {
  return Math.floor(c.advertisedLoad / Math.max(1, c.maxConcurrency))
}

/**
 * Load or the tasks sent there lately, whichever is larger, per slot. Short tasks leave no load behind by the
 * next pick (and a task run here finishes before a remote one has crossed the network), so load alone would
 * send them all to the submitting node; the recent count spreads them. Not the sum: a task still in flight is
 * in both, and would count twice against remote workers only.
 */
function share (c: Candidate): number {
  return Math.max(load(c), c.recent ?? 0) / Math.max(1, c.maxConcurrency)
}

/**
 * How many tasks one submitter keeps on one worker: enough to keep every slot busy with the next task
 * ready, no more. The rest wait at the submitter, where waiting costs no attempt and no timeout.
 */
export function window (c: Pick<Candidate, 'maxConcurrency' | 'queueCapacity'>): number {
  return c.maxConcurrency + Math.min(c.queueCapacity, c.maxConcurrency)
}

function hasRoom (c: Candidate, now: number): boolean {
  if (c.busyUntil != null && c.busyUntil > now) return false
  if (c.setAsideUntil != null && c.setAsideUntil > now) return false
  if (c.advertisedLoad >= c.maxConcurrency + c.queueCapacity) return false
  return c.inFlight < window(c)
}

/**
 * RTT decides between equally saturated workers only when one is clearly farther: over 20 ms and over twice as
 * far (another zone or region). Below that it is noise: pings on a busy host's loopback vary by 10 ms and more.
 */
function clearlyNearer (a: number | undefined, b: number | undefined): boolean {
  // not measured yet (just connected or reconnected) says nothing about distance
  if (a == null || b == null) return false
  return b - a > Math.max(20, a)
}

/**
 * Picks the worker for one attempt: live, healthy, offering the type (and capability), with room in its queue.
 * Least saturated first (a free slot beats a queue), then a clearly lower RTT, then the smallest share (load or
 * tasks sent lately, per slot), then at random. The submitting node is a candidate like any other: counted the
 * same way, its RTT of 0 does not win every tie. Workers in `exclude` are used only when no other has room,
 * and workers with no connection (`connected: false`) only when no connected one has room.
 */
export function pickWorker (candidates: readonly Candidate[], opts: PickOptions): Candidate | undefined {
  const random = opts.random ?? Math.random
  const able = candidates.filter(c => capable(c, opts.type, opts.capability) && hasRoom(c, opts.now))
  const reachable = able.filter(c => c.connected !== false)
  const near = reachable.length > 0 ? reachable : able
  const fresh = near.filter(c => opts.exclude?.has(c.peerId) !== true)
  const pool = fresh.length > 0 ? fresh : near
  if (pool.length === 0) return undefined
  const scored = pool.map(c => ({ c, level: saturation(c), share: share(c), rtt: c.rttMs, r: random() }))
  scored.sort((a, b) => {
    if (a.level !== b.level) return a.level - b.level
    if (clearlyNearer(a.rtt, b.rtt)) return -1
    if (clearlyNearer(b.rtt, a.rtt)) return 1
    if (Math.abs(a.share - b.share) > 1e-9) return a.share - b.share
    return a.r - b.r
  })
  return scored[0].c
}

/** every worker a broadcast goes to */
export function broadcastTargets (candidates: readonly Candidate[], type: string, capability?: string): Candidate[] {
  return candidates.filter(c => capable(c, type, capability))
}

/** a count of recent events that halves every `halfLifeMs`: how many tasks went to a worker lately */
export class DecayingCounts {
  private readonly counts = new Map<string, { value: number, at: number }>()
  constructor (private readonly halfLifeMs = 1000) {}

  get (key: string, now: number): number {
    const c = this.counts.get(key)
    return c == null ? 0 : c.value * 2 ** (-(now - c.at) / this.halfLifeMs)
  }

  add (key: string, now: number): void {
    this.counts.set(key, { value: this.get(key, now) + 1, at: now })
    // forget what has decayed to nothing, so departed workers do not pile up
    if (this.counts.size > 64) for (const k of this.counts.keys()) if (this.get(k, now) < 0.01) this.counts.delete(k)
  }
}
