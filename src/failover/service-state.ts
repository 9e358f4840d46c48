/**
 * A failover service on one member, as data (docs/adr/0003-failover-design.md, "The service state machine"):
 * its phases, the events that move it, the effects it asks for, and the questions the shell and the status
 * ask of a state. The transitions are machine.ts.
 */
import { fresh, initialState, type ElectionConfig, type ElectionState, type MemberView } from './election.js'
import type { FailoverServiceConfig } from '../config/types.js'
import type { FailoverStatus } from '../messages/api.js'
export type { Holding, FailoverStatus } from '../messages/api.js'

export interface MachineConfig extends ElectionConfig {
  name: string
  dryRun: boolean
  restart: FailoverServiceConfig['restart']
  /** how long a member stays out after a handoff, a failed hook or a failed start */
  holdDownMs: number
  /** before_active hooks are configured (they run before the start, while still a candidate) */
  beforeActive: boolean
}

export function machineConfig (cfg: FailoverServiceConfig, self: string): MachineConfig {
  return { ...cfg, self, holdDownMs: Math.max(cfg.preemptDelayMs, 10 * cfg.intervalMs), beforeActive: cfg.hooks.before_active.length > 0 }
}

/** where a member goes once a release is done */
export type After = { name: 'standby' } | { name: 'held-down', until: number } | { name: 'left', since: number }

export type ServicePhase =
  /** passive, ready to stand */
  | { name: 'standby' }
  /** passive and advertising itself unhealthy until `until` (after a handoff, a failed hook, a failed start, a crash loop) */
  | { name: 'held-down', until: number }
  /** standing in `term`, gathering votes */
  | { name: 'candidate', term: number }
  /** elected; its before_active hooks run */
  | { name: 'preparing', term: number }
  /** elected; the watchdog starts the program with the lease left until `deadline` (`early`: it exited or was fenced before the start was confirmed) */
  | { name: 'starting', term: number, since: number, deadline: number, voters: string[], early?: Extract<ServiceEvent, { type: 'program' }> }
  /** holds the service; `restartAt`: the program exited and starts again then; `restarting`: a restart is under way */
  | { name: 'active', term: number, restartAt?: number, restarting?: boolean }
  /** releasing: before_passive hooks, the program stopped within its lease, the final state pushed */
  | { name: 'stopping', term: number, reason: string, then: After }
  /** the program went without a release (fenced, crash loop): waits until none of it is left, then tells the group */
  | { name: 'losing', term: number, reason: string, metric: string, then: After, push: boolean, pushing?: boolean }
  /** the node is leaving: nothing more is done */
  | { name: 'left', since: number }

export interface ServiceState {
  phase: ServicePhase
  election: ElectionState
  /** the other members, as their latest beats say */
  views: Readonly<Record<string, MemberView>>
  /** the latest seq heard from each member (sent back as acknowledgements) */
  received: Readonly<Record<string, number>>
  /** when each of our recent beats went out (the fence deadline is measured from acknowledged ones) */
  sentAt: ReadonlyMap<number, number>
  seq: number
  /** the health check's (rise/fall-damped) verdict; true without a check */
  checkHealthy: boolean
  /** the program's process group exists (between the watchdog's `started` and `gone`) */
  programUp: boolean
  /** the node is stopping: finish what is under way, release, leave */
  leaving: boolean
  /** the lease deadline the watchdog enforces, while active */
  deadline: number
  /** the last release (or loss) and the seq of the beat that told the group */
  releasedAt?: number
  releasedSeq?: number
  /** when the program exited while active, within the restart window */
  exits: number[]
  /** the candidacy term whose before_active hooks already ran */
  hooksDoneFor?: number
  lastAnswer: number
}

