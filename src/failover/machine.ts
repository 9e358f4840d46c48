/**
 * One failover service on one member as a pure state machine (docs/adr/0003-failover-design.md, "The service
 * state machine"): `nextServiceState(state, event, now)` returns the next state and the effects the shell
 * (supervisor.ts) carries out — publish a beat, run hooks, start or stop the program, renew the lease — and
 * every outcome of an effect comes back as an event. The election rules it applies are election.ts; nothing
 * here does I/O or reads a clock.
 */
import { activated, castVote, decide, observe, standDown, stood, type Decision, type MemberView } from './election.js'
import { holds, isHealthy, liveIds, releaseLabel, termOf, wireState, type After, type Effect, type MachineConfig, type OutgoingBeat, type ServiceEvent, type ServicePhase, type ServiceState, type Step } from './service-state.js'

/** builds a step: the state so far and the effects in order */
class Builder {
  readonly effects: Effect[] = []
  constructor (public s: ServiceState, readonly now: number, readonly cfg: MachineConfig) {}
  set (patch: Partial<ServiceState>): this { this.s = { ...this.s, ...patch }; return this }
  emit (...e: Effect[]): this { this.effects.push(...e); return this }
  log (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): this {
    return this.emit({ type: 'log', level, msg, fields: { service: this.cfg.name, ...fields } })
  }

  /** publishes a beat that says what this member is now */
  beat (): this {
    const { s, now, cfg } = this
    const seq = s.seq + 1
    const sentAt = new Map(s.sentAt).set(seq, now)
    if (sentAt.size > 512) sentAt.delete(sentAt.keys().next().value as number)
    const v = s.election.vote
    const beat: OutgoingBeat = {
      priority: cfg.priority, seq, term: termOf(s), state: wireState(s, now, cfg), healthy: isHealthy(s, now),
      eligible: liveIds(s, now, cfg).length + 1 >= cfg.quorum,
      vote: v != null && v.until > now ? { candidate: v.candidate, term: v.term } : undefined,
      acks: Object.entries(s.received), running: holds(s)
    }
    return this.set({ seq, sentAt }).emit({ type: 'publish', beat })
  }

  done (): Step { return { state: this.s, effects: this.effects } }
}

/** The next state of a service on this member, and what to do about it. */
export function nextServiceState (state: ServiceState, event: ServiceEvent, now: number, cfg: MachineConfig): Step {
  const b = new Builder(state, now, cfg)
  const p = state.phase
  switch (event.type) {
    case 'tick': return step(b, true).done()
    case 'wake': return step(b, false).done()
    case 'beat': return onBeat(b, event.view).done()
    case 'health': return step(b.set({ checkHealthy: event.healthy }), true).done()
    case 'hooks-done': {
      if (p.name !== 'preparing' || p.term !== event.term) return b.done()
      if (!event.ok) {
        b.emit({ type: 'count', metric: 'transition', label: 'hook_failed' })
        return abandon(b, 'a must-succeed before_active hook failed', true).beat().done()
      }
      if (b.s.leaving) return abandon(b, 'node stopping', false).beat().done()
      // the hooks took time: ask the election again with what the group says now
      b.set({ phase: { name: 'candidate', term: p.term } })
      return finish(b, electAndApply(b))
    }
    case 'started': {
      if (p.name === 'active' && p.restarting === true) {
        b.set({ phase: { name: 'active', term: p.term } })
        return b.log('info', 'program restarted', { term: p.term }).done()
      }
      if (p.name !== 'starting') return b.done()
      b.set({
        election: activated(state.election, p.term, p.since, p.voters, state.seq + 1),
        phase: { name: 'active', term: p.term }, deadline: p.deadline, exits: [], hooksDoneFor: undefined, releasedAt: undefined, releasedSeq: undefined
      })
      b.emit({ type: 'count', metric: 'transition', label: 'activated' })
      b.log('info', cfg.dryRun ? 'active (dry run)' : 'active: program started', { term: p.term, voters: p.voters })
      b.emit({ type: 'queue-hooks', event: 'after_active', term: p.term }, { type: 'replicate', on: true })
      // the program died while the start was being confirmed: deal with that now it is ours
      if (p.early != null) onProgram(b, p.early)
      if (b.s.leaving) release(b, 'node stopping')
      return b.beat().done()
    }
    case 'start-failed': {
      if (p.name === 'active' && p.restarting === true) {
        b.log('error', 'could not restart the program', { err: event.error })
        return lose(b.set({ phase: { ...p, restarting: false } }), 'the program could not be restarted', 'crash_loop', false).done()
      }
      if (p.name !== 'starting') return b.done()
      if (event.late) return abandon(b, 'lease deadline passed before the start', false).beat().done()
      b.log('error', 'could not start the program', { err: event.error })
      return abandon(b, 'the program could not be started', true).beat().done()
    }
    case 'released': {
      if (p.name !== 'stopping') return b.done()
      b.emit({ type: 'count', metric: 'transition', label: releaseLabel(p.reason) })
      b.log('info', cfg.dryRun ? 'released (dry run)' : 'released: program stopped', { reason: p.reason })
      return passive(b, p.then, p.term).done()
    }
    case 'pushed': return p.name === 'losing' ? advanceLoss(b.set({ phase: { ...p, push: false } })).done() : b.done()
    case 'program': return onProgram(b, event).done()
    case 'handoff':
      if (p.name !== 'active') return b.done()
      return release(b, 'handoff', { name: 'held-down', until: now + cfg.holdDownMs }).done()
    case 'stop': return onStop(b.set({ leaving: true })).done()
  }
}

