/**
 * The failover election as pure functions (docs/adr/0003-failover-design.md): leases measured as durations
 * on each member's monotonic clock, exclusive votes to take over, and a deadline for the active computed from
 * acknowledged beats so that it stops before any challenger can gather a quorum. Nothing here does I/O; the
 * supervisor feeds snapshots in and carries the decisions out.
 */
import type { FailoverServiceConfig } from '../config/types.js'

/** another member, as its latest beat and our clock describe it */
export interface MemberView {
  id: string
  priority: number
  healthy: boolean
  state: 'standby' | 'candidate' | 'active' | 'released'
  term: number
  /** our monotonic time when its latest beat arrived */
  lastBeatAt: number
  /** seq of that beat (a candidate's votes must acknowledge its candidacy beat or a later one) */
  seq: number
  /** whether it hears a quorum itself (only eligible members block lower-ranked ones) */
  eligible: boolean
  /** its vote, if it is bound to one */
  vote?: { candidate: string, term: number }
  /** the latest of OUR beats it has received */
  ackSeq?: number
}

/** a service's failover settings (see FailoverServiceConfig) plus who this member is */
export type ElectionConfig = Pick<FailoverServiceConfig, 'priority' | 'groupSize' | 'quorum' | 'intervalMs' | 'misses' | 'leaseMs' | 'marginMs' | 'preempt' | 'preemptDelayMs'> & {
  self: string
}

export type Phase =
  | { phase: 'standby' }
  | { phase: 'candidate', term: number, seq: number, since: number }
  | { phase: 'active', term: number, since: number, candidacySeq: number, activeSeq: number, voters: string[] }

export interface ElectionState {
  phase: Phase
  /** the highest term seen anywhere */
  maxTerm: number
  /** leases honoured: member id -> our monotonic time until which it may be active */
  honoured: Record<string, number>
  /** our own vote: binding until `until` */
  vote?: { candidate: string, term: number, until: number }
  /** since when an eligible, higher-ranked member has been continuously present (preemption) */
  higherSince?: number
  /** a (re)started member has forgotten its votes and the leases it honoured: it neither votes nor stands before this */
  quietUntil: number
}

export type Decision =
  | { action: 'wait', reason: string }
  | { action: 'stand', term: number }
  | { action: 'abandon', reason: string }
  | { action: 'activate', term: number, deadline: number, voters: string[] }
  | { action: 'renew', deadline: number }
  | { action: 'release', reason: string }

export function defaultQuorum (groupSize: number): number {
  return Math.floor(groupSize / 2) + 1
}

/**
 * The state of a member that starts (or restarts) at `now`: quiet for one lease, since it remembers no votes or
 * leases; `maxTerm` is the highest term it saw before (kept on disk: terms never go backwards).
 */
export function initialState (now: number, cfg: Pick<ElectionConfig, 'leaseMs'>, maxTerm = 0): ElectionState {
  return { phase: { phase: 'standby' }, maxTerm, honoured: {}, quietUntil: now + cfg.leaseMs }
}

/** who should hold the service: priority, then the smaller id (every member computes the same) */
export function ranksAbove (a: { id: string, priority: number }, b: { id: string, priority: number }): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.id < b.id
}

/** heard within the last misses x interval */
export const fresh = (m: Pick<MemberView, 'lastBeatAt'>, now: number, cfg: Pick<ElectionConfig, 'intervalMs' | 'misses'>): boolean => now - m.lastBeatAt <= cfg.intervalMs * cfg.misses

/** whether this member hears enough of the group to take part (self included) */
export function hearsQuorum (members: readonly MemberView[], now: number, cfg: ElectionConfig): boolean {
  return members.filter(m => m.id !== cfg.self && fresh(m, now, cfg)).length + 1 >= cfg.quorum
}

/** Records what a beat says about leases: an active is honoured for leaseMs from its beat; a release ends it. */
export function observe (state: ElectionState, m: MemberView, cfg: ElectionConfig): ElectionState {
  const honoured = { ...state.honoured }
  if (m.state === 'active') honoured[m.id] = Math.max(honoured[m.id] ?? 0, m.lastBeatAt + cfg.leaseMs)
  if (m.state === 'released') delete honoured[m.id]
  let vote = state.vote
  if (m.state === 'released' && vote?.candidate === m.id) vote = undefined
  return { ...state, honoured, vote, maxTerm: Math.max(state.maxTerm, m.term) }
}

