/**
 * Failure detection whose cost per node does not grow with the fleet (issue 28; docs/adr/0006-fleet-scale.md,
 * "SWIM"): SWIM (Das, Gupta, Motivala 2002) with the Lifeguard extensions (Dadgar et al. 2018), as memberlist
 * runs them. Pure: it takes the time and what arrived, and returns what to send; the shell (or the simulator,
 * bench/swim.mjs) carries messages and calls `tick`.
 *
 * - Each period this node probes one member (round robin over a shuffled list): a ping; no ack within the probe
 *   timeout, a ping-req to k others, who ping it for us and answer ack or nack; no ack by the period's end, the
 *   member is suspected.
 * - A suspicion becomes a death after a timeout that shrinks as independent members confirm it (Lifeguard), from
 *   suspicionMult x log10(n) periods down; a suspected member that hears of it refutes with a higher incarnation.
 * - Lifeguard's local health: failed probes without nacks (this node's own trouble, likely) and refutations raise
 *   a score that stretches this node's period and timeouts; successes lower it. A slow node doubts itself first.
 * - Changes (alive, suspect, dead) ride on pings and acks, each sent retransmitMult x log10(n + 1) times, fewest
 *   sent first; a periodic push-pull sync with one member (sometimes a dead one: that heals partitions) compares
 *   table digests and merges whole tables only when they differ, a remote "dead" taken as a suspicion.
 */

import { entryHash, MAX_INCARNATION, roster, SWIM_DEFAULTS, type Outgoing, type Roster, type SwimMessage, type SwimOptions, type SwimState, type SwimUpdate } from './swim-options.js'

export { roster, SWIM_DEFAULTS, type Outgoing, type Roster, type SwimMessage, type SwimOptions, type SwimState, type SwimUpdate }

interface Entry {
  id: string
  state: SwimState
  incarnation: number
  since: number
  /** suspicion: who said so (Lifeguard counts independent confirmations: each shortens the timeout) */
  suspecters?: Set<string>
}

interface Queued { update: SwimUpdate, sent: number }

interface Probe {
  target: string
  seq: number
  startedAt: number
  /** when the direct ping times out and when the period ends, for this probe (local health stretches both) */
  timeoutAt: number
  endAt: number
  indirect: boolean
  acked: boolean
  nacks: number
}

interface Relay { requester: string, requesterSeq: number, deadline: number }

/** what a node sees happen, for metrics and the simulator; `raised`: this node's own probe of `id` failed */
export type SwimEvent =
  | { type: 'joined' | 'alive' | 'suspect' | 'dead' | 'raised', id: string, at: number }
  | { type: 'refuted', at: number }

export class SwimCore {
  /** members that differ from the roster, or are not in it */
  private readonly members = new Map<string, Entry>()
  private readonly extras: string[] = []
  private readonly suspects = new Set<string>()
  private readonly dead = new Set<string>()
  /** members not dead, self included */
  private live: number
  /** the XOR of every member's entryHash, self included: equal at two nodes that agree (a sync then sends no table) */
  private digest: number
  private readonly queue = new Map<string, Queued>()
  private readonly relays = new Map<number, Relay>()
  private incarnation = 1
  private seq = 0
  private awareness = 0
  private probe?: Probe
  private nextProbeAt = 0
  private nextSyncAt: number
  readonly events: SwimEvent[] = []
  /** messages and update entries sent, for the simulator's figures */
  readonly sent = { messages: 0, updates: 0 }
  private nextGossipAt = 0

  constructor (readonly self: string, private readonly opts: SwimOptions = SWIM_DEFAULTS, private readonly random: () => number = Math.random, now = 0, private readonly base: Roster = roster([])) {
    this.live = 1 + base.ids.length - (base.index.has(self) ? 1 : 0)
    this.digest = base.digest ^ (base.index.has(self) ? 0 : entryHash(self, 1, 'alive'))
    this.nextSyncAt = now + this.syncEvery() * random()
  }

  /** what this node knows of `id`: its own entry, else the roster's alive at incarnation 1 */
  private entry (id: string): Entry | undefined {
    const e = this.members.get(id)
    if (e != null || id === this.self || !this.base.index.has(id)) return e
    const made: Entry = { id, state: 'alive', incarnation: 1, since: 0 }
    this.members.set(id, made)
    return made
  }

