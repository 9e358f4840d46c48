import { NotActiveError } from '../errors.js'
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { decodeFailoverBeat, sameSender } from '../messages/codec.js'
import { FailoverBeat } from '../messages/failover.js'
import { stringifyTopic } from '../messages/topics.js'
import { activated, castVote, decide, initialState, observe, standDown, stood, type Decision, type ElectionConfig, type ElectionState, type MemberView } from './election.js'
import { HealthMonitor } from './health.js'
import { HookRunner } from './hooks.js'
import { StateReplicator, StateStore, stateProtocol, type Snapshot } from './state-sync.js'
import { WatchdogClient } from './watchdog-client.js'
import type { FailoverServiceConfig, HookEvent } from '../config/types.js'
import type { Node } from '../node/libp2p.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PubSub } from '../node/pubsub.js'
import type { PeerId } from '@libp2p/interface'

const MAX_SEQ = BigInt(Number.MAX_SAFE_INTEGER)
/** beat sequence numbers travel as uint64; the election compares them as numbers */
const seqNumber = (seq: bigint): number => Number(seq % MAX_SEQ)
const STATE_NAME: Record<FailoverBeat.State, MemberView['state']> = {
  [FailoverBeat.State.STANDBY]: 'standby', [FailoverBeat.State.CANDIDATE]: 'candidate', [FailoverBeat.State.ACTIVE]: 'active', [FailoverBeat.State.RELEASED]: 'released'
}
const STATE_WIRE: Record<MemberView['state'], FailoverBeat.State> = {
  standby: FailoverBeat.State.STANDBY, candidate: FailoverBeat.State.CANDIDATE, active: FailoverBeat.State.ACTIVE, released: FailoverBeat.State.RELEASED
}

export interface FailoverStatus {
  service: string
  state: string
  term: number
  running: boolean
  priority: number
  active?: string
  /** the program on this member: running, restarting (after an exit, within the restart policy), stopped, or dry-run */
  program: 'running' | 'restarting' | 'stopped' | 'dry-run'
  dryRun: boolean
  /** this member's own health: the damped state, and the latest check's outcome */
  health: { healthy: boolean, check?: string, holdMs: number }
  restarts: number
  /** the newest state snapshot held here (produced when active, received when standby) */
  stateFile?: { term: number, version: number }
  members: Array<{ peerId: string, priority: number, state: string, healthy: boolean, term: number, lastBeatAgeMs: number }>
}

export interface SupervisorDeps {
  peerId: PeerId
  pubsub: PubSub
  protocolVersion: string
  logger: Logger
  metrics: Metrics
  env: Record<string, string | undefined>
  /** the Node.js binary the watchdog runs on */
  nodePath?: string
  /** for pushing the state file to the standbys (services with `state`) */
  libp2p?: Node
  /** where a received state snapshot is kept */
  dataDir?: string
  /** this node's name (node.name), passed on as P2P_FAILOVER_NODE */
  nodeName?: string
}

/**
 * Runs one configured program on exactly one member of its group (docs/adr/0003-failover-design.md): gossips
 * beats, feeds the pure election, and carries out its decisions through the lease watchdog; runs the health
 * check, the hooks and the restart policy, and copies the state file from the active to the standbys.
 */
export class FailoverSupervisor {
  private readonly topic: string
  private readonly self: string
  private readonly ecfg: ElectionConfig
  private state: ElectionState
  private readonly views = new Map<string, MemberView>()
  private readonly received = new Map<string, number>()
  private readonly sentAt = new Map<number, number>()
  private seq = BigInt(Date.now()) * 1000n
  private timer?: NodeJS.Timeout
  private watchdog?: WatchdogClient
  /** this member holds the service (its program runs, or is being restarted under the restart policy) */
  private running = false
  /** the program's process group exists (between the watchdog's `started` and `gone`) */
  private programUp = false
  private stopping = false
  private busy = false
  private releasedAt?: number
  /** the lease deadline the watchdog enforces, while active (monotonic ms) */
  private deadline = 0
  /** after a handoff, a failed hook or a crash loop: advertise as unhealthy (neither stand nor outrank the next member) until then */
  private holdUntil = 0
  private readonly decoded = new WeakMap<Message, FailoverBeat>()
  private health?: HealthMonitor
  private readonly hooks: HookRunner
  /** the candidacy term whose before_active hooks already ran (a second `activate` for it skips them) */
  private hooksDoneFor?: number
  /** when the program exited while active, within the restart window */
  private exits: number[] = []
  private restartTimer?: NodeJS.Timeout
  /** the state file: kept (standby) and pushed to the others (active) */
  private readonly replicator?: StateReplicator
  /** the group's allowlist (empty: anyone who beats on the topic) */
  private readonly members: Set<string>