/**
 * The vote this member gives now, if any. It votes for the best-ranked live candidate of a current term only
 * when it honours no other lease and is not bound to another vote; a vote binds like a lease for leaseMs.
 */
export function castVote (state: ElectionState, members: readonly MemberView[], now: number, cfg: ElectionConfig): ElectionState {
  if (state.phase.phase !== 'standby' || now < state.quietUntil) return state
  const bound = state.vote != null && state.vote.until > now ? state.vote : undefined
  const live = members.filter(m => m.id !== cfg.self && fresh(m, now, cfg))
  if (bound != null) {
    // keep renewing a vote for the candidate we back while it stands or becomes active
    const c = live.find(m => m.id === bound.candidate && (m.state === 'candidate' || m.state === 'active') && m.term === bound.term)
    if (c == null) return state
    // bound until its latest beat's arrival + lease: what its deadline relies on, and no longer (a dead
    // member's last beat must not keep the group waiting beyond that)
    const until = Math.max(bound.until, c.lastBeatAt + cfg.leaseMs)
    return { ...state, vote: { ...bound, until }, honoured: { ...state.honoured, [c.id]: Math.max(state.honoured[c.id] ?? 0, until) } }
  }
  const leased = Object.entries(state.honoured).some(([id, until]) => until > now && id !== cfg.self)
  if (leased) return state
  const candidates = live.filter(m => m.state === 'candidate' && m.healthy && m.term >= state.maxTerm)
  if (candidates.length === 0) return state
  const best = candidates.reduce((a, b) => ranksAbove(a, b) ? a : b)
  return {
    ...state,
    vote: { candidate: best.id, term: best.term, until: now + cfg.leaseMs },
    honoured: { ...state.honoured, [best.id]: now + cfg.leaseMs }
  }
}

/**
 * How long the active (or a candidate about to activate) may keep the program running: the send time of the
 * (n - q)-th freshest acknowledgement + lease - margin. Any challenger's quorum includes one of those ackers,
 * which honours this member until at least then. Only binding acknowledgements count: `minSeq(member)` is
 * the oldest beat whose receipt binds that member (a voter: our candidacy beat; anyone: our first active
 * beat). -Infinity: not enough acknowledgements.
 */
export function fenceDeadline (members: readonly MemberView[], sentAt: ReadonlyMap<number, number>, cfg: ElectionConfig, minSeq: (m: MemberView) => number): number {
  const need = cfg.groupSize - cfg.quorum
  if (need <= 0) return Infinity
  const acked = members
    .filter(m => m.id !== cfg.self && m.ackSeq != null && m.ackSeq >= minSeq(m) && sentAt.has(m.ackSeq))
    .map(m => sentAt.get(m.ackSeq!)!)
    .sort((a, b) => b - a)
  if (acked.length < need) return -Infinity
  return acked[need - 1] + cfg.leaseMs - cfg.marginMs
}