  private known (id: string): boolean { return id !== this.self && (this.members.has(id) || this.base.index.has(id)) }

  private insert (e: Entry): void {
    this.members.set(e.id, e)
    this.digest ^= entryHash(e.id, e.incarnation, e.state)
    if (!this.base.index.has(e.id)) this.extras.push(e.id)
    if (e.state !== 'dead') this.live++
    if (e.state === 'suspect') this.suspects.add(e.id)
  }

  /** the state of an entry changes: keep the counters and the timer sets with it */
  private move (e: Entry, to: SwimState): void {
    if (e.state !== 'dead' && to === 'dead') this.live--
    if (e.state === 'dead' && to !== 'dead') this.live++
    this.suspects.delete(e.id)
    this.dead.delete(e.id)
    if (to === 'suspect') this.suspects.add(e.id)
    if (to === 'dead') this.dead.add(e.id)
    e.state = to
  }

  /** a member known from elsewhere (a snapshot, a bootstrap answer), alive with the incarnation given */
  add (id: string, incarnation: number, now: number): void {
    if (this.known(id)) return
    this.insert({ id, state: 'alive', incarnation, since: now })
  }

  /** joins through `seeds`: a push-pull sync with each, and our alive for the others to spread */
  join (seeds: string[], now: number): Outgoing[] {
    this.enqueue({ kind: 'alive', id: this.self, incarnation: this.incarnation, from: this.self })
    return seeds.filter(s => s !== this.self).map(to => this.syncTo(to, false, true))
  }

  state (id: string): SwimState | undefined {
    if (id === this.self) return 'alive'
    return this.members.get(id)?.state ?? (this.base.index.has(id) ? 'alive' : undefined)
  }

  incarnationOf (id: string): number | undefined { return id === this.self ? this.incarnation : this.members.get(id)?.incarnation ?? (this.base.index.has(id) ? 1 : undefined) }
  get localHealth (): number { return this.awareness }
  /** every member this node knows of but itself (O(n): for views and tests, not for each message) */
  list (): Array<{ id: string, state: SwimState, incarnation: number }> {
    const out = new Map<string, { id: string, state: SwimState, incarnation: number }>()
    for (const id of this.base.ids) if (id !== this.self) out.set(id, { id, state: 'alive', incarnation: 1 })
    for (const e of this.members.values()) out.set(e.id, { id: e.id, state: e.state, incarnation: e.incarnation })
    return [...out.values()]
  }

  private get n (): number { return this.live }
  /** a sync carries the whole table: past 32 members, less often (memberlist's push-pull scale) */
  private syncEvery (): number { return this.opts.syncIntervalMs * Math.max(1, Math.ceil(Math.log2(this.n / 32))) }
  private scale (ms: number): number { return ms * (this.awareness + 1) }

