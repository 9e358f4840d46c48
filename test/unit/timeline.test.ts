import { describe, expect, it } from 'vitest'
import { Timeline } from '../../src/failover/timeline.js'
import { initialServiceState, machineConfig, type ServiceState } from '../../src/failover/service-state.js'
import type { MemberView } from '../../src/failover/election.js'
import { failoverService } from '../harness/fixtures.js'

const C = machineConfig(failoverService(), 'a')

const view = (id: string, state: MemberView['state'], term: number, lastBeatAt: number): MemberView =>
  ({ id, priority: 50, healthy: true, state, term, lastBeatAt, seq: 1, eligible: true } as MemberView)

describe('failover timeline: who held the service when, and why it moved', () => {
  it('records elections, releases here with their reason, takeovers and silent holders; repeats nothing', () => {
    const t = new Timeline()
    let s: ServiceState = initialServiceState(0, C, 1)
    expect(t.observe(s, 0, C)).toBeUndefined()
    s = { ...s, phase: { name: 'active', term: 3 }, election: { ...s.election, maxTerm: 3 } }
    expect(t.observe(s, 10, C)?.reason).toBe('elected here (term 3)')
    expect(t.observe(s, 20, C)).toBeUndefined()
    // a handoff: still held while stopping; once done, the entry carries the release reason
    s = { ...s, phase: { name: 'stopping', term: 3, reason: 'handoff', then: { name: 'standby' } } }
    expect(t.observe(s, 30, C)).toBeUndefined()
    s = { ...s, phase: { name: 'held-down', until: 2000 } }
    expect(t.observe(s, 40, C)).toMatchObject({ active: undefined, reason: 'released here: handoff' })
    s = { ...s, views: { b: view('b', 'active', 4, 50) } }
    expect(t.observe(s, 60, C)).toMatchObject({ active: 'b', term: 4, reason: 'took over' })
    // b goes silent: its view turns stale after misses x interval
    expect(t.observe(s, 50 + 300, C)).toBeUndefined()
    expect(t.observe(s, 50 + 301, C)).toMatchObject({ active: undefined, reason: 'the holder went silent (its lease ran out)' })
    s = { ...s, views: { b: view('b', 'released', 4, 400), c: view('c', 'active', 5, 400) } }
    expect(t.observe(s, 410, C)).toMatchObject({ active: 'c', term: 5 })
    s = { ...s, views: { b: view('b', 'standby', 4, 500), c: view('c', 'released', 5, 500), d: view('d', 'active', 6, 500) } }
    expect(t.observe(s, 510, C)).toMatchObject({ active: 'd', reason: 'the holder released it' })
    expect(t.entries().map(e => e.active ?? '-')).toEqual(['a', '-', 'b', '-', 'c', 'd'])
  })

  it('keeps a bounded number of entries', () => {
    const t = new Timeline(3)
    let s: ServiceState = initialServiceState(0, C, 1)
    for (let term = 1; term <= 10; term++) {
      s = { ...s, views: { b: view('b', 'active', term, term) } }
      t.observe(s, term, C)
    }
    expect(t.entries().map(e => e.term)).toEqual([8, 9, 10])
  })
})
