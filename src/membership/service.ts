import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { decodeCapabilities, decodeHeartbeat, sameSender, CapabilityAdvertisement, HeartBeat, type Decoded, type InvalidReason } from '../messages/codec.js'
import { membershipTopics } from '../messages/topics.js'
import { bigEndian, seqnoBytes, signatureProblem, type Kept, type SignedMessage } from './signed.js'
import { applyCapabilities, applyHeartbeat, claimLimits, clampLiveness, countByRole, sweep, type ClaimLimits, type HeartbeatInput, type Member, type MembershipEvent } from './core.js'
import { TokenBuckets } from '../util/rate-limit.js'
import type { Role } from '../config/schema.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Startable } from '../util/startable.js'

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
  /** network.allowed_peers: messages authored by anyone else are dropped, whoever forwards them (empty or absent: anyone) */
  allowedPeers?: Set<string>
  /** the most members the table holds; a new member past it is refused until one is removed (default 4096) */
  maxMembers?: number
  /** new members one connection may bring in: a burst, then this many a second (defaults 64 and 4) */
  newMemberBurst?: number
  newMemberRate?: number
}

/** what a worker's heartbeats and capability adverts say about its tasks (its executor) */
export interface WorkAdvert {
  load: () => number
  /** whether it takes new tasks (the heartbeat's `healthy`; schedulers pass over a worker that says no) */
  accepting: () => boolean
  types: () => string[]
  readonly maxConcurrency: number
  readonly queueCapacity: number
}

export interface MembershipComponents {
  peerId: PeerId
  pubsub: GossipSub
  /** this node's announced addresses without the /p2p/ suffix, sent in its heartbeats */
  addresses?: () => Multiaddr[]
  /** workers: their executor, whose load and task types the heartbeats and adverts carry */
  work?: WorkAdvert
  logger: Logger
  metrics: Metrics
}

export type { SignedMessage } from './signed.js'

export interface Membership extends Startable {
  /** every member this node knows, itself excluded */
  members(): Member[]
  get(peerId: string): Member | undefined
  topics(): string[]
  /** publish a heartbeat now (also done on a timer) */
  publishHeartbeat(): Promise<void>
  /** calls `listener` on every join, return, gone and removal; returns the unsubscribe function */
  onChange(listener: (event: MembershipEvent) => void): () => void
  /** the latest signed heartbeat and capability advert of every live member, for a member snapshot */
  signedMessages(): SignedMessage[]
  /**
   * Applies messages from another node's snapshot: each author's signature is checked here, then the message goes
   * through the same checks and rules as one from GossipSub. Returns how many were taken and how many rejected.
   */
  applySnapshot(messages: SignedMessage[]): Promise<{ applied: number, rejected: number }>
}

const CAPABILITY_EVERY = 6


class MembershipService implements Membership {
  private readonly listeners = new Set<(event: MembershipEvent) => void>()
  private readonly table = new Map<string, Member>()
  /** each member's latest accepted messages as signed, for snapshots (dropped with the member) */
  private readonly signed = new Map<string, { from: PeerId, heartbeat?: Kept, capabilities?: Kept }>()
  private readonly decoded = new WeakMap<Message, Decoded<HeartBeat | CapabilityAdvertisement>>()
  private readonly topic: { heartbeat: string, capabilities: string }
  private timer?: NodeJS.Timeout
  private sweeper?: NodeJS.Timeout
  private soon?: NodeJS.Timeout
  private seq: bigint
  private beats = 0
  private started = false
  private readonly limits: ClaimLimits
  private readonly maxMembers: number
  /** new members per forwarding connection: one peer cannot fill the table with made-up members */
  private readonly newMembers: TokenBuckets

  constructor (private readonly components: MembershipComponents, private readonly init: MembershipInit) {
    this.limits = claimLimits(init)
    this.maxMembers = init.maxMembers ?? 4096
    this.newMembers = new TokenBuckets(init.newMemberRate ?? 4, init.newMemberBurst ?? 64, 1024)

    this.topic = membershipTopics(init.protocolVersion)
    // sequence numbers start from the wall clock so a restarted node's heartbeats are newer than its old ones
    this.seq = BigInt(Date.now()) * 1000n
  }