  /** timers: the probe's steps, relayed probes that got no answer, suspicions that ran out, the periodic sync */
  tick (now: number): Outgoing[] {
    const out: Outgoing[] = []
    const p = this.probe
    if (p != null && !p.acked) {
      if (!p.indirect && now >= p.timeoutAt) {
        p.indirect = true
        for (const via of this.pick(this.opts.indirectChecks, id => id !== p.target)) {
          out.push(this.send(via, { type: 'ping-req', seq: p.seq, from: this.self, target: p.target, updates: [] }))
        }
      }
      if (now >= p.endAt) {
        // no ack, direct or relayed: suspect it. Fewer nacks than asked: the trouble may be ours (Lifeguard)
        if (p.nacks < this.opts.indirectChecks) this.health(+1)
        const e = this.entry(p.target)
        // a suspicion, or this node's confirmation of one it heard of (Lifeguard counts those)
        if (e != null && e.state !== 'dead') {
          this.events.push({ type: 'raised', id: p.target, at: now })
          this.apply({ kind: 'suspect', id: p.target, incarnation: e.incarnation, from: this.self }, now)
        }
        this.probe = undefined
      }
    }
    if (this.probe == null && now >= this.nextProbeAt) {
      const target = this.nextTarget()
      this.nextProbeAt = now + this.scale(this.opts.probeIntervalMs)
      if (target != null) {
        const seq = ++this.seq
        this.probe = { target, seq, startedAt: now, timeoutAt: now + this.scale(this.opts.probeTimeoutMs), endAt: now + this.scale(this.opts.probeIntervalMs) * 0.95, indirect: false, acked: false, nacks: 0 }
        out.push(this.send(target, { type: 'ping', seq, from: this.self, updates: [] }))
      }
    }
    if (now >= this.nextGossipAt) {
      this.nextGossipAt = now + this.opts.gossipIntervalMs
      // suspected members too: they are the ones that most need to hear of it (to refute)
      if (this.queue.size > 0) for (const to of this.pick(this.opts.gossipNodes, () => true, true)) out.push(this.send(to, { type: 'gossip', from: this.self, updates: [] }))
    }
    for (const [seq, r] of this.relays) {
      if (now < r.deadline) continue
      this.relays.delete(seq)
      out.push(this.send(r.requester, { type: 'nack', seq: r.requesterSeq, from: this.self }))
    }
    for (const id of this.suspects) {
      const e = this.members.get(id)!
      if (now >= e.since + this.suspicionTimeout(e)) this.apply({ kind: 'dead', id, incarnation: e.incarnation, from: this.self }, now)
    }
    for (const id of this.dead) {
      const e = this.members.get(id)!
      // forgotten (a roster member stays a dead entry: the roster would bring it back alive)
      if (now >= e.since + this.opts.deadKeepMs && !this.base.index.has(id)) {
        this.dead.delete(id)
        this.members.delete(id)
        this.digest ^= entryHash(id, e.incarnation, e.state)
        // and out of the probe order's list, or ids made up and forgotten would pile up there
        const i = this.extras.indexOf(id)
        if (i >= 0) { this.extras[i] = this.extras[this.extras.length - 1]; this.extras.pop() }
      }
    }
    if (now >= this.nextSyncAt) {
      this.nextSyncAt = now + this.syncEvery()
      const dead = [...this.dead]
      // now and then a dead member: if it was only cut off, the sync tells both sides (partition heal)
      const partner = dead.length > 0 && this.random() < 0.25 ? dead[Math.floor(this.random() * dead.length)] : this.pick(1)[0]
      if (partner != null) out.push(this.syncTo(partner, false))
    }
    return out
  }

  receive (msg: SwimMessage, now: number): Outgoing[] {
    const out: Outgoing[] = []
    if (msg.type !== 'nack') {
      // hearing from a member at all says it is alive at the incarnation we know (it would refute otherwise)
      if (msg.type !== 'sync') for (const u of msg.updates) this.apply(u, now)
      if (msg.from !== this.self && !this.known(msg.from) && this.members.size + this.base.ids.length < this.opts.maxMembers) this.insert({ id: msg.from, state: 'alive', incarnation: 0, since: now })
    }
    switch (msg.type) {
      case 'ping':
        out.push(this.send(msg.from, { type: 'ack', seq: msg.seq, from: this.self, updates: [] }))
        break
      case 'ack': {
        const p = this.probe
        if (p != null && p.seq === msg.seq) {
          if (!p.acked) this.health(-1)
          p.acked = true
          this.probe = undefined
        } else {
          const r = this.relays.get(msg.seq)
          if (r != null) {
            this.relays.delete(msg.seq)
            out.push(this.send(r.requester, { type: 'ack', seq: r.requesterSeq, from: this.self, updates: [] }))
          }
        }
        break
      }
      case 'ping-req': {
        const seq = ++this.seq
        this.relays.set(seq, { requester: msg.from, requesterSeq: msg.seq, deadline: now + this.scale(this.opts.probeTimeoutMs) })
        out.push(this.send(msg.target, { type: 'ping', seq, from: this.self, updates: [] }))
        break
      }
      case 'nack':
        if (this.probe?.seq === msg.seq) this.probe.nacks++
        break
      case 'sync':
        for (const m of (msg.members ?? []).slice(0, this.opts.maxMembers)) {
          // another node's "dead" is a suspicion here: we did not see it die (memberlist does the same)
          this.apply(m.kind === 'dead' ? { ...m, kind: 'suspect', from: msg.from } : { ...m, from: msg.from }, now)
        }
        if (!msg.reply) {
          // the same digest: nothing to send. Else our table, and theirs asked for if it did not come
          out.push(msg.digest === this.digest ? this.send(msg.from, { type: 'sync', from: this.self, reply: true, digest: this.digest }) : this.syncTo(msg.from, true, true, msg.members == null))
        } else if (msg.want === true) {
          out.push(this.syncTo(msg.from, true, true))
        }
        break
    }
    return out
  }

