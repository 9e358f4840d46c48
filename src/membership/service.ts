import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { decodeCapabilities, decodeHeartbeat, sameSender, CapabilityAdvertisement, HeartBeat, type Decoded, type InvalidReason } from '../messages/codec.js'
import { membershipTopics } from '../messages/topics.js'
import { applyCapabilities, applyHeartbeat, countByRole, sweep, type Member, type MembershipEvent } from './core.js'
import type { Role } from '../config/schema.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PeerId } from '@libp2p/interface'

export interface MembershipInit {
  protocolVersion: string
  name: string
  role: Role
  version: string
  capabilities: string[]
  intervalMs: number
  misses: number
  expiryMs: number
  /** peers allowed to present themselves as bootstrap or relay (empty or absent: anyone) */
  infrastructurePeers?: Set<string>
}

/** what a worker's heartbeats and capability adverts say about its tasks (the executor, registered once it exists) */
export interface WorkAdvert {
  load: () => number
  types: () => string[]
  readonly maxConcurrency: number
  readonly queueCapacity: number
}

export interface MembershipComponents {
  peerId: PeerId
  pubsub: GossipSub
  logger: Logger
  metrics: Metrics
}

export interface Membership {
  start(): void
  stop(): void
  /** every member this node knows, itself excluded */
  members(): Member[]
  get(peerId: string): Member | undefined
  topics(): string[]
  /** publish a heartbeat now (also done on a timer) */
  publishHeartbeat(): Promise<void>
  /** the source of this node's load and task types in its heartbeats (workers: the executor, built after membership) */
  advertise(work: WorkAdvert): void
  /** calls `listener` on every join, return, gone and removal; returns the unsubscribe function */
  onChange(listener: (event: MembershipEvent) => void): () => void
}

const CAPABILITY_EVERY = 6

class MembershipService implements Membership {
  private readonly listeners = new Set<(event: MembershipEvent) => void>()
  private readonly table = new Map<string, Member>()
  private readonly decoded = new WeakMap<Message, Decoded<HeartBeat> | Decoded<CapabilityAdvertisement>>()
  private readonly topic: { heartbeat: string, capabilities: string }
  private timer?: NodeJS.Timeout
  private sweeper?: NodeJS.Timeout
  private soon?: NodeJS.Timeout
  private seq: bigint
  private beats = 0
  private started = false
  private work?: WorkAdvert

  constructor (private readonly components: MembershipComponents, private readonly init: MembershipInit) {

    this.topic = membershipTopics(init.protocolVersion)
    // sequence numbers start from the wall clock so a restarted node's heartbeats are newer than its old ones
    this.seq = BigInt(Date.now()) * 1000n
  }

  advertise (work: WorkAdvert): void { this.work = work }