/** The decision for this moment; `healthy` is this member's own (rise/fall-damped) health. */
export function decide (state: ElectionState, members: readonly MemberView[], sentAt: ReadonlyMap<number, number>,
  healthy: boolean, now: number, cfg: ElectionConfig): { state: ElectionState, decision: Decision } {
  const self = { id: cfg.self, priority: cfg.priority }
  const live = members.filter(m => m.id !== cfg.self && fresh(m, now, cfg))
  // a member that released is a standby like any other; one handing off advertises itself unhealthy instead
  const higher = live.filter(m => m.healthy && m.eligible && ranksAbove(m, self))
  const next: ElectionState = { ...state, higherSince: higher.length > 0 ? (state.higherSince ?? now) : undefined }
  const phase = state.phase

  if (phase.phase === 'active') {
    if (live.some(m => m.state === 'active' && m.term > phase.term)) return { state: next, decision: { action: 'release', reason: 'a newer term is active' } }
    if (!healthy) return { state: next, decision: { action: 'release', reason: 'health check failing' } }
    if (cfg.preempt && next.higherSince != null && now - next.higherSince >= cfg.preemptDelayMs) {
      return { state: next, decision: { action: 'release', reason: 'preempted by a higher-priority member' } }
    }
    const deadline = fenceDeadline(members, sentAt, cfg, m => phase.voters.includes(m.id) ? phase.candidacySeq : phase.activeSeq)
    if (deadline <= now) return { state: next, decision: { action: 'release', reason: 'lost quorum (beats not acknowledged in time)' } }
    return { state: next, decision: { action: 'renew', deadline } }
  }

  if (phase.phase === 'candidate') {
    // abandoning drops the self-vote: only this member counted it, and it never activated on it, so it may
    // vote for the better candidate at once instead of splitting the vote for a whole lease
    const quit = (reason: string): { state: ElectionState, decision: Decision } => ({
      state: { ...next, vote: next.vote?.candidate === cfg.self ? undefined : next.vote }, decision: { action: 'abandon', reason }
    })
    if (!healthy) return quit('not healthy')
    if (higher.length > 0) return quit(`${higher[0].id} ranks higher`)
    if (live.some(m => m.state === 'active' || (m.state === 'candidate' && m.term > phase.term))) return quit('another member is active or standing in a newer term')
    const voters = live.filter(m => m.vote?.candidate === cfg.self && m.vote.term === phase.term && (m.ackSeq ?? -1) >= phase.seq)
    if (voters.length + 1 >= cfg.quorum) {
      const deadline = fenceDeadline(voters, sentAt, cfg, () => phase.seq)
      if (deadline > now) return { state: next, decision: { action: 'activate', term: phase.term, deadline, voters: voters.map(v => v.id) } }
    }
    if (now - phase.since > cfg.leaseMs) return quit(`no quorum of votes within ${cfg.leaseMs}ms`)
    return { state: next, decision: { action: 'wait', reason: `votes: ${voters.length + 1} of ${cfg.quorum}` } }
  }

  // standby: stand as a candidate only when nothing else may hold the service
  if (now < state.quietUntil) return { state: next, decision: { action: 'wait', reason: 'quiet after start: it may have voted before' } }
  if (!healthy) return { state: next, decision: { action: 'wait', reason: 'not healthy' } }
  if (state.vote != null && state.vote.until > now && state.vote.candidate !== cfg.self) return { state: next, decision: { action: 'wait', reason: `bound by a vote for ${state.vote.candidate}` } }
  const lease = Object.entries(state.honoured).find(([id, until]) => id !== cfg.self && until > now)
  if (lease != null) return { state: next, decision: { action: 'wait', reason: `honouring the lease of ${lease[0]}` } }
  if (!hearsQuorum(members, now, cfg)) return { state: next, decision: { action: 'wait', reason: 'does not hear a quorum' } }
  if (higher.length > 0) return { state: next, decision: { action: 'wait', reason: `${higher[0].id} ranks higher` } }
  if (live.some(m => m.state === 'candidate' || m.state === 'active')) return { state: next, decision: { action: 'wait', reason: 'another member is standing or active' } }
  return { state: next, decision: { action: 'stand', term: state.maxTerm + 1 } }
}

/** applies a `stand` the supervisor published (its candidacy beat has seq `seq`): it votes for itself */
export function stood (state: ElectionState, term: number, seq: number, now: number, cfg: ElectionConfig): ElectionState {
  return { ...state, phase: { phase: 'candidate', term, seq, since: now }, maxTerm: Math.max(state.maxTerm, term), vote: { candidate: cfg.self, term, until: now + cfg.leaseMs } }
}

/**
 * applies an `activate` the supervisor carried out; `activeSeq` is the seq its first active beat will carry
 * (acks of that or later beats bind anyone; voters are bound from the candidacy beat on)
 */
export function activated (state: ElectionState, term: number, now: number, voters: string[], activeSeq: number): ElectionState {
  const candidacySeq = state.phase.phase === 'candidate' ? state.phase.seq : activeSeq
  return { ...state, phase: { phase: 'active', term, since: now, candidacySeq, activeSeq, voters }, maxTerm: Math.max(state.maxTerm, term) }
}

/** back to standby after `abandon` or `release` (the program is stopped); a self-vote stays binding until it runs out */
export function standDown (state: ElectionState): ElectionState {
  return { ...state, phase: { phase: 'standby' }, higherSince: undefined }
}