  constructor (private readonly cfg: FailoverServiceConfig, private readonly deps: SupervisorDeps) {
    this.topic = stringifyTopic({ kind: 'failover', pv: deps.protocolVersion, service: cfg.name })
    this.self = deps.peerId.toString()
    this.ecfg = { ...cfg, self: this.self }
    this.state = initialState(performance.now(), this.ecfg)
    this.members = new Set(cfg.members)
    if (this.members.size > 0 && !this.members.has(this.self)) {
      throw new Error(`failover service ${cfg.name}: this node's peer id ${this.self} is not in its members list`)
    }
    this.hooks = new HookRunner(cfg, { logger: deps.logger, metrics: deps.metrics, env: (event, term) => this.envFor(event, term) })
    if (cfg.state != null && deps.dataDir != null) {
      this.replicator = new StateReplicator(new StateStore(cfg.state, deps.dataDir, cfg.name), {
        service: cfg.name, intervalMs: cfg.state.intervalMs, protocol: stateProtocol(deps.protocolVersion), libp2p: deps.libp2p,
        metrics: deps.metrics, logger: deps.logger, live: () => this.liveIds(),
        // the final state goes to every member that may take over: one whose beats are late still counts
        recent: () => this.liveIds(cfg.leaseMs + cfg.intervalMs * cfg.misses)
      })
    }
  }

  get name (): string { return this.cfg.name }
  get hasState (): boolean { return this.replicator != null }
  get maxStateBytes (): number { return this.cfg.state?.maxBytes ?? 0 }