export type ServiceEvent =
  /** the periodic beat */
  | { type: 'tick' }
  /** a timer from `nextWake` ran out */
  | { type: 'wake' }
  | { type: 'beat', view: Omit<MemberView, 'lastBeatAt'> }
  | { type: 'health', healthy: boolean }
  | { type: 'hooks-done', term: number, ok: boolean }
  | { type: 'started' }
  | { type: 'start-failed', error: string, late: boolean }
  | { type: 'released' }
  | { type: 'pushed' }
  /** from the watchdog */
  | { type: 'program', event: 'started' | 'gone' | 'exited' | 'fenced', detail?: string }
  | { type: 'handoff' }
  | { type: 'stop' }

export interface OutgoingBeat {
  priority: number
  seq: number
  term: number
  state: MemberView['state']
  healthy: boolean
  eligible: boolean
  vote?: { candidate: string, term: number }
  acks: Array<[string, number]>
  running: boolean
}

export type HookQueue = 'after_active' | 'before_passive' | 'after_passive'
export type Effect =
  | { type: 'publish', beat: OutgoingBeat }
  | { type: 'renew', leaseMs: number }
  /** before_active hooks, awaited: answered by `hooks-done` */
  | { type: 'run-hooks', term: number }
  | { type: 'queue-hooks', event: HookQueue, term: number }
  /** restore the state file (`restore`), then start the program within `deadline`: answered by `started` or `start-failed` */
  | { type: 'start', term: number, deadline: number, restore: boolean, restart: boolean }
  | { type: 'replicate', on: boolean }
  /** before_passive hooks, stop the program (`stopProgram`), push the final state: answered by `released` */
  | { type: 'release', term: number, stopProgram: boolean }
  /** the final state to the standbys: answered by `pushed` */
  | { type: 'push-final' }
  | { type: 'log', level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown> }
  | { type: 'count', metric: 'transition' | 'restart' | 'stale', label?: string }

export interface Step { state: ServiceState, effects: Effect[] }

/** a member that starts at `now`; `seq`: its first beat's seq, above any an earlier run of it sent */
export function initialServiceState (now: number, cfg: MachineConfig, seq: number, maxTerm = 0): ServiceState {
  return {
    phase: { name: 'standby' }, election: initialState(now, cfg, maxTerm), views: {}, received: {}, sentAt: new Map(), seq,
    checkHealthy: true, programUp: false, leaving: false, deadline: 0, exits: [], lastAnswer: -Infinity
  }
}

/** this member holds the service: its program runs, restarts, or is being stopped */
export const holds = (s: ServiceState): boolean => s.phase.name === 'active' || s.phase.name === 'stopping' || s.phase.name === 'losing'

export function termOf (s: ServiceState): number {
  return s.election.phase.phase === 'standby' ? s.election.maxTerm : s.election.phase.term
}

/** held out of the election (advertised unhealthy): hold-down, or a release that ends in one, or leaving */
function heldOut (s: ServiceState, now: number): boolean {
  const p = s.phase
  if (s.leaving || p.name === 'left') return true
  if (p.name === 'held-down') return now < p.until
  return (p.name === 'stopping' || p.name === 'losing') && p.then.name !== 'standby'
}

export const isHealthy = (s: ServiceState, now: number): boolean => s.checkHealthy && !heldOut(s, now)

/** the state a beat advertises: `released` for a lease after a release, else the election's phase */
export function wireState (s: ServiceState, now: number, cfg: MachineConfig): MemberView['state'] {
  if (s.releasedAt != null && now - s.releasedAt < cfg.leaseMs) return 'released'
  return s.election.phase.phase
}

/** the members heard within `withinMs` (default: misses x interval) */
export function liveIds (s: ServiceState, now: number, cfg: MachineConfig, withinMs = cfg.intervalMs * cfg.misses): string[] {
  return Object.values(s.views).filter(v => now - v.lastBeatAt <= withinMs).map(v => v.id)
}