  start (): void {
    if (this.started) return
    this.started = true
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic.heartbeat, (from, msg) => this.validate(from, msg, decodeHeartbeat))
    pubsub.topicValidators.set(this.topic.capabilities, (from, msg) => this.validate(from, msg, decodeCapabilities))
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
      load: this.components.work?.load() ?? 0,
      healthy: this.components.work?.accepting() ?? true,
      capabilities: this.init.capabilities,
      addrs: (this.components.addresses?.() ?? []).slice(0, 8).map(a => a.bytes)
    }
    await this.publish(this.topic.heartbeat, 'heartbeat', HeartBeat.encode(hb))
  }

  private async publishCapabilities (): Promise<void> {
    const ad: CapabilityAdvertisement = {
      peerId: this.components.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      name: this.init.name,
      role: this.init.role,
      capabilities: this.init.capabilities,
      taskTypes: this.components.work?.types() ?? [],
      maxConcurrency: this.components.work?.maxConcurrency ?? 0,
      queueCapacity: this.components.work?.queueCapacity ?? 0,
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

  private validate<T extends HeartBeat | CapabilityAdvertisement> (forwarder: PeerId, msg: Message, decode: (d: Uint8Array) => Decoded<T>): TopicValidatorResult {
    if (msg.type !== 'signed') return this.reject('unsigned')
    const result = this.check(msg.from, msg.data, decode)
    if (!result.ok) return TopicValidatorResult.Reject
    const author = msg.from.toString()
    if (!this.table.has(author)) {
      // not the forwarder's fault when it is full or a join wave passes through it: ignored, not punished
      if (!this.roomFor(author)) return this.ignore('table_full')
      if (!this.newMembers.take(forwarder.toString())) return this.ignore('new_member_rate')
    }
    this.decoded.set(msg, result)
    return TopicValidatorResult.Accept
  }

  private ignore (reason: InvalidReason): TopicValidatorResult {
    this.components.metrics.invalidMessages.inc({ reason })
    return TopicValidatorResult.Ignore
  }

  /** room for a new member: below the bound, or a gone member to drop for it (the longest gone first) */
  private roomFor (peerId: string): boolean {
    if (this.table.has(peerId) || this.table.size < this.maxMembers) return true
    let oldest: Member | undefined
    for (const m of this.table.values()) {
      if (m.state.phase === 'gone' && (oldest == null || m.state.since < (oldest.state as { since: number }).since)) oldest = m
    }
    if (oldest == null) return false
    this.table.delete(oldest.peerId)
    this.signed.delete(oldest.peerId)
    this.emit({ type: 'removed', peerId: oldest.peerId })
    return true
  }

  /** the checks every membership message passes, whichever way it came; a failure is counted */
  private check<T extends HeartBeat | CapabilityAdvertisement> (from: PeerId, data: Uint8Array, decode: (d: Uint8Array) => Decoded<T>): Decoded<T> {
    const result = decode(data)
    if (!result.ok) {
      this.components.logger.debug({ reason: result.reason, detail: result.detail, from: from.toString() }, 'invalid membership message')
      this.reject(result.reason)
      return result
    }
    if (!sameSender(result.value.peerId, from)) return this.rejected('wrong_sender')
    const allowed = this.init.allowedPeers
    if (allowed != null && allowed.size > 0 && !allowed.has(from.toString()) && !from.equals(this.components.peerId)) {
      this.components.metrics.accessDenied.inc({ what: 'message_author' })
      return this.rejected('not_allowed')
    }
    // with network.infrastructure_peers, only those peers may present themselves as bootstrap or relay
    const trusted = this.init.infrastructurePeers
    if (trusted != null && trusted.size > 0 && result.value.role !== 'worker' && !trusted.has(from.toString())) {
      this.components.metrics.accessDenied.inc({ what: 'infrastructure_role' })
      return this.rejected('untrusted_role')
    }
    return result
  }

  private rejected (reason: InvalidReason): { ok: false, reason: InvalidReason, detail: string } {
    this.reject(reason)
    return { ok: false, reason, detail: reason }
  }

  private reject (reason: InvalidReason): TopicValidatorResult {
    this.components.metrics.invalidMessages.inc({ reason })
    return TopicValidatorResult.Reject
  }

  signedMessages (): SignedMessage[] {
    const now = Date.now()
    const out: SignedMessage[] = []
    for (const [id, s] of this.signed) {
      if (this.table.get(id)?.state.phase !== 'alive') continue
      for (const kind of ['heartbeat', 'capabilities'] as const) {
        const k = s[kind]
        if (k != null) out.push({ kind, from: s.from, data: k.data, seqno: k.seqno, signature: k.signature, ageMs: now - k.at })
      }
    }
    return out
  }

  async applySnapshot (messages: SignedMessage[]): Promise<{ applied: number, rejected: number }> {
    let applied = 0
    let rejected = 0
    const self = this.components.peerId
    // heartbeats first: a capability advert of a member not heard yet would list it as gone
    const ordered = [...messages].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'heartbeat' ? -1 : 1))
    for (const m of ordered) {
      if (m.from.equals(self)) continue
      const forged = await signatureProblem(m, m.kind === 'heartbeat' ? this.topic.heartbeat : this.topic.capabilities)
      if (forged != null) { this.reject(forged); rejected++; continue }
      const receivedAt = Date.now() - m.ageMs
      const from = m.from.toString()
      if (m.kind === 'heartbeat') {
        const d = this.check(m.from, m.data, decodeHeartbeat)
        if (!d.ok) { rejected++; continue }
        // already past its deadline by the answering node's clock: not evidence of life
        const liveness = clampLiveness(d.value.intervalMs, d.value.misses, this.limits)
        if (receivedAt + liveness.intervalMs * liveness.misses < Date.now()) continue
        if (!this.roomFor(from)) { this.ignore('table_full'); continue }
        // not taken: we have this one or a newer one already
        if (this.takeHeartbeat(m.from, d.value, { data: m.data, seqno: m.seqno, signature: m.signature, at: receivedAt })) applied++
      } else {
        const d = this.check(m.from, m.data, decodeCapabilities)
        if (!d.ok) { rejected++; continue }
        const known = this.signed.get(from)?.capabilities
        if (known != null && bigEndian(known.seqno) >= bigEndian(m.seqno)) continue
        if (!this.roomFor(from)) { this.ignore('table_full'); continue }
        this.takeCapabilities(m.from, d.value, { data: m.data, seqno: m.seqno, signature: m.signature, at: receivedAt })
        applied++
      }
    }
    return { applied, rejected }
  }

  /**
   * The one apply path of a member's heartbeat, from gossip or from a snapshot (checked by then): into the table,
   * its signed copy kept for snapshots, the change announced. False when it is not newer than the one held.
   */
  private takeHeartbeat (from: PeerId, hb: HeartBeat, signed: Kept): boolean {
    const id = from.toString()
    const decision = applyHeartbeat(this.table.get(id), id, heartbeatInput(hb), signed.at, this.limits)
    if (!decision.accept) return false
    this.keep(from, 'heartbeat', signed)
    this.table.set(id, decision.member)
    if (decision.event != null) this.emit(decision.event)
    return true
  }

  /** the same for a capability advert */
  private takeCapabilities (from: PeerId, ad: CapabilityAdvertisement, signed: Kept): void {
    const id = from.toString()
    this.keep(from, 'capabilities', signed)
    this.table.set(id, applyCapabilities(this.table.get(id), id, { ...ad, role: ad.role as Role }, signed.at, this.limits))
  }

  private keep (from: PeerId, kind: 'heartbeat' | 'capabilities', signed: Kept): void {
    const s = this.signed.get(from.toString()) ?? { from }
    s[kind] = signed
    this.signed.set(from.toString(), s)
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.type !== 'signed') return
    const now = Date.now()
    const from = msg.from.toString()
    if (msg.topic === this.topic.heartbeat) {
      const d = (this.decoded.get(msg) ?? decodeHeartbeat(msg.data)) as Decoded<HeartBeat>
      if (!d.ok) return
      if (!this.takeHeartbeat(msg.from, d.value, { data: msg.data, seqno: seqnoBytes(msg.sequenceNumber), signature: msg.signature, at: now })) {
        // the very heartbeat we hold already (it came first in a member snapshot) is no replay: not counted
        if (d.value.seq !== this.table.get(from)?.seq) this.components.metrics.invalidMessages.inc({ reason: 'stale' })
        return
      }
      this.components.metrics.messagesReceived.inc({ topic: 'heartbeat' })
    } else if (msg.topic === this.topic.capabilities) {
      const d = (this.decoded.get(msg) ?? decodeCapabilities(msg.data)) as Decoded<CapabilityAdvertisement>
      if (!d.ok) return
      this.components.metrics.messagesReceived.inc({ topic: 'capabilities' })
      this.takeCapabilities(msg.from, d.value, { data: msg.data, seqno: seqnoBytes(msg.sequenceNumber), signature: msg.signature, at: now })
    }
  }

  private sweepNow (now: number): void {
    const { members, events } = sweep(this.table.values(), now, this.init.expiryMs)
    if (events.length === 0) return
    this.table.clear()
    for (const m of members) this.table.set(m.peerId, m)
    for (const e of events) {
      if (e.type === 'removed') this.signed.delete(e.peerId)
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

/** the decoder checked the addresses parse; they are parsed again only when the member is dialled */
function heartbeatInput (hb: HeartBeat): HeartbeatInput {
  return { ...hb, role: hb.role as Role, addresses: hb.addrs }
}

export function createMembership (components: MembershipComponents, init: MembershipInit): Membership {
  return new MembershipService({ ...components, logger: components.logger.child({ c: 'membership' }) }, init)
}