  /** the SWIM precedence rules: a change applies only if it is newer than what this node knows */
  private apply (u: SwimUpdate, now: number): void {
    // everything from the wire is a claim: an incarnation out of range, or far above what we know, is a lie
    if (!Number.isSafeInteger(u.incarnation) || u.incarnation < 0 || u.incarnation > MAX_INCARNATION) return
    if (u.incarnation > (this.incarnationOf(u.id) ?? 0) + this.opts.maxIncarnationJump) return
    if (u.id === this.self) {
      // someone thinks we are suspect or dead: refute with a higher incarnation, and doubt ourselves a little
      if (u.kind !== 'alive' && u.incarnation >= this.incarnation) {
        this.digest ^= entryHash(this.self, this.incarnation, 'alive') ^ entryHash(this.self, u.incarnation + 1, 'alive')
        this.incarnation = u.incarnation + 1
        this.enqueue({ kind: 'alive', id: this.self, incarnation: this.incarnation, from: this.self })
        this.health(+1)
        this.events.push({ type: 'refuted', at: now })
      }
      return
    }
    const e = this.entry(u.id)
    if (e == null) {
      // only an alive brings a member in: a suspicion or death of one we do not know (or forgot) would bring a
      // forgotten member back from another's stale table, again and again (memberlist ignores them too)
      if (u.kind !== 'alive' || this.members.size + this.base.ids.length >= this.opts.maxMembers) return
      this.insert({ id: u.id, state: 'alive', incarnation: u.incarnation, since: now })
      this.events.push({ type: 'joined', id: u.id, at: now })
      this.enqueue(u)
      return
    }
    const newer = u.incarnation > e.incarnation
    switch (u.kind) {
      case 'alive':
        if (!newer) return
        break
      case 'suspect':
        if (e.state === 'suspect' && u.incarnation === e.incarnation) {
          // an independent confirmation shortens the timeout; it is spread on too, until k of them are known
          const before = e.suspecters!.size
          e.suspecters!.add(u.from)
          if (e.suspecters!.size > before && e.suspecters!.size <= this.opts.indirectChecks + 1) this.enqueue(u)
          return
        }
        if (!(newer || (u.incarnation === e.incarnation && e.state === 'alive'))) return
        break
      case 'dead':
        if (e.state === 'dead' || u.incarnation < e.incarnation) return
        break
    }
    this.digest ^= entryHash(e.id, e.incarnation, e.state) ^ entryHash(e.id, u.incarnation, u.kind)
    this.move(e, u.kind)
    e.incarnation = u.incarnation
    e.since = now
    e.suspecters = u.kind === 'suspect' ? new Set([u.from]) : undefined
    this.events.push({ type: u.kind, id: u.id, at: now })
    this.enqueue(u)
  }

  /** Lifeguard: max(min, max - (max - min) x log(C + 1) / log(K + 1)) for C independent confirmations of K expected */
  private suspicionTimeout (e: Entry): number {
    const min = this.opts.suspicionMult * Math.max(1, Math.log10(this.n)) * this.opts.probeIntervalMs
    const max = this.opts.suspicionMaxMult * min
    const k = this.opts.indirectChecks
    const c = Math.min(k, Math.max(0, (e.suspecters?.size ?? 1) - 1))
    return Math.max(min, max - (max - min) * Math.log(c + 1) / Math.log(k + 1))
  }

  private health (delta: number): void {
    this.awareness = Math.min(this.opts.awarenessMax, Math.max(0, this.awareness + delta))
  }