  start (): void {
    const { pubsub } = this.deps
    pubsub.topicValidators.set(this.topic, (_from, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
    // ready before it is needed: spawning it at activation would spend the first lease
    this.watchdog ??= this.newWatchdog()
    this.timer = setInterval(() => { void this.step(true) }, this.cfg.intervalMs)
    // a member starts passive: undo whatever an earlier run (killed before its passive hooks) left behind
    this.hooks.queue('after_passive', this.term())
    if (this.cfg.healthCheck != null && !this.cfg.dryRun) {
      this.health = new HealthMonitor(this.cfg.healthCheck, {
        env: () => this.envFor('health_check'),
        cwd: this.cfg.cwd,
        onResult: (healthy, changed, r) => {
          this.deps.metrics.failoverHealthChecks.inc({ service: this.cfg.name, outcome: r.ok ? 'ok' : 'failed' })
          if (!changed) return
          this.deps.logger[healthy ? 'info' : 'warn']({ service: this.cfg.name, check: r.outcome, stderr: r.stderr || undefined }, healthy ? 'health check passing: healthy' : 'health check failing: unhealthy')
          void this.step(true)
        }
      })
      this.health.start()
    } else if (this.cfg.healthCheck != null) {
      this.deps.logger.info({ service: this.cfg.name, argv: this.cfg.healthCheck.argv }, 'dry run: would run the health check (counted healthy)')
    }
    this.gauges()
  }

  /** stops the program if it runs here, tells the group at once (no lease wait for the next member), leaves */
  async stop (): Promise<void> {
    if (this.stopping) return
    // leaving for good: advertise as unhealthy, so nobody waits for this member to take the service back
    this.holdUntil = Infinity
    this.health?.stop()
    if (this.running) {
      // a release already under way (handoff, health) finishes first
      while (this.busy) await new Promise(resolve => setTimeout(resolve, 5))
      await this.release('node stopping')
    }
    this.stopping = true
    clearInterval(this.timer)
    clearTimeout(this.expiryTimer)
    if (this.releasedAt != null && performance.now() - this.releasedAt < this.cfg.leaseMs) {
      // the node stops libp2p right after this: give the RELEASED beat time to leave, and send it twice, so
      // the next member takes over now instead of waiting out the lease
      await new Promise(resolve => setTimeout(resolve, 50))
      await this.publish()
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await this.hooks.idle()
    this.deps.pubsub.removeEventListener('message', this.onMessage)
    this.deps.pubsub.topicValidators.delete(this.topic)
    this.watchdog?.close()
  }

  /** planned handoff: release now and stay out of the way for a hold-down */
  async handoff (): Promise<string> {
    if (!this.running) throw new NotActiveError(`${this.cfg.name} is not active on this member`)
    this.holdUntil = performance.now() + this.holdDownMs()
    await this.release('handoff')
    return `${this.cfg.name}: released (term ${this.term()}); the next member takes over`
  }

  status (): FailoverStatus {
    const now = performance.now()
    const members = [...this.views.values()].map(v => ({ peerId: v.id, priority: v.priority, state: v.state, healthy: v.healthy, term: v.term, lastBeatAgeMs: Math.round(now - v.lastBeatAt) }))
    const active = this.running ? this.self : [...this.views.values()].find(v => v.state === 'active' && now - v.lastBeatAt <= this.cfg.intervalMs * this.cfg.misses)?.id
    const program = !this.running ? 'stopped' : this.cfg.dryRun ? 'dry-run' : this.programUp ? 'running' : 'restarting'
    const store = this.replicator?.store
    const held = this.running ? store?.produced : store?.received
    return {
      service: this.cfg.name,
      state: this.wireState(now),
      term: this.term(),
      running: this.running,
      priority: this.cfg.priority,
      active,
      program,
      dryRun: this.cfg.dryRun,
      health: { healthy: this.healthy(now), check: this.health?.last?.outcome, holdMs: Math.max(0, Math.round(Math.min(this.holdUntil, 1e15) - now)) },
      restarts: this.exits.length,
      stateFile: held != null ? { term: held.term, version: held.version } : undefined,
      members
    }
  }

  /** a state snapshot pushed to this member; the outcome is counted and returned */
  receiveState (from: string, snap: Snapshot): string {
    const outcome = this.acceptState(from, snap)
    this.deps.metrics.failoverStateSnapshots.inc({ service: this.cfg.name, outcome })
    if (outcome === 'kept') this.deps.logger.debug({ service: this.cfg.name, term: snap.term, version: snap.version, bytes: snap.data.byteLength }, 'state snapshot received')
    else this.deps.logger.warn({ service: this.cfg.name, from, term: snap.term, version: snap.version, outcome }, 'state snapshot refused')
    return outcome
  }

  private acceptState (from: string, snap: Snapshot): string {
    if (this.replicator == null) return 'no_state'
    if (this.members.size > 0 && !this.members.has(from)) return 'not_member'
    if (this.running) return 'active_here'
    // only the member the group knows holds (or just released) that term may send its state
    const v = this.views.get(from)
    if (v == null || v.term !== snap.term || (v.state !== 'active' && v.state !== 'released')) return 'not_the_active'
    return this.replicator.store.accept(snap)
  }

  private term (): number {
    return this.state.phase.phase === 'standby' ? this.state.maxTerm : this.state.phase.term
  }

  private holdDownMs (): number { return Math.max(this.cfg.preemptDelayMs, 10 * this.cfg.intervalMs) }

  private healthy (now: number): boolean { return now >= this.holdUntil && (this.health == null || this.health.healthy) }

  private wireState (now: number): MemberView['state'] {
    if (this.releasedAt != null && now - this.releasedAt < this.cfg.leaseMs) return 'released'
    return this.state.phase.phase
  }

  private envFor (event: HookEvent | 'program' | 'health_check', term = this.term()): Record<string, string | undefined> {
    return {
      ...this.deps.env,
      ...this.cfg.env,
      P2P_FAILOVER_SERVICE: this.cfg.name,
      P2P_FAILOVER_TERM: String(term),
      P2P_FAILOVER_MEMBER: this.self,
      P2P_FAILOVER_NODE: this.deps.nodeName ?? '',
      P2P_FAILOVER_EVENT: event,
      P2P_FAILOVER_ROLE: this.running ? 'active' : 'passive'
    }
  }

  private validate (msg: Message): TopicValidatorResult {
    const reject = (reason: string): TopicValidatorResult => { this.deps.metrics.invalidMessages.inc({ reason }); return TopicValidatorResult.Reject }
    if (msg.type !== 'signed') return reject('unsigned')
    const d = decodeFailoverBeat(msg.data, this.cfg.name)
    if (!d.ok) return reject(d.reason)
    const beat = d.value
    if (!sameSender(beat.member, msg.from)) return reject('wrong_sender')
    if (this.members.size > 0 && !this.members.has(msg.from.toString())) {
      this.deps.metrics.accessDenied.inc({ what: 'failover_member' })
      return reject('not_member')
    }
    this.decoded.set(msg, beat)
    return TopicValidatorResult.Accept
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== this.topic || msg.type !== 'signed') return
    const beat = this.decoded.get(msg)
    if (beat == null) return
    const id = msg.from.toString()
    const seq = seqNumber(beat.seq)
    // replays and reordered beats say nothing new
    if ((this.received.get(id) ?? -1) >= seq) { this.deps.metrics.invalidMessages.inc({ reason: 'stale' }); return }
    this.received.set(id, seq)
    const mine = beat.acks.find(a => this.sameAs(a.member))
    let vote: MemberView['vote']
    if (beat.voteCandidate.byteLength > 0) {
      try { vote = { candidate: peerIdFromMultihash(Digest.decode(beat.voteCandidate)).toString(), term: Number(beat.voteTerm) } } catch {}
    }
    const view: MemberView = {
      id, priority: beat.priority, healthy: beat.healthy, state: STATE_NAME[beat.state] ?? 'standby', term: Number(beat.term),
      lastBeatAt: performance.now(), seq, eligible: beat.eligible, vote, ackSeq: mine != null ? seqNumber(mine.seq) : undefined
    }
    this.views.set(id, view)
    this.state = observe(this.state, view, this.ecfg)
    // an active's or a candidate's beat is answered at once: its acknowledgement (and a vote) arrive in
    // milliseconds instead of a beat interval later, which keeps its deadline far ahead and takeovers quick
    const answer = (view.state === 'active' || view.state === 'candidate') && performance.now() - this.lastAnswer > this.cfg.intervalMs / 4
    if (answer) this.lastAnswer = performance.now()
    void this.step(answer)
  }

  private lastAnswer = 0

  private selfBytes?: Uint8Array
  private sameAs (bytes: Uint8Array): boolean {
    this.selfBytes ??= this.deps.peerId.toMultihash().bytes
    return bytes.byteLength === this.selfBytes.byteLength && bytes.every((b, i) => b === this.selfBytes![i])
  }

  /** one election round; `beat`: also publish the periodic beat */
  private async step (beat: boolean): Promise<void> {
    if (this.stopping) return
    const now = performance.now()
    if (this.busy) {
      // a release, a stop or before_active hooks are under way: the lease keeps being renewed as long as the
      // group acknowledges it (renewing is always safe: the deadline comes from acknowledgements), nothing else
      if (this.running && this.state.phase.phase === 'active') {
        const { decision } = decide(this.state, [...this.views.values()], this.sentAt, this.healthy(now), now, this.ecfg)
        if (decision.action === 'renew') this.renew(decision.deadline)
      }
      if (beat) await this.publish()
      return
    }
    const views = [...this.views.values()]
    const before = this.state.vote
    this.state = castVote(this.state, views, now, this.ecfg)
    const voted = this.state.vote != null && (before == null || before.candidate !== this.state.vote.candidate || before.term !== this.state.vote.term)
    const { state, decision } = decide(this.state, views, this.sentAt, this.healthy(now), now, this.ecfg)
    this.state = state
    if (decision.action !== 'wait' && decision.action !== 'renew') this.deps.logger.debug({ service: this.cfg.name, decision }, 'election decision')
    const acted = await this.apply(decision, now)
    if (beat || voted || acted) await this.publish()
    this.gauges()
    this.wakeAtExpiry()
  }

  private renew (deadline: number): void {
    this.deadline = deadline
    if (this.running && !this.cfg.dryRun) this.watchdog?.renew(Math.max(0, deadline - performance.now()))
  }

  private expiryTimer?: NodeJS.Timeout
  /**
   * A dead member sends nothing, so no message would prompt the next step when its lease runs out; waiting for
   * the periodic tick would add up to an interval at the candidate and another at each voter. Step then instead.
   */
  private wakeAtExpiry (): void {
    const now = performance.now()
    const times = [...Object.values(this.state.honoured), this.state.vote?.until ?? Infinity, this.state.quietUntil].filter(t => t > now)
    const next = Math.min(...times)
    clearTimeout(this.expiryTimer)
    if (Number.isFinite(next) && !this.stopping) this.expiryTimer = setTimeout(() => { void this.step(false) }, next - now + 1)
  }

  /** carries a decision out; true when the group should hear about it at once */
  private async apply (d: Decision, now: number): Promise<boolean> {
    switch (d.action) {
      case 'stand':
        this.state = stood(this.state, d.term, seqNumber(this.seq + 1n), now, this.ecfg)
        this.deps.logger.info({ service: this.cfg.name, term: d.term }, 'standing for the service')
        this.deps.logger.debug({ view: [...this.views.values()].map(v => `${v.id}:${v.state}:p${v.priority}:h${Number(v.healthy)}:e${Number(v.eligible)}:age${Math.round(now - v.lastBeatAt)}`) }, 'members when standing')
        return true
      case 'activate': return await this.activate(d.term, d.deadline, d.voters, now)
      case 'renew':
        this.renew(d.deadline)
        return false
      case 'abandon':
        this.abandon(d.reason)
        return true
      case 'release':
        await this.release(d.reason)
        return false
      default: return false
    }
  }

  /** gives a candidacy up; undoes what its before_active hooks did, if they ran */
  private abandon (reason: string): void {
    const term = this.term()
    // only this member counted its self-vote, and it never activated on it: drop it (see election.decide)
    this.state = { ...standDown(this.state), vote: this.state.vote?.candidate === this.self ? undefined : this.state.vote }
    this.deps.logger.info({ service: this.cfg.name, term, reason }, 'candidacy abandoned')
    if (this.hooksDoneFor === term) {
      this.hooksDoneFor = undefined
      this.hooks.queue('before_passive', term)
      this.hooks.queue('after_passive', term)
    }
  }

  private async activate (term: number, deadline: number, voters: string[], now: number): Promise<boolean> {
    this.busy = true
    try {
      this.watchdog ??= this.newWatchdog()
      await this.watchdog.ready
      if (this.cfg.hooks.before_active.length > 0 && this.hooksDoneFor !== term) {
        // prepare this member while still a candidate: nothing runs yet, so a slow or failing hook only costs time
        await this.hooks.idle()
        this.hooksDoneFor = term
        if (!await this.hooks.run('before_active', term)) {
          this.holdUntil = performance.now() + this.holdDownMs()
          this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: 'hook_failed' })
          this.abandon('a must-succeed before_active hook failed')
          return true
        }
        // the hooks took time: ask the election again with what the group says now
        const at = performance.now()
        const again = decide(this.state, [...this.views.values()], this.sentAt, this.healthy(at), at, this.ecfg)
        this.state = again.state
        if (again.decision.action !== 'activate') {
          this.busy = false
          return await this.apply(again.decision, at)
        }
        deadline = again.decision.deadline
        voters = again.decision.voters
      }
      const left = deadline - performance.now()
      if (left <= 0) { this.abandon('lease deadline passed before the start'); return true }
      const restored = this.replicator?.store.restore(term)
      if (restored != null) {
        this.deps.metrics.failoverStateSnapshots.inc({ service: this.cfg.name, outcome: 'restored' })
        this.deps.logger.info({ service: this.cfg.name, term: restored.term, version: restored.version, bytes: restored.data.byteLength, path: this.cfg.state!.path }, 'state file restored before the start')
      }
      if (this.cfg.dryRun) {
        this.deps.logger.info({ service: this.cfg.name, term, argv: this.cfg.argv }, 'dry run: would start the program (nothing runs)')
      } else {
        await this.watchdog.start(this.cfg.argv, left, this.envFor('program', term), this.cfg.cwd)
      }
      this.state = activated(this.state, term, now, voters, seqNumber(this.seq + 1n))
      this.running = true
      this.deadline = deadline
      this.exits = []
      this.hooksDoneFor = undefined
      this.releasedAt = undefined
      this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: 'activated' })
      this.deps.logger.info({ service: this.cfg.name, term, voters }, this.cfg.dryRun ? 'active (dry run)' : 'active: program started')
      this.hooks.queue('after_active', term)
      this.replicator?.start()
      return true
    } catch (err: any) {
      this.deps.logger.error({ service: this.cfg.name, err: err.message }, 'could not start the program')
      this.holdUntil = performance.now() + this.holdDownMs()
      this.abandon('the program could not be started')
      return true
    } finally {
      this.busy = false
    }
  }

  /** stops the program (gracefully within what is left of the lease), then tells the group */
  private async release (reason: string): Promise<void> {
    if (!this.running) { this.state = standDown(this.state); return }
    this.busy = true
    const term = this.term()
    try {
      this.replicator?.stop()
      clearTimeout(this.restartTimer)
      await this.hooks.idle()
      await this.hooks.run('before_passive', term)
      // the watchdog still enforces the deadline: a stop that runs past it ends in SIGKILL there
      if (!this.cfg.dryRun) await this.watchdog?.stop(this.cfg.stopTimeoutMs)
      // the standbys get the final state before they hear of the release (the next active restores it)
      await this.replicator?.pushFinal(Math.max(500, this.cfg.leaseMs))
      this.running = false
      this.releasedAt = performance.now()
      this.state = standDown(this.state)
      this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: releaseLabel(reason) })
      this.deps.logger.info({ service: this.cfg.name, reason }, this.cfg.dryRun ? 'released (dry run)' : 'released: program stopped')
    } finally {
      this.busy = false
    }
    this.hooks.queue('after_passive', term)
    await this.publish()
    this.gauges()
  }

  /** the program is gone without a release (fenced, or it exited and may not restart): tell the group */
  private lost (reason: string, metric: string): void {
    const term = this.term()
    this.replicator?.stop()
    clearTimeout(this.restartTimer)
    this.running = false
    this.releasedAt = performance.now()
    this.state = standDown(this.state)
    this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: metric })
    this.deps.logger.warn({ service: this.cfg.name, term, reason }, 'no longer active')
    this.hooks.queue('after_passive', term)
    void this.publish()
    this.gauges()
  }

  /**
   * The program exited while this member holds the service: restart it under the same term and lease (after
   * the configured delay), or, after more than max_restarts exits within the window, hand the service off and
   * stay out for a window (a crash loop here should not keep the group without its program).
   */
  private async onProgramExit (e: { code: number | null, signal: string | null }): Promise<void> {
    const now = performance.now()
    const { maxRestarts, windowMs, delayMs } = this.cfg.restart
    this.exits = [...this.exits.filter(t => now - t < windowMs), now]
    if (this.exits.length > maxRestarts) {
      this.busy = true
      try {
        // nothing of its process group may be left when the group hears of the release
        if (this.programUp) await this.watchdog!.next(ev => ev.event === 'gone')
        this.holdUntil = performance.now() + Math.max(windowMs, this.holdDownMs())
        this.deps.logger.error({ service: this.cfg.name, exit: e, exits: this.exits.length, windowMs }, 'program keeps exiting: handing the service off')
        await this.replicator?.pushFinal(Math.max(500, this.cfg.leaseMs))
        this.lost('program keeps exiting', 'crash_loop')
      } finally {
        this.busy = false
      }
      return
    }
    this.deps.logger.warn({ service: this.cfg.name, exit: e, restartInMs: delayMs, exits: this.exits.length, maxRestarts }, 'program exited while active: restarting it')
    clearTimeout(this.restartTimer)
    this.restartTimer = setTimeout(() => { void this.restart() }, delayMs)
  }

  private async restart (): Promise<void> {
    if (!this.running || this.busy || this.stopping) return
    if (this.programUp) await this.watchdog!.next(ev => ev.event === 'gone')
    const left = this.deadline - performance.now()
    // no lease left: the election releases (or the watchdog fences) on its own
    if (!this.running || this.busy || left <= 0) return
    try {
      await this.watchdog!.start(this.cfg.argv, left, this.envFor('program'), this.cfg.cwd)
      this.deps.metrics.failoverRestarts.inc({ service: this.cfg.name })
      this.deps.logger.info({ service: this.cfg.name, term: this.term() }, 'program restarted')
    } catch (err: any) {
      this.deps.logger.error({ service: this.cfg.name, err: err.message }, 'could not restart the program')
      this.lost('the program could not be restarted', 'crash_loop')
    }
  }

  private newWatchdog (): WatchdogClient {
    const wd = new WatchdogClient(this.deps.nodePath)
    wd.on(e => {
      if (e.event === 'started') this.programUp = true
      if (e.event === 'gone') this.programUp = false
      if (e.event === 'fenced' && this.running && !this.busy) {
        // the lease ran out under us: the program is not running here any more; the group hears it once
        // nothing of the program's process group is left
        void this.fenced(e.reason)
      } else if (e.event === 'exited' && this.running && !this.busy) {
        void this.onProgramExit(e)
      }
    })
    return wd
  }

  private async fenced (reason: string): Promise<void> {
    this.busy = true
    try {
      if (this.programUp) await this.watchdog!.next(ev => ev.event === 'gone')
      this.lost(`fenced by the watchdog: ${reason}`, 'fenced')
    } finally {
      this.busy = false
    }
  }

  /** the members heard within the last misses x interval */
  private liveIds (withinMs = this.cfg.intervalMs * this.cfg.misses): string[] {
    const now = performance.now()
    return [...this.views.values()].filter(v => now - v.lastBeatAt <= withinMs).map(v => v.id)
  }

  private async publish (): Promise<void> {
    const now = performance.now()
    this.seq++
    const seq = seqNumber(this.seq)
    this.sentAt.set(seq, now)
    if (this.sentAt.size > 512) this.sentAt.delete(this.sentAt.keys().next().value as number)
    const vote = this.state.vote != null && this.state.vote.until > now ? this.state.vote : undefined
    const beat: FailoverBeat = {
      service: this.cfg.name,
      member: this.deps.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      priority: this.cfg.priority,
      seq: this.seq,
      term: BigInt(this.term()),
      state: STATE_WIRE[this.wireState(now)],
      healthy: this.healthy(now),
      eligible: this.liveIds().length + 1 >= this.cfg.quorum,
      voteCandidate: (vote != null ? idBytes(vote.candidate) : new Uint8Array()) as Uint8Array<ArrayBuffer>,
      voteTerm: BigInt(vote?.term ?? 0),
      acks: [...this.received.entries()].map(([id, s]) => ({ member: idBytes(id) as Uint8Array<ArrayBuffer>, seq: BigInt(s) })),
      running: this.running
    }
    try {
      await this.deps.pubsub.publish(this.topic, FailoverBeat.encode(beat))
    } catch (err: any) {
      this.deps.logger.debug({ err: err.message }, 'failover beat not published')
    }
  }

  private gauges (): void {
    const m = this.deps.metrics
    const s = { service: this.cfg.name }
    m.failoverActive.set(s, this.running ? 1 : 0)
    m.failoverTerm.set(s, this.term())
    m.failoverMembers.set(s, 1 + this.liveIds().length)
    m.failoverHealthy.set(s, this.healthy(performance.now()) ? 1 : 0)
  }
}

/** the metric label of a release reason (bounded: one per rule) */
function releaseLabel (reason: string): string {
  if (reason.startsWith('lost quorum')) return 'lost_quorum'
  if (reason.startsWith('a newer term')) return 'newer_term'
  if (reason.startsWith('health')) return 'health'
  if (reason.startsWith('preempted')) return 'preempted'
  if (reason === 'node stopping') return 'stopping'
  return reason === 'handoff' ? 'handoff' : 'other'
}

const idBytesCache = new Map<string, Uint8Array>()
/** a member's peer id string as multihash bytes (a base58 decode, done once per member) */
function idBytes (id: string): Uint8Array {
  let b = idBytesCache.get(id)
  if (b == null) {
    b = peerIdFromString(id).toMultihash().bytes
    if (idBytesCache.size > 1024) idBytesCache.clear()
    idBytesCache.set(id, b)
  }
  return b
}
