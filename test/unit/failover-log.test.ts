import { describe, expect, it } from 'vitest'
import { handovers, intervals, overlaps, termRegressions } from '../harness/failover-log.js'

const stamps = (who: string, from: number, to: number, term: number): Array<{ who: string, ms: number, term: number }> =>
  Array.from({ length: Math.floor((to - from) / 20) + 1 }, (_, i) => ({ who, ms: from + i * 20, term }))

describe('the failover checker', () => {
  it('finds no overlap in a clean handover and measures its gap', () => {
    const list = intervals([...stamps('a', 0, 1000, 1), ...stamps('b', 1500, 2000, 2)])
    expect(overlaps(list)).toEqual([])
    expect(termRegressions(list)).toEqual([])
    expect(handovers(list)).toEqual([{ from: 'a', to: 'b', at: 1500, gapMs: 500 }])
  })
  it('catches two members running at once, even briefly', () => {
    const list = intervals([...stamps('a', 0, 1000, 1), ...stamps('b', 980, 2000, 2)])
    expect(overlaps(list).length).toBe(1)
  })
  it('catches a new holder without a higher term', () => {
    expect(termRegressions(intervals([...stamps('a', 0, 100, 3), ...stamps('b', 500, 600, 3)])).length).toBe(1)
  })
  it('splits a member\'s stamps into intervals at gaps and term changes', () => {
    expect(intervals([...stamps('a', 0, 100, 1), ...stamps('a', 1000, 1100, 1), ...stamps('a', 1120, 1200, 2)]).length).toBe(3)
  })
})
