import { describe, expect, it } from 'vitest'
import { applyCapabilities, applyHeartbeat, claimLimits, clampLiveness, countByRole, goneAt, sweep, type HeartbeatInput, type Member } from '../../src/membership/core.js'

const hb = (seq: bigint, over: Partial<HeartbeatInput> = {}): HeartbeatInput => ({
  name: 'w', role: 'worker', version: '1', seq, intervalMs: 1000, misses: 3, load: 0, healthy: true, capabilities: ['compute'], addresses: [], ...over
})

function alive (peerId: string, lastSeen: number, over: Partial<Member> = {}): Member {
  const d = applyHeartbeat(undefined, peerId, hb(1n), lastSeen)
  if (!d.accept) throw new Error('unreachable')
  return { ...d.member, ...over }
}

describe('applyHeartbeat', () => {
  it('a first heartbeat joins', () => {
    const d = applyHeartbeat(undefined, 'p', hb(1n), 100)
    expect(d).toMatchObject({ accept: true, event: { type: 'joined', peerId: 'p' }, member: { lastSeen: 100, firstSeen: 100, state: { phase: 'alive' } } })
  })
  it('a newer heartbeat refreshes without an event', () => {
    const d = applyHeartbeat(alive('p', 100), 'p', hb(2n, { load: 7 }), 900)
    expect(d).toMatchObject({ accept: true, member: { lastSeen: 900, firstSeen: 100, load: 7 } })
    expect(d.accept && d.event).toBeUndefined()
  })
  it.each([1n, 0n])('a replayed or older sequence (%s) is stale', seq => {
    expect(applyHeartbeat(alive('p', 100), 'p', hb(seq), 200)).toEqual({ accept: false, reason: 'stale' })
  })
  it('a heartbeat from a gone member returns it', () => {
    const gone = alive('p', 100, { state: { phase: 'gone', since: 4000 } })
    expect(applyHeartbeat(gone, 'p', hb(9n), 5000)).toMatchObject({ accept: true, event: { type: 'returned' }, member: { state: { phase: 'alive' } } })
  })
  it('keeps capability-advert fields', () => {
    const m = { ...alive('p', 0), taskTypes: ['echo'], maxConcurrency: 4 }
    const d = applyHeartbeat(m, 'p', hb(2n), 10)
    expect(d.accept && d.member.taskTypes).toEqual(['echo'])
  })
})

describe('sweep', () => {
  // interval 1000 x misses 3: gone strictly after lastSeen + 3000, removed expiry later
  const cases: Array<[string, Member, number, string | undefined, string | undefined]> = [
    ['fresh stays alive', alive('a', 0), 1000, 'alive', undefined],
    ['exactly at the deadline stays alive', alive('a', 0), 3000, 'alive', undefined],
    ['past the deadline is gone', alive('a', 0), 3001, 'gone', 'gone'],
    ['gone within expiry is kept', alive('a', 0, { state: { phase: 'gone', since: 3001 } }), 8000, 'gone', undefined],
    ['gone past expiry is removed', alive('a', 0, { state: { phase: 'gone', since: 3001 } }), 13_002, undefined, 'removed']
  ]
  it.each(cases)('%s', (_name, member, now, phase, event) => {
    const r = sweep([member], now, 10_000)
    expect(r.members[0]?.state.phase).toBe(phase)
    expect(r.events[0]?.type).toBe(event)
  })
  it('uses the sender\'s own interval and misses', () => {
    const slow = alive('s', 0, { intervalMs: 30_000, misses: 2 })
    expect(goneAt(slow)).toBe(60_000)
    expect(sweep([slow], 59_000, 1).events).toEqual([])
  })
})

describe('applyCapabilities and counts', () => {
  it('an advert before any heartbeat lists the member but not as alive', () => {
    const m = applyCapabilities(undefined, 'p', { name: 'w', role: 'worker', capabilities: ['x'], taskTypes: ['echo'], maxConcurrency: 2 }, 5)
    expect(m.state.phase).toBe('gone')
    expect(countByRole([m])).toEqual({ bootstrap: 0, relay: 0, worker: 0 })
    const d = applyHeartbeat(m, 'p', hb(1n), 6)
    expect(d.accept && d.member.taskTypes).toEqual(['echo'])
    expect(d.accept && d.event?.type).toBe('returned')
  })
  it('counts alive members by role', () => {
    expect(countByRole([alive('a', 0), alive('b', 0, { role: 'relay' }), alive('c', 0, { state: { phase: 'gone', since: 1 } })])).toEqual({ bootstrap: 0, relay: 1, worker: 1 })
  })
})

describe('a member\'s claims are bounded by this node\'s policy', () => {
  const MAX = 2 ** 32 - 1
  const limits = claimLimits({ intervalMs: 5000, misses: 3 })
  it('the policy: a minute of silence, or four times this node\'s own window when that is longer', () => {
    expect(limits.maxWindowMs).toBe(60_000)
    expect(claimLimits({ intervalMs: 30_000, misses: 3 }).maxWindowMs).toBe(360_000)
  })
  it.each([
    ['an honest claim is kept', 1000, 3, 1000, 3],
    ['misses past the bound', 1000, MAX, 1000, 10],
    ['an interval that would outlast the window', MAX, 3, 20_000, 3],
    ['both at the most a field holds', MAX, MAX, 6000, 10]
  ])('%s', (_n, intervalMs, misses, wantInterval, wantMisses) => {
    expect(clampLiveness(intervalMs, misses, limits)).toEqual({ intervalMs: wantInterval, misses: wantMisses })
  })
  it('a ghost that claims 2^32-1 is gone a window after its last heartbeat, not never', () => {
    const d = applyHeartbeat(undefined, 'g', hb(1n, { intervalMs: MAX, misses: MAX }), 0, limits)
    if (!d.accept) throw new Error('refused')
    expect(goneAt(d.member)).toBe(60_000)
    expect(sweep([d.member], 60_001, 10_000).events).toEqual([{ type: 'gone', peerId: 'g' }])
  })
  it('capacity claims are clamped', () => {
    const m = applyCapabilities(undefined, 'g', { name: 'g', role: 'worker', capabilities: [], taskTypes: ['echo'], maxConcurrency: MAX, queueCapacity: MAX }, 0, limits)
    expect([m.maxConcurrency, m.queueCapacity]).toEqual([1024, 65_536])
  })
})
