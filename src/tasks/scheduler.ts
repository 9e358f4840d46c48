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

/** expected queue position on the worker: its advertised load or our own in-flight count, whichever is larger */
function pressure (c: Candidate): number {
  return Math.max(c.advertisedLoad, c.inFlight) / Math.max(1, c.maxConcurrency)
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
  if (c.advertisedLoad >= c.maxConcurrency + c.queueCapacity) return false
  return c.inFlight < window(c)
}

/**
 * Picks the worker for one attempt: live, healthy, offering the type (and capability), with room in its queue;
 * least pressure first (load relative to concurrency), then lowest RTT, then at random so load spreads.
 * Workers in `exclude` are used only when no other has room.
 */
export function pickWorker (candidates: readonly Candidate[], opts: PickOptions): Candidate | undefined {
  const random = opts.random ?? Math.random
  const able = candidates.filter(c => capable(c, opts.type, opts.capability) && hasRoom(c, opts.now))
  const fresh = able.filter(c => opts.exclude?.has(c.peerId) !== true)
  const pool = fresh.length > 0 ? fresh : able
  if (pool.length === 0) return undefined
  const scored = pool.map(c => ({ c, p: pressure(c), rtt: c.rttMs ?? 50, r: random() }))
  scored.sort((a, b) => {
    // pressure in steps of one task slot, so RTT decides between equally loaded workers
    const pa = Math.floor(a.p * a.c.maxConcurrency) / Math.max(1, a.c.maxConcurrency)
    const pb = Math.floor(b.p * b.c.maxConcurrency) / Math.max(1, b.c.maxConcurrency)
    if (pa !== pb) return pa - pb
    if (Math.abs(a.rtt - b.rtt) > 2) return a.rtt - b.rtt
    return a.r - b.r
  })
  return scored[0].c
}

/** every worker a broadcast goes to */
export function broadcastTargets (candidates: readonly Candidate[], type: string, capability?: string): Candidate[] {
  return candidates.filter(c => capable(c, type, capability))
}
