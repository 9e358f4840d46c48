import { describe, expect, it } from 'vitest'
import {
  activated, castVote, decide, defaultQuorum, fenceDeadline, initialState, observe, ranksAbove, standDown, stood,
  type ElectionConfig, type ElectionState, type MemberView
} from '../../src/failover/election.js'

const cfg = (over: Partial<ElectionConfig> = {}): ElectionConfig => ({
  self: 'a', priority: 100, groupSize: 3, quorum: 2, intervalMs: 100, misses: 3, leaseMs: 600, marginMs: 100, preempt: true, preemptDelayMs: 1000, ...over
})
const view = (id: string, over: Partial<MemberView> = {}): MemberView => ({
  id, priority: 50, healthy: true, state: 'standby', term: 0, lastBeatAt: 1000, seq: 1, eligible: true, ...over
})
const ready = (): ElectionState => initialState(-10_000, cfg())
const NO_SENT = new Map<number, number>()

describe('election rules (pure)', () => {
  it('majority quorum and a total ranking every member computes the same', () => {
    expect([1, 2, 3, 4, 5].map(defaultQuorum)).toEqual([1, 2, 2, 3, 3])
    expect(ranksAbove({ id: 'b', priority: 2 }, { id: 'a', priority: 1 })).toBe(true)
    expect(ranksAbove({ id: 'a', priority: 1 }, { id: 'b', priority: 1 })).toBe(true)
    expect(ranksAbove({ id: 'b', priority: 1 }, { id: 'a', priority: 1 })).toBe(false)
  })

  const standby: Array<[string, ElectionState, MemberView[], boolean, string]> = [
    ['stands when it ranks highest, hears a quorum and nothing holds a lease', ready(), [view('b'), view('c')], true, 'stand'],
    ['waits while honouring a live lease', { ...ready(), honoured: { b: 1500 } }, [view('b'), view('c')], true, 'wait'],
    ['waits when unhealthy', ready(), [view('b'), view('c')], false, 'wait'],
    ['waits when a higher-ranked eligible member is live', ready(), [view('b', { priority: 200 }), view('c')], true, 'wait'],
    ['does not wait for a higher-ranked member that is not eligible', ready(), [view('b', { priority: 200, eligible: false }), view('c')], true, 'stand'],
    ['waits for a higher-ranked member that just released (it is a standby like any other)', ready(), [view('b', { priority: 200, state: 'released' }), view('c')], true, 'wait'],
    ['waits when it does not hear a quorum (the others are stale)', ready(), [view('b', { lastBeatAt: 0 }), view('c', { lastBeatAt: 0 })], true, 'wait'],
    ['waits while bound by its vote for another', { ...ready(), vote: { candidate: 'b', term: 1, until: 1500 } }, [view('b'), view('c')], true, 'wait'],
    ['waits while another member stands', ready(), [view('b', { state: 'candidate', term: 1 }), view('c')], true, 'wait'],
    ['stays quiet for a lease after (re)starting: it may have voted before', initialState(900, cfg()), [view('b'), view('c')], true, 'wait']
  ]
  it.each(standby)('standby %s', (_n, state, members, healthy, action) => {
    expect(decide(state, members, NO_SENT, healthy, 1000, cfg()).decision.action).toBe(action)
  })

  it('a stand takes the next term above any seen', () => {
    const s = observe(ready(), view('b', { term: 7 }), cfg())
    expect(decide(s, [view('b', { term: 7 }), view('c')], NO_SENT, true, 1000, cfg()).decision).toEqual({ action: 'stand', term: 8 })
  })

  it('observing an active beat honours its lease for leaseMs from arrival; a release ends it', () => {
    const s = observe(ready(), view('b', { state: 'active', term: 3, lastBeatAt: 2000 }), cfg())
    expect(s.honoured.b).toBe(2600)
    expect(s.maxTerm).toBe(3)
    expect(observe(s, view('b', { state: 'released', term: 3 }), cfg()).honoured.b).toBeUndefined()
  })

  describe('votes', () => {
    const cand = (id: string, over: Partial<MemberView> = {}): MemberView => view(id, { state: 'candidate', term: 1, ...over })
    it('votes for the best-ranked live candidate, and the vote binds like a lease', () => {
      const s = castVote(ready(), [cand('b', { priority: 10 }), cand('c', { priority: 20 })], 1000, cfg())
      expect(s.vote).toEqual({ candidate: 'c', term: 1, until: 1600 })
      expect(s.honoured.c).toBe(1600)
    })
    it('never votes for a second candidate while bound, even a better one', () => {
      const s = castVote(ready(), [cand('b')], 1000, cfg())
      const again = castVote(s, [cand('b', { state: 'standby' }), cand('c', { priority: 999 })], 1200, cfg())
      expect(again.vote?.candidate).toBe('b')
    })
    it('votes for nobody while it honours an active lease', () => {
      const s = observe(ready(), view('d', { state: 'active', lastBeatAt: 900 }), cfg())
      expect(castVote(s, [cand('b')], 1000, cfg()).vote).toBeUndefined()
    })
    it('votes again only after the binding ran out', () => {
      const s = castVote(ready(), [cand('b')], 1000, cfg())
      expect(castVote(s, [cand('c', { lastBeatAt: 1700 })], 1700, cfg()).vote?.candidate).toBe('c')
    })
    it('ignores candidates of an older term, unhealthy ones, and votes nothing while quiet', () => {
      const s = { ...ready(), maxTerm: 5 }
      expect(castVote(s, [cand('b', { term: 4 })], 1000, cfg()).vote).toBeUndefined()
      expect(castVote(ready(), [cand('b', { healthy: false })], 1000, cfg()).vote).toBeUndefined()
      expect(castVote(initialState(900, cfg()), [cand('b')], 1000, cfg()).vote).toBeUndefined()
    })
  })

  describe('candidate', () => {
    // a stood at 1000 with candidacy beat seq 10 (sent at 1000)
    const cs = stood(ready(), 1, 10, 1000, cfg())
    const sent = new Map([[10, 1000], [11, 1100]])
    const voter = (id: string, ack: number): MemberView => view(id, { vote: { candidate: 'a', term: 1 }, ackSeq: ack, lastBeatAt: 1150 })
    it('activates with a quorum of votes that acknowledge its candidacy, deadline from the acks', () => {
      const d = decide(cs, [voter('b', 11), view('c', { lastBeatAt: 1150 })], sent, true, 1200, cfg()).decision
      // n - q = 1: the freshest voter's acknowledged beat (seq 11, sent 1100) + 600 - 100
      expect(d).toEqual({ action: 'activate', term: 1, deadline: 1600, voters: ['b'] })
    })
    it('does not count votes that acknowledge only an older beat', () => {
      expect(decide(cs, [voter('b', 9), view('c', { lastBeatAt: 1150 })], new Map([[9, 900], ...sent]), true, 1200, cfg()).decision.action).toBe('wait')
    })
    it('abandoning drops its self-vote, so it can vote for the better candidate at once', () => {
      const r = decide(cs, [view('b', { priority: 999, lastBeatAt: 1100 })], sent, true, 1200, cfg())
      expect(r.decision.action).toBe('abandon')
      expect(r.state.vote).toBeUndefined()
    })
    it('abandons after a lease without a quorum, or when a better member or an active appears', () => {
      expect(decide(cs, [view('b', { lastBeatAt: 1700 }), view('c', { lastBeatAt: 1700 })], sent, true, 1700, cfg()).decision.action).toBe('abandon')
      expect(decide(cs, [view('b', { priority: 999, lastBeatAt: 1100 })], sent, true, 1200, cfg()).decision.action).toBe('abandon')
      expect(decide(cs, [view('b', { state: 'active', term: 2, lastBeatAt: 1100 })], sent, true, 1200, cfg()).decision.action).toBe('abandon')
    })
  })

  describe('active', () => {
    const sent = new Map([[10, 1000], [12, 1200], [13, 1300], [14, 1400]])
    // stood with seq 10; voter b; first active beat seq 12
    const as = activated(stood(ready(), 1, 10, 1000, cfg()), 1, 1100, ['b'], 12)
    it('renews until the (n - q)-th freshest binding acknowledgement + lease - margin', () => {
      const d = decide(as, [view('b', { ackSeq: 13, lastBeatAt: 1350 }), view('c', { ackSeq: 14, lastBeatAt: 1450 })], sent, true, 1450, cfg())
      expect(d.decision).toEqual({ action: 'renew', deadline: 1400 + 500 })
    })
    it('counts a non-voter only for acknowledgements of active beats', () => {
      // c acked seq 10 (the candidacy, which does not bind a non-voter): only b's ack counts
      const d = decide(as, [view('b', { ackSeq: 12, lastBeatAt: 1250 }), view('c', { ackSeq: 10, lastBeatAt: 1250 })], sent, true, 1300, cfg())
      expect(d.decision).toEqual({ action: 'renew', deadline: 1200 + 500 })
    })
    it('with five members uses the second freshest acknowledgement', () => {
      const five = cfg({ groupSize: 5, quorum: 3 })
      const members = [view('b', { ackSeq: 14 }), view('c', { ackSeq: 13 }), view('d', { ackSeq: 12 }), view('e')]
      expect(fenceDeadline(members, sent, five, () => 12)).toBe(1300 + 500)
      expect(fenceDeadline([view('b', { ackSeq: 14 })], sent, five, () => 12)).toBe(-Infinity)
    })
    it('releases when its acknowledgements are too old (lost quorum)', () => {
      expect(decide(as, [view('b', { ackSeq: 12, lastBeatAt: 1200 })], sent, true, 1800, cfg()).decision.action).toBe('release')
    })
    it('releases when unhealthy, or when a newer term is active', () => {
      const ok = [view('b', { ackSeq: 14, lastBeatAt: 1450 })]
      expect(decide(as, ok, sent, false, 1450, cfg()).decision.action).toBe('release')
      expect(decide(as, [...ok, view('c', { state: 'active', term: 2, lastBeatAt: 1450 })], sent, true, 1450, cfg()).decision.action).toBe('release')
    })
    it('is preempted by a higher-ranked eligible member only after the delay, and never with preempt off', () => {
      const at = (t: number): MemberView[] => [view('b', { ackSeq: 20, lastBeatAt: t, priority: 500 })]
      const sentLater = new Map([...sent, [20, 2400]])
      const first = decide(as, at(1450), new Map([...sent, [20, 1440]]), true, 1450, cfg())
      expect(first.decision.action).toBe('renew')
      expect(first.state.higherSince).toBe(1450)
      // fresh acknowledgements throughout, so only the preemption delay decides
      expect(decide(first.state, at(2449), sentLater, true, 2449, cfg()).decision.action).toBe('renew')
      expect(decide(first.state, at(2450), sentLater, true, 2450, cfg()).decision).toEqual({ action: 'release', reason: 'preempted by a higher-priority member' })
      expect(decide(first.state, at(2450), sentLater, true, 2450, cfg({ preempt: false })).decision.action).toBe('renew')
    })
    it('stands down to standby', () => {
      expect(standDown(as).phase).toEqual({ phase: 'standby' })
    })
  })
})

