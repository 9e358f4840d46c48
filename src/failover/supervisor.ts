import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { FailoverBeat } from '../messages/failover.js'
import { stringifyTopic } from '../messages/topics.js'
import { activated, castVote, decide, initialState, observe, standDown, stood, type Decision, type ElectionConfig, type ElectionState, type MemberView } from './election.js'
import { WatchdogClient } from './watchdog-client.js'
import type { FailoverServiceConfig } from '../config/types.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PubSub } from '../node/pubsub.js'
import type { PeerId } from '@libp2p/interface'

const MAX_BEAT_BYTES = 4096
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
}

/**
 * Runs one configured program on exactly one member of its group (docs/adr/0003-failover-design.md): gossips
 * beats, feeds the pure election, and carries out its decisions through the lease watchdog.
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
  private running = false
  private stopping = false
  private busy = false
  private releasedAt?: number
  /** after a handoff: advertise as unhealthy (neither stand nor outrank the next member) until then */
  private holdUntil = 0
  private readonly decoded = new WeakMap<Message, FailoverBeat>()

  constructor (private readonly cfg: FailoverServiceConfig, private readonly deps: SupervisorDeps) {
    this.topic = stringifyTopic({ kind: 'failover', pv: deps.protocolVersion, service: cfg.name })
    this.self = deps.peerId.toString()
    this.ecfg = { ...cfg, self: this.self }
    this.state = initialState(performance.now(), this.ecfg)
  }

  get name (): string { return this.cfg.name }

  start (): void {
    const { pubsub } = this.deps
    pubsub.topicValidators.set(this.topic, (_from, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
    // ready before it is needed: spawning it at activation would spend the first lease
    this.watchdog ??= this.newWatchdog()
    this.timer = setInterval(() => { void this.step(true) }, this.cfg.intervalMs)
    this.gauges()
  }

  /** stops the program if it runs here, tells the group at once (no lease wait for the next member), leaves */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    clearInterval(this.timer)
    clearTimeout(this.expiryTimer)
    // leaving for good: advertise as unhealthy, so nobody waits for this member to take the service back
    this.holdUntil = Infinity
    if (this.running) {
      await this.release('node stopping')
      // the node stops libp2p right after this: give the RELEASED beat time to leave, and send it twice, so
      // the next member takes over now instead of waiting out the lease
      await new Promise(resolve => setTimeout(resolve, 50))
      await this.publish()
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    this.deps.pubsub.removeEventListener('message', this.onMessage)
    this.deps.pubsub.topicValidators.delete(this.topic)
    this.watchdog?.close()
  }

  /** planned handoff: release now and stay out of the way for a hold-down */
  async handoff (): Promise<string> {
    if (!this.running) throw new Error(`${this.cfg.name} is not active on this member`)
    this.holdUntil = performance.now() + Math.max(this.cfg.preemptDelayMs, 10 * this.cfg.intervalMs)
    await this.release('handoff')
    return `${this.cfg.name}: released (term ${this.term()}); the next member takes over`
  }

  status (): FailoverStatus {
    const now = performance.now()
    const members = [...this.views.values()].map(v => ({ peerId: v.id, priority: v.priority, state: v.state, healthy: v.healthy, term: v.term, lastBeatAgeMs: Math.round(now - v.lastBeatAt) }))
    const active = this.running ? this.self : [...this.views.values()].find(v => v.state === 'active' && now - v.lastBeatAt <= this.cfg.intervalMs * this.cfg.misses)?.id
    return { service: this.cfg.name, state: this.wireState(now), term: this.term(), running: this.running, priority: this.cfg.priority, active, members }
  }

  private term (): number {
    return this.state.phase.phase === 'standby' ? this.state.maxTerm : this.state.phase.term
  }

  private healthy (now: number): boolean { return now >= this.holdUntil }

  private wireState (now: number): MemberView['state'] {
    if (this.releasedAt != null && now - this.releasedAt < this.cfg.leaseMs) return 'released'
    return this.state.phase.phase
  }

  private validate (msg: Message): TopicValidatorResult {
    const reject = (reason: string): TopicValidatorResult => { this.deps.metrics.invalidMessages.inc({ reason }); return TopicValidatorResult.Reject }
    if (msg.type !== 'signed') return reject('unsigned')
    if (msg.data.byteLength > MAX_BEAT_BYTES) return reject('too_large')
    let beat: FailoverBeat
    try { beat = FailoverBeat.decode(msg.data, { limits: { acks: 64 } }) } catch { return reject('decode') }
    if (beat.service !== this.cfg.name) return reject('bad_field')
    try {
      if (!peerIdFromMultihash(Digest.decode(beat.member)).equals(msg.from)) return reject('wrong_sender')
    } catch { return reject('wrong_sender') }
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
    if (this.busy) { if (beat) await this.publish(); return }
    const views = [...this.views.values()]
    const before = this.state.vote
    this.state = castVote(this.state, views, now, this.ecfg)
    const voted = this.state.vote != null && (before == null || before.candidate !== this.state.vote.candidate || before.term !== this.state.vote.term)
    const { state, decision } = decide(this.state, views, this.sentAt, this.healthy(now), now, this.ecfg)
    this.state = state
    const acted = await this.apply(decision, now)
    if (beat || voted || acted) await this.publish()
    this.gauges()
    this.wakeAtExpiry()
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
        if (this.running) this.watchdog?.renew(Math.max(0, d.deadline - performance.now()))
        return false
      case 'abandon':
        this.state = standDown(this.state)
        return true
      case 'release':
        await this.release(d.reason)
        return false
      default: return false
    }
  }

  private async activate (term: number, deadline: number, voters: string[], now: number): Promise<boolean> {
    this.busy = true
    try {
      this.watchdog ??= this.newWatchdog()
      await this.watchdog.ready
      const left = deadline - performance.now()
      if (left <= 0) { this.state = standDown(this.state); return true }
      const env = { ...this.deps.env, ...this.cfg.env, P2P_FAILOVER_SERVICE: this.cfg.name, P2P_FAILOVER_TERM: String(term), P2P_FAILOVER_MEMBER: this.self }
      await this.watchdog.start(this.cfg.argv, left, env)
      this.state = activated(this.state, term, now, voters, seqNumber(this.seq + 1n))
      this.running = true
      this.releasedAt = undefined
      this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: 'activated' })
      this.deps.logger.info({ service: this.cfg.name, term, voters }, 'active: program started')
      return true
    } catch (err: any) {
      this.deps.logger.error({ service: this.cfg.name, err: err.message }, 'could not start the program')
      this.state = standDown(this.state)
      return true
    } finally {
      this.busy = false
    }
  }

  /** stops the program (gracefully within what is left of the lease), then tells the group */
  private async release (reason: string): Promise<void> {
    if (!this.running) { this.state = standDown(this.state); return }
    this.busy = true
    try {
      // the watchdog still enforces the deadline: a stop that runs past it ends in SIGKILL there
      await this.watchdog?.stop(this.cfg.stopTimeoutMs)
      this.running = false
      this.releasedAt = performance.now()
      this.state = standDown(this.state)
      this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: reason.split(' ')[0] })
      this.deps.logger.info({ service: this.cfg.name, reason }, 'released: program stopped')
    } finally {
      this.busy = false
    }
    await this.publish()
    this.gauges()
  }

  private newWatchdog (): WatchdogClient {
    const wd = new WatchdogClient(this.deps.nodePath)
    wd.on(e => {
      if (e.event === 'fenced' || (e.event === 'exited' && this.running && !this.busy)) {
        // the lease ran out under us, or the program died on its own: it is not running here any more
        this.deps.logger.warn({ service: this.cfg.name, event: e }, e.event === 'fenced' ? 'fenced by the watchdog' : 'program exited while active')
        this.running = false
        this.releasedAt = performance.now()
        this.state = standDown(this.state)
        this.deps.metrics.failoverTransitions.inc({ service: this.cfg.name, reason: e.event === 'fenced' ? 'fenced' : 'program_exited' })
        void this.publish()
        this.gauges()
      }
    })
    return wd
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
      eligible: [...this.views.values()].filter(v => now - v.lastBeatAt <= this.cfg.intervalMs * this.cfg.misses).length + 1 >= this.cfg.quorum,
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
    m.failoverMembers.set(s, 1 + [...this.views.values()].filter(v => performance.now() - v.lastBeatAt <= this.cfg.intervalMs * this.cfg.misses).length)
    m.failoverHealthy.set(s, this.healthy(performance.now()) ? 1 : 0)
  }
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
