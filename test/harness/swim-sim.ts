// A simulated network and clock for the SWIM membership core (src/membership/swim.ts): every node a SwimCore, every
// message delivered after a random latency or lost with a given probability, nodes killed (they neither send nor
// receive), the fleet cut in two and healed. Deterministic for a seed. Used by test/unit/swim.test.ts at small sizes
// and by bench/swim.mjs at 1,000 and 10,000 members.
import { roster, SwimCore, SWIM_DEFAULTS, type Outgoing, type SwimMessage, type SwimOptions, type SwimState } from '../../src/membership/swim.js'

/** mulberry32: a small seeded generator, so a run can be repeated */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SimOptions {
  n: number
  /** probability that one message is lost */
  loss?: number
  latencyMs?: [number, number]
  seed?: number
  swim?: Partial<SwimOptions>
  /** the clock's step: messages are delivered and timers run at this resolution */
  stepMs?: number
}

/** bytes of a message as a compact encoding would carry it: a header, and an id, incarnation and kind per change */
const HEADER_BYTES = 48
const UPDATE_BYTES = 44

export class SwimSim {
  readonly nodes = new Map<string, SwimCore>()
  readonly ids: string[]
  now = 0
  private readonly down = new Set<string>()
  private side?: Map<string, number>
  private readonly cuts = new Set<string>()
  private readonly slowBy = new Map<string, number>()
  private readonly frozen = new Map<string, Array<Outgoing & { from: string }>>()
  private readonly queue = new Map<number, Array<Outgoing & { from: string }>>()
  private readonly random: () => number
  private readonly step: number
  private readonly loss: number
  private readonly latency: [number, number]
  private readonly swim: SwimOptions
  /** messages and bytes sent by live nodes since `resetCounters` */
  sentMessages = 0
  sentBytes = 0

  constructor (opts: SimOptions) {
    this.random = seeded(opts.seed ?? 1)
    this.step = opts.stepMs ?? 20
    this.loss = opts.loss ?? 0
    this.latency = opts.latencyMs ?? [1, 10]
    this.swim = { ...SWIM_DEFAULTS, ...opts.swim }
    this.ids = Array.from({ length: opts.n }, (_, i) => `n${i}`)
    // every node starts from the same snapshot: all members alive at incarnation 1
    const shared = roster(this.ids)
    for (const [i, id] of this.ids.entries()) this.nodes.set(id, new SwimCore(id, this.swim, seeded((opts.seed ?? 1) * 7919 + i), 0, shared))
  }

  get alive (): string[] { return this.ids.filter(id => !this.down.has(id) && this.nodes.has(id)) }

  kill (id: string): void { this.down.add(id) }

  /** a new member that knows only `seed` */
  join (id: string, seed: string): void {
    const core = new SwimCore(id, this.swim, seeded(this.ids.length * 31 + this.nodes.size), this.now)
    this.nodes.set(id, core)
    this.ids.push(id)
    this.dispatch(id, core.join([seed], this.now))
  }

  /** cuts the fleet in two: `a` on one side, everyone else on the other */
  partition (a: string[]): void {
    const set = new Set(a)
    this.side = new Map(this.ids.map(id => [id, set.has(id) ? 1 : 2]))
  }

  heal (): void { this.side = undefined }

  /** no message between `a` and `b`, either way (each can still reach everyone else) */
  cut (a: string, b: string): void { this.cuts.add(`${a} ${b}`); this.cuts.add(`${b} ${a}`) }

  /** `id` stops (a long GC pause, a stopped VM): no timers, and what reaches it waits until `thaw` */
  freeze (id: string): void { this.frozen.set(id, []) }

  thaw (id: string): void {
    const held = this.frozen.get(id) ?? []
    this.frozen.delete(id)
    const node = this.nodes.get(id)!
    for (const m of held) this.dispatch(id, node.receive(m.msg, this.now))
  }

  /** every message to or from `id` takes `ms` more (an overloaded or far-away member) */
  slow (id: string, ms: number): void { this.slowBy.set(id, ms) }

  /** a message from outside the fleet's own nodes (a liar), handed to `to` now */
  inject (to: string, msg: SwimMessage): void {
    this.dispatch(to, this.nodes.get(to)!.receive(msg, this.now))
  }

  resetCounters (): void { this.sentMessages = 0; this.sentBytes = 0 }

  /** the share of live members (but `id` itself) whose view of `id` passes `pred` */
  share (id: string, pred: (s: SwimState | undefined) => boolean): number {
    let yes = 0
    let all = 0
    for (const other of this.ids) {
      if (other === id || this.down.has(other)) continue
      all++
      if (pred(this.nodes.get(other)!.state(id))) yes++
    }
    return all === 0 ? 1 : yes / all
  }

  /** runs the clock until `until` (ms), or until `stop` says so after a step; returns the time it stopped */
  run (until: number, stop?: () => boolean): number {
    while (this.now < until) {
      this.now += this.step
      const due = this.queue.get(this.now)
      if (due != null) {
        this.queue.delete(this.now)
        for (const m of due) {
          if (this.down.has(m.to)) continue
          const held = this.frozen.get(m.to)
          if (held != null) { held.push(m); continue }
          const node = this.nodes.get(m.to)
          if (node != null) this.dispatch(m.to, node.receive(m.msg, this.now))
        }
      }
      for (const id of this.ids) {
        if (this.down.has(id) || this.frozen.has(id)) continue
        this.dispatch(id, this.nodes.get(id)!.tick(this.now))
      }
      if (stop?.() === true) break
    }
    return this.now
  }

  private dispatch (from: string, out: Outgoing[]): void {
    for (const o of out) {
      this.sentMessages++
      const updates = o.msg.type === 'sync' ? o.msg.members?.length ?? 0 : o.msg.type === 'nack' ? 0 : o.msg.updates.length
      this.sentBytes += HEADER_BYTES + UPDATE_BYTES * updates
      if (this.random() < this.loss) continue
      if (this.side != null && this.side.get(from) !== this.side.get(o.to)) continue
      if (this.cuts.size > 0 && this.cuts.has(`${from} ${o.to}`)) continue
      const [lo, hi] = this.latency
      const extra = (this.slowBy.get(from) ?? 0) + (this.slowBy.get(o.to) ?? 0)
      const at = Math.ceil((this.now + lo + extra + this.random() * (hi - lo)) / this.step) * this.step
      const slot = Math.max(at, this.now + this.step)
      let list = this.queue.get(slot)
      if (list == null) this.queue.set(slot, list = [])
      list.push({ ...o, from })
    }
  }
}