// ---- a randomized simulation: never two programs running at once ----
// Checked against deliberate bugs (mutation testing by hand, 2026-11-23): non-exclusive votes, and an active's
// deadline extended by 700 ms or set to twice the lease, both fail it. Not caught here: a deadline only 300 ms
// too long (takeover after a cut-off active comes 190-450 ms after the correct deadline in these runs, so that
// error hides in the real slack), and a missing quiet period after a restart (too rare an interleaving) — the
// rule tests above cover that one. SIM_DEBUG=1 prints the handover gaps.

interface Sim {
  id: string, priority: number, alive: boolean, healthy: boolean, state: ElectionState, seq: number, sentAt: Map<number, number>,
  views: Map<string, MemberView>, received: Map<string, number>, releasedAt?: number, running: boolean, runStart: number, deadline: number
}
interface Beat { from: string, priority: number, healthy: boolean, state: MemberView['state'], term: number, seq: number, eligible: boolean, vote?: { candidate: string, term: number }, acks: Record<string, number> }

function rng (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => { x ^= x << 13; x >>>= 0; x ^= x >> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000 }
}

function simulate (seed: number, n: number, steps: number): { intervals: Array<{ id: string, start: number, end: number, why?: string }>, activations: number } {
  const random = rng(seed)
  const base = cfg({ groupSize: n, quorum: defaultQuorum(n) })
  const ids = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i))
  const members: Sim[] = ids.map((id, i) => ({
    id, priority: 100 - i * 10, alive: true, healthy: true, state: initialState(0, base), seq: 0, sentAt: new Map(), views: new Map(), received: new Map(), running: false, runStart: 0, deadline: 0
  }))
  const cfgOf = (m: Sim): ElectionConfig => ({ ...base, self: m.id, priority: m.priority })
  const queue: Array<{ at: number, to: string, beat: Beat }> = []
  const intervals: Array<{ id: string, start: number, end: number, why?: string }> = []
  let link = new Set<string>() // cut links "a>b"
  let activations = 0
  const stop = (m: Sim, at: number, why = 'crash'): void => {
    if (m.running) intervals.push({ id: m.id, start: m.runStart, end: Math.min(at, m.deadline), why: at >= m.deadline ? 'deadline' : why })
    m.running = false
  }
  const stateOf = (m: Sim, t: number): MemberView['state'] => m.releasedAt != null && t - m.releasedAt < base.leaseMs ? 'released' : m.state.phase.phase
  const send = (m: Sim, t: number): void => {
    m.seq++
    m.sentAt.set(m.seq, t)
    const vote = m.state.vote != null && m.state.vote.until > t ? { candidate: m.state.vote.candidate, term: m.state.vote.term } : undefined
    const term = m.state.phase.phase === 'standby' ? m.state.maxTerm : m.state.phase.term
    const beat: Beat = { from: m.id, priority: m.priority, healthy: m.healthy, state: stateOf(m, t), term, seq: m.seq, eligible: m.views.size + 1 >= base.quorum, vote, acks: Object.fromEntries(m.received) }
    for (const o of members) {
      if (o === m || link.has(`${m.id}>${o.id}`) || random() < 0.05) continue
      queue.push({ at: t + 1 + Math.floor(random() * 40), to: o.id, beat })
    }
  }
  const nextBeat = new Map(members.map(m => [m.id, Math.floor(random() * 100)]))
  for (let t = 0; t < steps; t += 5) {
    // faults
    const r = random()
    if (r < 0.004) link = new Set(ids.flatMap(a => ids.filter(b => b !== a && random() < 0.5).map(b => `${a}>${b}`)))
    else if (r < 0.008) link = new Set()
    else if (r < 0.010) {
      const m = members[Math.floor(random() * n)]
      if (m.alive) { stop(m, t); m.alive = false } else { Object.assign(m, { alive: true, state: initialState(t, base), views: new Map(), received: new Map(), releasedAt: undefined }) }
    } else if (r < 0.012) {
      const m = members[Math.floor(random() * n)]
      m.healthy = !m.healthy
    }
    // deliveries
    for (let i = queue.length - 1; i >= 0; i--) {
      const q = queue[i]
      if (q.at > t) continue
      queue.splice(i, 1)
      const m = members.find(x => x.id === q.to)!
      if (!m.alive) continue
      const b = q.beat
      if ((m.received.get(b.from) ?? 0) >= b.seq) continue
      m.received.set(b.from, b.seq)
      const v: MemberView = { id: b.from, priority: b.priority, healthy: b.healthy, state: b.state, term: b.term, lastBeatAt: t, seq: b.seq, eligible: b.eligible, vote: b.vote, ackSeq: b.acks[m.id] }
      m.views.set(b.from, v)
      m.state = observe(m.state, v, cfgOf(m))
    }
    for (const m of members) {
      if (!m.alive) continue
      const c = cfgOf(m)
      // the watchdog: a program past its deadline is killed whatever the supervisor thinks
      if (m.running && t >= m.deadline) { stop(m, m.deadline, 'deadline'); m.state = standDown(m.state) }
      const before = m.state.vote
      m.state = castVote(m.state, [...m.views.values()], t, c)
      // as in the design: a member publishes at once when its vote changes (fast, and the hardest case here)
      if (m.state.vote != null && (before == null || before.candidate !== m.state.vote.candidate || before.term !== m.state.vote.term)) send(m, t)
      const { state, decision } = decide(m.state, [...m.views.values()], m.sentAt, m.healthy, t, c)
      m.state = state
      if (decision.action === 'stand') { m.state = stood(m.state, decision.term, m.seq + 1, t, c); send(m, t) }
      if (decision.action === 'activate') {
        m.state = activated(m.state, decision.term, t, decision.voters, m.seq + 1)
        m.running = true
        m.runStart = t
        m.deadline = decision.deadline
        activations++
        send(m, t)
      }
      if (decision.action === 'renew') m.deadline = decision.deadline
      if (decision.action === 'release' || decision.action === 'abandon') {
        if (decision.action === 'release') m.releasedAt = t
        stop(m, t, decision.reason)
        m.state = standDown(m.state)
        send(m, t)
      }
      if (t >= nextBeat.get(m.id)!) { send(m, t); nextBeat.set(m.id, t + base.intervalMs) }
    }
  }
  for (const m of members) stop(m, steps)
  return { intervals, activations }
}