/** the highest term a beat may carry: far below 2^53, where numbers stop counting by one */
export const MAX_TERM = 2 ** 48
/** how far above the highest term this member has seen a beat's term may be: a term grows by one per election */
export const MAX_TERM_JUMP = 1_000_000

function onBeat (b: Builder, v: Omit<MemberView, 'lastBeatAt'>): Builder {
  const s = b.s
  // replays and reordered beats say nothing new
  if ((s.received[v.id] ?? -1) >= v.seq) return b.emit({ type: 'count', metric: 'stale' })
  // a term no election could have reached: a broken or hostile member; believing it would push every term past
  // what can be counted (a member that has seen no term yet takes any term below the ceiling)
  const seen = s.election.maxTerm
  if (!Number.isSafeInteger(v.term) || v.term > MAX_TERM || (seen > 0 && v.term > seen + MAX_TERM_JUMP)) {
    return b.emit({ type: 'count', metric: 'stale', label: 'term_jump' })
  }
  const view: MemberView = { ...v, lastBeatAt: b.now }
  b.set({ received: { ...s.received, [v.id]: v.seq }, views: { ...s.views, [v.id]: view }, election: observe(s.election, view, b.cfg) })
  if (s.phase.name === 'left') return b
  // an active's, a candidate's or a releasing member's beat is answered at once: acknowledgements (and votes)
  // arrive in milliseconds instead of a beat interval later, which keeps deadlines far ahead and takeovers quick
  const answer = view.state !== 'standby' && b.now - s.lastAnswer > b.cfg.intervalMs / 4
  if (answer) b.set({ lastAnswer: b.now })
  return step(b, answer)
}

/** one election round; `publish`: also send the periodic beat */
function step (b: Builder, publish: boolean): Builder {
  const p = b.s.phase
  if (p.name === 'left') return b
  if (p.name === 'held-down' && b.now >= p.until) b.set({ phase: { name: 'standby' } })
  if (p.name === 'active' && p.restartAt != null && p.restartAt <= b.now && p.restarting !== true && !b.s.programUp) restart(b)
  if (p.name === 'preparing' || p.name === 'starting' || p.name === 'stopping' || p.name === 'losing') {
    // something is under way: the lease keeps being renewed while the program is stopped (renewing is always
    // safe: the deadline comes from acknowledgements), nothing else is decided
    if (p.name === 'stopping' && b.s.election.phase.phase === 'active') {
      const { decision } = decide(b.s.election, Object.values(b.s.views), b.s.sentAt, isHealthy(b.s, b.now), b.now, b.cfg)
      if (decision.action === 'renew') renew(b, decision.deadline)
    }
    return publish ? b.beat() : b
  }
  const before = b.s.election.vote
  b.set({ election: castVote(b.s.election, Object.values(b.s.views), b.now, b.cfg) })
  const vote = b.s.election.vote
  const voted = vote != null && (before == null || before.candidate !== vote.candidate || before.term !== vote.term)
  const acted = electAndApply(b)
  return publish || voted || acted ? b.beat() : b
}