  /**
   * to spread on: a suspicion keeps the member that raised it (Lifeguard counts independent suspecters, not the
   * members that passed it on); anything else goes out as ours
   */
  private enqueue (u: SwimUpdate): void {
    this.queue.set(u.id, { update: u.kind === 'suspect' ? { ...u } : { ...u, from: this.self }, sent: 0 })
  }

  /** the changes to piggyback: fewest sent first, each dropped after its retransmit limit */
  private piggyback (): SwimUpdate[] {
    if (this.queue.size === 0) return []
    const limit = this.opts.retransmitMult * Math.ceil(Math.log10(this.n + 1))
    const picked = [...this.queue.values()].sort((a, b) => a.sent - b.sent).slice(0, this.opts.maxPiggyback)
    for (const q of picked) if (++q.sent >= limit) this.queue.delete(q.update.id)
    return picked.map(q => q.update)
  }

  private send (to: string, msg: SwimMessage): Outgoing {
    if (msg.type === 'ping' || msg.type === 'ack' || msg.type === 'ping-req' || msg.type === 'gossip') msg.updates = this.piggyback()
    // Lifeguard's buddy system: a ping to a suspected member carries its suspicion, so it can refute at once
    if (msg.type === 'ping') {
      const e = this.members.get(to)
      if (e?.state === 'suspect' && !msg.updates.some(u => u.id === to)) msg.updates.unshift({ kind: 'suspect', id: to, incarnation: e.incarnation, from: this.self })
    }
    this.sent.messages++
    this.sent.updates += msg.type === 'sync' ? msg.members?.length ?? 0 : msg.type === 'nack' ? 0 : msg.updates.length
    return { to, msg }
  }

  /** a sync: our digest, and our whole table when `full` (a join, or an answer to a digest that did not match) */
  private syncTo (to: string, reply: boolean, full = false, want = false): Outgoing {
    if (!full) return this.send(to, { type: 'sync', from: this.self, reply, digest: this.digest })
    const members: SwimUpdate[] = [{ kind: 'alive', id: this.self, incarnation: this.incarnation, from: this.self }]
    for (const m of this.list()) members.push({ kind: m.state, id: m.id, incarnation: m.incarnation, from: this.self })
    return this.send(to, { type: 'sync', from: this.self, reply, digest: this.digest, members, ...(want ? { want } : {}) })
  }

  /**
   * Round robin over every member in a random order, a new order each round (SWIM's bounded detection time):
   * position i of a round is (start + i x step) mod size, with step coprime to size, so no order is stored.
   */
  private round = { start: 0, step: 1, size: 0, i: 0 }
  private nextTarget (): string | undefined {
    for (let tries = 0; tries < 2; tries++) {
      const r = this.round
      while (r.i < r.size) {
        const k = (r.start + r.i * r.step) % r.size
        r.i++
        const id = k < this.base.ids.length ? this.base.ids[k] : this.extras[k - this.base.ids.length]
        if (id != null && id !== this.self && this.known(id) && this.state(id) !== 'dead') return id
      }
      const size = this.base.ids.length + this.extras.length
      if (size === 0) return undefined
      let step = 1 + Math.floor(this.random() * size)
      while (gcd(step, size) !== 1) step = step % size + 1
      this.round = { start: Math.floor(this.random() * size), step, size, i: 0 }
    }
    return undefined
  }

  /** up to k distinct random members that are alive (or suspected too) and pass `keep` (sampled, not a scan) */
  private pick (k: number, keep: (id: string) => boolean = () => true, suspected = false): string[] {
    const size = this.base.ids.length + this.extras.length
    const out = new Set<string>()
    for (let tries = 0; tries < 20 * k && out.size < k && size > 0; tries++) {
      const j = Math.floor(this.random() * size)
      const id = j < this.base.ids.length ? this.base.ids[j] : this.extras[j - this.base.ids.length]
      const st = this.state(id)
      if (id !== this.self && this.known(id) && (st === 'alive' || (suspected && st === 'suspect')) && keep(id)) out.add(id)
    }
    return [...out]
  }
}

function gcd (a: number, b: number): number { return b === 0 ? a : gcd(b, a % b) }