  start (): void {
    if (this.started) return
    this.started = true
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic.heartbeat, (from, msg) => this.validate(msg, decodeHeartbeat))
    pubsub.topicValidators.set(this.topic.capabilities, (from, msg) => this.validate(msg, decodeCapabilities))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.subscribe(this.topic.heartbeat)
    pubsub.subscribe(this.topic.capabilities)
    this.timer = setInterval(() => { void this.tick() }, this.init.intervalMs)
    this.sweeper = setInterval(() => { this.sweepNow(Date.now()) }, Math.max(50, Math.min(this.init.intervalMs / 2, 1000)))
    void this.tick()
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    clearInterval(this.sweeper)
    clearTimeout(this.soon)
    const { pubsub } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.topicValidators.delete(this.topic.heartbeat)
    pubsub.topicValidators.delete(this.topic.capabilities)
  }

  onChange (listener: (event: MembershipEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  members (): Member[] { return [...this.table.values()] }
  get (peerId: string): Member | undefined { return this.table.get(peerId) }
  topics (): string[] { return [this.topic.heartbeat, this.topic.capabilities] }

  async publishHeartbeat (): Promise<void> {
    const hb: HeartBeat = {
      peerId: this.components.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      name: this.init.name,
      role: this.init.role,
      version: this.init.version,
      seq: ++this.seq,
      timestampMs: BigInt(Date.now()),
      intervalMs: this.init.intervalMs,
      misses: this.init.misses,
      load: this.work?.load() ?? 0,
      healthy: true,
      capabilities: this.init.capabilities
    }
    await this.publish(this.topic.heartbeat, 'heartbeat', HeartBeat.encode(hb))
  }

  private async publishCapabilities (): Promise<void> {
    const ad: CapabilityAdvertisement = {
      peerId: this.components.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      name: this.init.name,
      role: this.init.role,
      capabilities: this.init.capabilities,
      taskTypes: this.work?.types() ?? [],
      maxConcurrency: this.work?.maxConcurrency ?? 0,
      queueCapacity: this.work?.queueCapacity ?? 0,
      timestampMs: BigInt(Date.now())
    }
    await this.publish(this.topic.capabilities, 'capabilities', CapabilityAdvertisement.encode(ad))
  }

  private async publish (topic: string, kind: string, data: Uint8Array): Promise<void> {
    try {
      await this.components.pubsub.publish(topic, data)
      this.components.metrics.messagesPublished.inc({ topic: kind })
    } catch (err: any) {
      this.components.logger.debug({ err: err.message, topic: kind }, 'publish failed')
    }
  }

  private async tick (): Promise<void> {
    if (!this.started) return
    const withCaps = this.beats++ % CAPABILITY_EVERY === 0
    await this.publishHeartbeat()
    if (withCaps) await this.publishCapabilities()
  }

  /** A peer that just subscribed should hear from us at once instead of waiting a whole interval. */
  private readonly onSubscriptionChange = (): void => {
    if (this.soon != null || !this.started) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.publishHeartbeat().then(async () => { await this.publishCapabilities() })
    }, 50)
  }

  private validate (msg: Message, decode: (d: Uint8Array) => Decoded<HeartBeat> | Decoded<CapabilityAdvertisement>): TopicValidatorResult {
    if (msg.type !== 'signed') return this.reject('unsigned')
    const result = decode(msg.data)
    if (!result.ok) {
      this.components.logger.debug({ reason: result.reason, detail: result.detail, from: msg.from.toString() }, 'invalid membership message')
      return this.reject(result.reason)
    }
    if (!sameSender(result.value.peerId, msg.from)) return this.reject('wrong_sender')
    // with network.infrastructure_peers, only those peers may present themselves as bootstrap or relay
    const trusted = this.init.infrastructurePeers
    if (trusted != null && trusted.size > 0 && result.value.role !== 'worker' && !trusted.has(msg.from.toString())) {
      this.components.metrics.accessDenied.inc({ what: 'infrastructure_role' })
      return this.reject('untrusted_role')
    }
    this.decoded.set(msg, result)
    return TopicValidatorResult.Accept
  }

  private reject (reason: InvalidReason): TopicValidatorResult {
    this.components.metrics.invalidMessages.inc({ reason })
    return TopicValidatorResult.Reject
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.type !== 'signed') return
    const now = Date.now()
    const from = msg.from.toString()
    if (msg.topic === this.topic.heartbeat) {
      const d = (this.decoded.get(msg) ?? decodeHeartbeat(msg.data)) as Decoded<HeartBeat>
      if (!d.ok) return
      const decision = applyHeartbeat(this.table.get(from), from, { ...d.value, role: d.value.role as Role }, now)
      if (!decision.accept) {
        this.components.metrics.invalidMessages.inc({ reason: 'stale' })
        return
      }
      this.components.metrics.messagesReceived.inc({ topic: 'heartbeat' })
      this.table.set(from, decision.member)
      if (decision.event != null) this.emit(decision.event)
    } else if (msg.topic === this.topic.capabilities) {
      const d = (this.decoded.get(msg) ?? decodeCapabilities(msg.data)) as Decoded<CapabilityAdvertisement>
      if (!d.ok) return
      this.components.metrics.messagesReceived.inc({ topic: 'capabilities' })
      this.table.set(from, applyCapabilities(this.table.get(from), from, { ...d.value, role: d.value.role as Role }, now))
    }
  }

  private sweepNow (now: number): void {
    const { members, events } = sweep(this.table.values(), now, this.init.expiryMs)
    if (events.length === 0) return
    this.table.clear()
    for (const m of members) this.table.set(m.peerId, m)
    for (const e of events) {
      if (e.type === 'gone') this.components.metrics.membersGone.inc()
      this.emit(e)
    }
  }

  private emit (event: MembershipEvent): void {
    this.updateGauges()
    this.components.logger.info({ event: event.type, peer: event.peerId, memberName: this.table.get(event.peerId)?.name }, `member ${event.type}`)
    for (const listener of this.listeners) listener(event)
  }

  private updateGauges (): void {
    const counts = countByRole(this.table.values())
    for (const [role, n] of Object.entries(counts)) this.components.metrics.knownMembers.set({ role }, n)
  }
}

export function createMembership (components: MembershipComponents, init: MembershipInit): Membership {
  return new MembershipService(components, init)
}