describe('election simulation: lossy, delayed links, partitions, crashes, health flips', () => {
  for (const n of [3, 5]) {
    it(`never two programs running at once (${n} members, 40 seeds x 60 s)`, () => {
      let activations = 0
      for (let seed = 1; seed <= 40; seed++) {
        const { intervals, activations: a } = simulate(seed * 7919 + n, n, 60_000)
        activations += a
        const sorted = intervals.filter(i => i.end > i.start).sort((x, y) => x.start - y.start)
        for (let i = 1; i < sorted.length; i++) {
          const prev = sorted.slice(0, i).reduce((m, x) => Math.max(m, x.end), 0)
          expect(sorted[i].start, `seed ${seed}: ${JSON.stringify(sorted.slice(Math.max(0, i - 2), i + 1))}`).toBeGreaterThanOrEqual(prev)
        }
      }
      // and it is not safe by never running anything
      expect(activations).toBeGreaterThan(40)
      if (process.env.SIM_DEBUG != null) {
        const gaps: number[] = []
        let fenced = 0
        for (let seed = 1; seed <= 40; seed++) {
          const { intervals } = simulate(seed * 7919 + n, n, 60_000)
          const sorted = intervals.filter(i => i.end > i.start).sort((x, y) => x.start - y.start)
          for (let i = 1; i < sorted.length; i++) if (sorted[i].id !== sorted[i - 1].id && !/preempt|health|newer/.test(sorted[i - 1].why ?? '')) gaps.push(sorted[i].start - sorted[i - 1].end)
          fenced += intervals.length
        }
        gaps.sort((a, b) => a - b)
        console.log(`n=${n} handovers ${gaps.length} intervals ${fenced} smallest gaps ${gaps.slice(0, 8).join(',')} median ${gaps[Math.floor(gaps.length / 2)]}`)
      }
    })
  }
})