/** decides and carries the decision out; true when the group should hear about it at once */
function electAndApply (b: Builder): boolean {
  const { state, decision } = decide(b.s.election, Object.values(b.s.views), b.s.sentAt, isHealthy(b.s, b.now), b.now, b.cfg)
  b.set({ election: state })
  if (decision.action !== 'wait' && decision.action !== 'renew') b.log('debug', 'election decision', { decision })
  return apply(b, decision)
}

function finish (b: Builder, acted: boolean): Step { return (acted ? b.beat() : b).done() }

function apply (b: Builder, d: Decision): boolean {
  const { s, now, cfg } = b
  switch (d.action) {
    case 'stand':
      b.set({ election: stood(s.election, d.term, s.seq + 1, now, cfg), phase: { name: 'candidate', term: d.term } })
      b.log('info', 'standing for the service', { term: d.term })
      b.log('debug', 'members when standing', { view: Object.values(s.views).map(v => `${v.id}:${v.state}:p${v.priority}:h${Number(v.healthy)}:e${Number(v.eligible)}:age${Math.round(now - v.lastBeatAt)}`) })
      return true
    case 'activate':
      if (cfg.beforeActive && s.hooksDoneFor !== d.term) {
        // prepare this member while still a candidate: nothing runs yet, so a slow or failing hook only costs time
        b.set({ phase: { name: 'preparing', term: d.term }, hooksDoneFor: d.term }).emit({ type: 'run-hooks', term: d.term })
        return false
      }
      b.set({ phase: { name: 'starting', term: d.term, since: now, deadline: d.deadline, voters: d.voters } })
      b.emit({ type: 'start', term: d.term, deadline: d.deadline, restore: true, restart: false })
      return false
    case 'renew':
      renew(b, d.deadline)
      return false
    case 'abandon':
      abandon(b, d.reason, false)
      return true
    case 'release':
      release(b, d.reason)
      return false
    default: return false
  }
}

function renew (b: Builder, deadline: number): void {
  b.set({ deadline })
  if (holds(b.s) && !b.cfg.dryRun) b.emit({ type: 'renew', leaseMs: Math.max(0, deadline - b.now) })
}

/** gives a candidacy up (held down for a while if `hold`); undoes what its before_active hooks did, if they ran */
function abandon (b: Builder, reason: string, hold: boolean): Builder {
  const { s, now, cfg } = b
  const term = termOf(s)
  // only this member counted its self-vote, and it never activated on it: drop it (see election.decide)
  const e = standDown(s.election)
  b.set({ election: { ...e, vote: e.vote?.candidate === cfg.self ? undefined : e.vote } })
  b.log('info', 'candidacy abandoned', { term, reason })
  if (s.hooksDoneFor === term) {
    b.set({ hooksDoneFor: undefined })
    b.emit({ type: 'queue-hooks', event: 'before_passive', term }, { type: 'queue-hooks', event: 'after_passive', term })
  }
  const phase: ServicePhase = s.leaving ? { name: 'left', since: now } : hold ? { name: 'held-down', until: now + cfg.holdDownMs } : { name: 'standby' }
  return b.set({ phase })
}

/** stops the program (gracefully within what is left of the lease), then tells the group */
function release (b: Builder, reason: string, then: After = { name: 'standby' }): Builder {
  const p = b.s.phase
  if (p.name !== 'active') return b
  const after: After = b.s.leaving ? { name: 'left', since: b.now } : then
  return b.set({ phase: { name: 'stopping', term: p.term, reason, then: after } })
    .emit({ type: 'replicate', on: false }, { type: 'release', term: p.term, stopProgram: !b.cfg.dryRun })
}

/** a release or a loss is complete: the member is passive and the group hears it now */
function passive (b: Builder, then: After, term: number): Builder {
  const phase: ServicePhase = then.name === 'left' ? { name: 'left', since: b.now } : then
  b.set({ phase, releasedAt: b.now, election: standDown(b.s.election) })
  b.emit({ type: 'queue-hooks', event: 'after_passive', term })
  b.beat()
  return b.set({ releasedSeq: b.s.seq })
}

