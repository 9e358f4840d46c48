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

// the randomized simulation drives these rules through the service machine: test/unit/machine.test.ts