/** how long the member stays out of the election yet (ms) */
export function holdLeft (s: ServiceState, now: number): number {
  const p = s.phase
  const until = p.name === 'held-down' ? p.until : (p.name === 'stopping' || p.name === 'losing') && p.then.name === 'held-down' ? p.then.until : now
  return Math.max(0, Math.round(until - now))
}

/**
 * A node that stops waits for this: the member has left and the group heard its release (every live member
 * acknowledged the released beat), or an interval passed, or nothing was released lately.
 */
export function settled (s: ServiceState, now: number, cfg: MachineConfig): boolean {
  const p = s.phase
  if (p.name !== 'left') return false
  if (s.releasedSeq == null || s.releasedAt == null || now - s.releasedAt >= cfg.leaseMs || now - p.since >= cfg.intervalMs) return true
  const seq = s.releasedSeq
  return Object.values(s.views).every(v => !fresh(v, now, cfg) || (v.ackSeq ?? -1) >= seq)
}

/** the next time something is due without a message prompting it (a lease or vote ends, a hold-down, a restart) */
export function nextWake (s: ServiceState, now: number, cfg: MachineConfig): number {
  const p = s.phase
  const times = [...Object.values(s.election.honoured), s.election.vote?.until ?? Infinity, s.election.quietUntil]
  if (p.name === 'held-down') times.push(p.until)
  if (p.name === 'active' && p.restartAt != null && !p.restarting) times.push(p.restartAt)
  if (p.name === 'left') times.push(p.since + cfg.intervalMs)
  return Math.min(...times.filter(t => t > now))
}

/** why a state snapshot from `from` (for `term`) may not be kept here; undefined: it may */
export function snapshotRefusal (s: ServiceState, from: string, term: number): string | undefined {
  if (holds(s)) return 'active_here'
  // only the member the group knows holds (or just released) that term may send its state
  const v = s.views[from]
  if (v == null || v.term !== term || (v.state !== 'active' && v.state !== 'released')) return 'not_the_active'
  return undefined
}

/** the metric label of a release reason (bounded: one per rule) */
export function releaseLabel (reason: string): string {
  if (reason.startsWith('lost quorum')) return 'lost_quorum'
  if (reason.startsWith('a newer term')) return 'newer_term'
  if (reason.startsWith('health')) return 'health'
  if (reason.startsWith('preempted')) return 'preempted'
  if (reason === 'node stopping') return 'stopping'
  return reason === 'handoff' ? 'handoff' : 'other'
}



/** what `failover` shows of a service on this member */
/** the active member and its term in `s`: this member while it holds the service, else a fresh active view */
export function holderOf (s: ServiceState, now: number, cfg: MachineConfig): { active?: string, term: number } {
  if (holds(s)) return { active: cfg.self, term: termOf(s) }
  const v = Object.values(s.views).find(v => v.state === 'active' && fresh(v, now, cfg))
  return v != null ? { active: v.id, term: v.term } : { term: termOf(s) }
}

export function statusOf (s: ServiceState, now: number, cfg: MachineConfig, extra: { check?: string, stateFile?: { term: number, version: number } }): FailoverStatus {
  const views = Object.values(s.views)
  const running = holds(s)
  return {
    service: cfg.name,
    state: wireState(s, now, cfg),
    phase: s.phase.name,
    term: termOf(s),
    running,
    priority: cfg.priority,
    active: holderOf(s, now, cfg).active,
    program: !running ? 'stopped' : cfg.dryRun ? 'dry-run' : s.programUp ? 'running' : 'restarting',
    dryRun: cfg.dryRun,
    health: { healthy: isHealthy(s, now), check: extra.check, holdMs: holdLeft(s, now) },
    restarts: s.exits.length,
    stateFile: extra.stateFile,
    members: views.map(v => ({ peerId: v.id, priority: v.priority, state: v.state, healthy: v.healthy, term: v.term, lastBeatAgeMs: Math.round(now - v.lastBeatAt) }))
  }
}
