import { ConfigError, NotActiveError } from '../util/errors.js'
import { HealthMonitor } from './health.js'
import { HookRunner } from './hooks.js'
import { nextServiceState } from './machine.js'
import {
  holds, initialServiceState, isHealthy, liveIds, machineConfig, nextWake, settled, snapshotRefusal, statusOf, termOf,
  type Effect, type FailoverStatus, type MachineConfig, type ServiceEvent, type ServiceState
} from './service-state.js'
import { Timeline, type Holding } from './timeline.js'
import { TermStore } from './term-store.js'
import { StateReplicator, StateStore, type Snapshot } from './state-sync.js'
import { WatchdogClient } from './watchdog-client.js'
import type { FailoverBeats, ServiceChannel } from './beats.js'
import type { FailoverServiceConfig, HookEvent } from '../config/types.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Startable } from '../util/startable.js'

/** the monotonic clock the supervisor reads (tests may drive their own) */
export interface Clock { now: () => number }

/** what the shell uses of the lease watchdog */
export type Watchdog = Pick<WatchdogClient, 'ready' | 'on' | 'start' | 'renew' | 'stop' | 'close'>

export interface SupervisorComponents {
  beats: Pick<FailoverBeats, 'add'>
  logger: Logger
  metrics: Metrics
  clock?: Clock
  /** a new watchdog (default: the watchdog process, on `nodePath`) */
  watchdog?: () => Watchdog
  /** told of every change of phase (the node's event stream) */
  onPhase?: (change: FailoverChange) => void
}

/** a change of this member's phase, or of the service's holder (`holding` then says who and why) */
export interface FailoverChange { service: string, phase: string, state: string, term: number, active?: string, holding?: Holding }

export interface SupervisorInit {
  service: FailoverServiceConfig
  /** this member's peer id */
  self: string
  env: Record<string, string | undefined>
  /** the Node.js binary the watchdog runs on */
  nodePath?: string
  /** where a received state snapshot is kept (services with `state`) */
  dataDir?: string
  /** this node's name (node.name), passed on as P2P_FAILOVER_NODE */
  nodeName?: string
}

/**
 * Runs one configured program on exactly one member of its group (docs/adr/0003-failover-design.md). The
 * decisions are the pure machine's (machine.ts); this shell feeds it events — beats, ticks, timers, the
 * watchdog's and the hooks' outcomes — and carries out the effects it returns.
 */
/** one supervisor per configured service: the node's failover part */
export function createFailoverSupervisor (components: SupervisorComponents, init: SupervisorInit): FailoverSupervisor {
  // every failover log line names its service itself
  return new FailoverSupervisor({ ...components, logger: components.logger.child({ c: 'failover' }) }, init)
}

export class FailoverSupervisor implements Startable {
  private s: ServiceState
  private readonly cfg: FailoverServiceConfig
  private readonly m: MachineConfig
  private readonly clock: Clock
  private readonly channel: ServiceChannel
  private readonly hooks: HookRunner
  private readonly replicator?: StateReplicator
  private readonly terms?: TermStore
  private health?: HealthMonitor
  private watchdog?: Watchdog
  private tick?: NodeJS.Timeout
  private wake?: NodeJS.Timeout
  private started = false
  private stopped?: Promise<void>
  private closed = false
  private readonly events: ServiceEvent[] = []
  private dispatching = false
  /** beats go out in the order the machine produced them */
  private publishing: Promise<void> = Promise.resolve()
  private readonly timeline = new Timeline()
  private readonly waiters = new Set<{ done: (s: ServiceState) => boolean, resolve: () => void }>()

  constructor (private readonly components: SupervisorComponents, private readonly init: SupervisorInit) {
    const cfg = this.cfg = init.service
    this.clock = components.clock ?? performance
    this.m = machineConfig(cfg, init.self)
    if (cfg.members.length > 0 && !cfg.members.includes(init.self)) {
      throw new ConfigError([{ path: `failover.services.${cfg.name}.members`, message: `this node's peer id ${init.self} is not in the list` }])
    }
    const { logger, metrics } = components
    const store = cfg.state != null && init.dataDir != null ? new StateStore(cfg.state, init.dataDir, cfg.name) : undefined
    this.terms = init.dataDir != null ? new TermStore(init.dataDir, cfg.name) : undefined
    // an election here starts above every term this member saw, or holds a state snapshot of, before it stopped
    const seen = Math.max(this.terms?.term ?? 0, store?.heldTerm ?? 0)
    this.s = { ...initialServiceState(this.clock.now(), this.m, Date.now() * 1000, seen), checkHealthy: cfg.healthCheck == null || cfg.dryRun }
    if (seen > 0) logger.info({ service: cfg.name, term: seen }, 'highest term seen before the restart')
    this.hooks = new HookRunner({ logger, metrics }, { service: cfg, env: (event, term) => this.envFor(event, term) })
    this.channel = components.beats.add(cfg.name, {
      members: cfg.members,
      onBeat: view => { this.dispatch({ type: 'beat', view }) },
      state: store != null ? { maxBytes: cfg.state!.maxBytes, onSnapshot: (from, snap) => { this.receiveState(from, snap) } } : undefined
    })
    if (store != null) {
      this.replicator = new StateReplicator({
        store, push: this.channel.push, metrics, logger,
        live: () => liveIds(this.s, this.clock.now(), this.m),
        // the final state goes to every member that may take over: one whose beats are late still counts
        recent: () => liveIds(this.s, this.clock.now(), this.m, cfg.leaseMs + cfg.intervalMs * cfg.misses)
      }, { service: cfg.name, intervalMs: cfg.state!.intervalMs })
    }
  }