/** the program is gone, or going, without a release: once nothing of it is left (and the final state is out), tell the group */
function lose (b: Builder, reason: string, metric: string, push: boolean, then: After = { name: 'standby' }): Builder {
  const p = b.s.phase
  if (p.name !== 'active') return b
  b.set({ phase: { name: 'losing', term: p.term, reason, metric, push, then: b.s.leaving ? { name: 'left', since: b.now } : then } })
  b.emit({ type: 'replicate', on: false })
  return advanceLoss(b)
}

function advanceLoss (b: Builder): Builder {
  const p = b.s.phase
  if (p.name !== 'losing' || b.s.programUp) return b
  if (p.push) {
    if (p.pushing !== true) b.set({ phase: { ...p, pushing: true } }).emit({ type: 'push-final' })
    return b
  }
  b.emit({ type: 'count', metric: 'transition', label: p.metric })
  b.log('warn', 'no longer active', { term: p.term, reason: p.reason })
  return passive(b, p.then, p.term)
}

function onProgram (b: Builder, e: Extract<ServiceEvent, { type: 'program' }>): Builder {
  if (e.event === 'started') {
    b.set({ programUp: true })
    const p = b.s.phase
    if (p.name === 'active' && p.restarting === true) b.emit({ type: 'count', metric: 'restart' })
    return b
  }
  if (e.event === 'gone') {
    b.set({ programUp: false })
    const p = b.s.phase
    if (p.name === 'losing') return advanceLoss(b)
    if (p.name === 'active' && p.restartAt != null && p.restartAt <= b.now && p.restarting !== true) restart(b)
    return b
  }
  const p = b.s.phase
  // it exited (or was fenced) before its start was confirmed: the watchdog's events can come first
  if (p.name === 'starting') return b.set({ phase: { ...p, early: e } })
  if (p.name !== 'active') return b
  // the lease ran out under us: the program is not running here any more
  if (e.event === 'fenced') return lose(b, `fenced by the watchdog: ${e.detail ?? ''}`, 'fenced', false)
  // exited: restart it under the same term and lease, or, after more than max_restarts exits within the
  // window, hand the service off and stay out for a window (a crash loop here should not keep the group without it)
  const { maxRestarts, windowMs, delayMs } = b.cfg.restart
  const exits = [...b.s.exits.filter(t => b.now - t < windowMs), b.now]
  b.set({ exits })
  if (exits.length > maxRestarts) {
    b.log('error', 'program keeps exiting: handing the service off', { exit: e.detail, exits: exits.length, windowMs })
    return lose(b, 'program keeps exiting', 'crash_loop', true, { name: 'held-down', until: b.now + Math.max(windowMs, b.cfg.holdDownMs) })
  }
  b.log('warn', 'program exited while active: restarting it', { exit: e.detail, restartInMs: delayMs, exits: exits.length, maxRestarts })
  return b.set({ phase: { name: 'active', term: p.term, restartAt: b.now + delayMs } })
}

/** the restart is due and nothing of the last run is left: start again with what is left of the lease */
function restart (b: Builder): void {
  const p = b.s.phase
  if (p.name !== 'active') return
  // no lease left: the election releases (or the watchdog fences) on its own
  if (b.s.deadline - b.now <= 0) { b.set({ phase: { name: 'active', term: p.term } }); return }
  b.set({ phase: { name: 'active', term: p.term, restarting: true } })
  b.emit({ type: 'start', term: p.term, deadline: b.s.deadline, restore: false, restart: true })
}

function onStop (b: Builder): Builder {
  const p = b.s.phase
  switch (p.name) {
    case 'standby': case 'held-down': return b.set({ phase: { name: 'left', since: b.now } })
    case 'candidate': return abandon(b, 'node stopping', false).beat()
    case 'active': return release(b, 'node stopping')
    case 'stopping': case 'losing': return b.set({ phase: { ...p, then: { name: 'left', since: b.now } } })
    // preparing, starting: their outcome sees `leaving`; left: nothing to do
    default: return b
  }
}