  get name (): string { return this.cfg.name }

  start (): void {
    if (this.started || this.stopped != null) return
    this.started = true
    this.channel.open()
    // ready before it is needed: spawning it at activation would spend the first lease
    this.watchdog = this.newWatchdog()
    this.tick = setInterval(() => { this.dispatch({ type: 'tick' }) }, this.cfg.intervalMs)
    // a member starts passive: undo whatever an earlier run (killed before its passive hooks) left behind
    this.hooks.queue('after_passive', termOf(this.s))
    const check = this.cfg.healthCheck
    if (check != null && !this.cfg.dryRun) {
      this.health = new HealthMonitor(this.components, {
        service: this.cfg.name, check, cwd: this.cfg.cwd, env: () => this.envFor('health_check'), onChange: healthy => { this.dispatch({ type: 'health', healthy }) }
      })
      this.health.start()
    } else if (check != null) {
      this.components.logger.info({ service: this.cfg.name, argv: check.argv }, 'dry run: would run the health check (counted healthy)')
    }
    this.gauges()
  }

  /**
   * A node's first step when it stops, while gossip still works (every part's beforeStop runs before any stop):
   * the program stops here and the group hears it at once
   */
  async beforeStop (): Promise<void> { await this.stop() }

  /** stops the program if it runs here, tells the group at once (no lease wait for the next member), leaves */
  async stop (): Promise<void> {
    this.stopped ??= this.leave()
    await this.stopped
  }

  private async leave (): Promise<void> {
    if (!this.started) { this.closed = true; return }
    this.health?.stop()
    this.dispatch({ type: 'stop' })
    // until the release is done and the group has heard it (or an interval passed)
    await this.until(s => settled(s, this.clock.now(), this.m))
    this.closed = true
    clearInterval(this.tick)
    clearTimeout(this.wake)
    await this.publishing
    await this.hooks.idle()
    this.channel.close()
    this.watchdog?.close()
  }

  /** planned handoff: release now and stay out of the way for a hold-down */
  async handoff (): Promise<string> {
    if (this.s.phase.name !== 'active') throw new NotActiveError(`${this.cfg.name} is not active on this member`)
    this.dispatch({ type: 'handoff' })
    await this.until(s => s.phase.name !== 'stopping')
    return `${this.cfg.name}: released (term ${termOf(this.s)}); the next member takes over`
  }

  status (): FailoverStatus {
    const store = this.replicator?.store
    const held = holds(this.s) ? store?.produced : store?.received
    return { ...statusOf(this.s, this.clock.now(), this.m, { check: this.health?.last?.outcome, stateFile: held != null ? { term: held.term, version: held.version } : undefined }), timeline: this.timeline.entries() }
  }

  /** a state snapshot pushed to this member; the outcome is counted and returned */
  receiveState (from: string, snap: Snapshot): string {
    return this.replicator?.receive(from, snap, snapshotRefusal(this.s, from, snap.term)) ?? 'no_state'
  }

  /** feeds one event to the machine and carries out its effects (events raised meanwhile are queued) */
  private dispatch (event: ServiceEvent): void {
    this.events.push(event)
    if (this.dispatching) return
    this.dispatching = true
    const before = this.s.phase.name
    try {
      for (let e = this.events.shift(); e != null; e = this.events.shift()) {
        const { state, effects } = nextServiceState(this.s, e, this.clock.now(), this.m)
        this.s = state
        // on disk before this member acts in (or votes for) a higher term
        this.terms?.raise(state.election.maxTerm)
        for (const effect of effects) this.carryOut(effect)
      }
    } finally {
      this.dispatching = false
    }
    this.gauges()
    this.schedule()
    const holding = this.timeline.observe(this.s, this.clock.now(), this.m)
    if (this.s.phase.name !== before || holding != null) {
      const st = this.status()
      this.components.onPhase?.({ service: st.service, phase: st.phase, state: st.state, term: st.term, active: st.active, holding })
    }
    for (const w of this.waiters) if (w.done(this.s)) { this.waiters.delete(w); w.resolve() }
  }

  private async until (done: (s: ServiceState) => boolean): Promise<void> {
    if (done(this.s)) return
    await new Promise<void>(resolve => { this.waiters.add({ done, resolve }) })
  }

  /** a dead member sends nothing: a timer prompts the machine when a lease, a vote or a hold-down runs out */
  private schedule (): void {
    clearTimeout(this.wake)
    const now = this.clock.now()
    const at = nextWake(this.s, now, this.m)
    if (Number.isFinite(at) && !this.closed) this.wake = setTimeout(() => { this.dispatch({ type: 'wake' }) }, at - now + 1)
  }

  private carryOut (e: Effect): void {
    const { logger, metrics } = this.components
    const service = this.cfg.name
    switch (e.type) {
      case 'publish': this.publishing = this.publishing.then(async () => { await this.channel.publish(e.beat) }); break
      case 'renew': this.watchdog?.renew(e.leaseMs); break
      case 'run-hooks':
        void this.hooks.idle().then(async () => await this.hooks.run('before_active', e.term))
          .then(ok => { this.dispatch({ type: 'hooks-done', term: e.term, ok }) })
        break
      case 'queue-hooks': this.hooks.queue(e.event, e.term); break
      case 'start': void this.startProgram(e); break
      case 'replicate': if (e.on) this.replicator?.start(); else this.replicator?.stop(); break
      case 'release': void this.release(e.term, e.stopProgram); break
      case 'push-final': void this.pushFinal().then(() => { this.dispatch({ type: 'pushed' }) }); break
      case 'log': logger[e.level](e.fields ?? {}, e.msg); break
      case 'count':
        if (e.metric === 'stale') metrics.invalidMessages.inc({ reason: e.label ?? 'stale' })
        else if (e.metric === 'restart') metrics.failoverRestarts.inc({ service })
        else metrics.failoverTransitions.inc({ service, reason: e.label ?? 'other' })
    }
  }

  private async startProgram (e: Extract<Effect, { type: 'start' }>): Promise<void> {
    try {
      const wd = this.watchdog ??= this.newWatchdog()
      await wd.ready
      const left = e.deadline - this.clock.now()
      if (left <= 0) { this.dispatch({ type: 'start-failed', error: 'lease deadline passed', late: true }); return }
      if (e.restore) this.replicator?.restore(e.term)
      if (this.cfg.dryRun) this.components.logger.info({ service: this.cfg.name, term: e.term, argv: this.cfg.argv }, 'dry run: would start the program (nothing runs)')
      else await wd.start(this.cfg.argv, left, this.envFor('program', e.term), this.cfg.cwd)
      this.dispatch({ type: 'started' })
    } catch (err: any) {
      this.dispatch({ type: 'start-failed', error: err.message, late: false })
    }
  }

  /** before_passive hooks, the program stopped (the watchdog still SIGKILLs at the deadline), the final state out */
  private async release (term: number, stopProgram: boolean): Promise<void> {
    try {
      await this.hooks.idle()
      await this.hooks.run('before_passive', term)
      if (stopProgram) await this.watchdog?.stop(this.cfg.stopTimeoutMs)
      // the standbys get the final state before they hear of the release (the next active restores it)
      await this.pushFinal()
    } catch (err: any) {
      this.components.logger.error({ service: this.cfg.name, err: err.message }, 'release did not complete cleanly')
    }
    this.dispatch({ type: 'released' })
  }

  private async pushFinal (): Promise<void> {
    await this.replicator?.pushFinal(Math.max(500, this.cfg.leaseMs))
  }

  private newWatchdog (): Watchdog {
    const wd = this.components.watchdog?.() ?? new WatchdogClient(this.init.nodePath)
    wd.on(e => {
      if (e.event === 'started' || e.event === 'gone') this.dispatch({ type: 'program', event: e.event })
      else if (e.event === 'exited') this.dispatch({ type: 'program', event: 'exited', detail: e.signal != null ? `signal ${e.signal}` : `code ${e.code}` })
      else if (e.event === 'fenced') this.dispatch({ type: 'program', event: 'fenced', detail: e.reason })
    })
    return wd
  }

  private envFor (event: HookEvent | 'program' | 'health_check', term = termOf(this.s)): Record<string, string | undefined> {
    return {
      ...this.init.env,
      ...this.cfg.env,
      P2P_FAILOVER_SERVICE: this.cfg.name,
      P2P_FAILOVER_TERM: String(term),
      P2P_FAILOVER_MEMBER: this.init.self,
      P2P_FAILOVER_NODE: this.init.nodeName ?? '',
      P2P_FAILOVER_EVENT: event,
      P2P_FAILOVER_ROLE: holds(this.s) ? 'active' : 'passive'
    }
  }

  private gauges (): void {
    const { metrics } = this.components
    const labels = { service: this.cfg.name }
    const now = this.clock.now()
    metrics.failoverActive.set(labels, holds(this.s) ? 1 : 0)
    metrics.failoverTerm.set(labels, termOf(this.s))
    metrics.failoverMembers.set(labels, 1 + liveIds(this.s, now, this.m).length)
    metrics.failoverHealthy.set(labels, isHealthy(this.s, now) ? 1 : 0)
  }
}
