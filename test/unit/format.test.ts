import { describe, expect, it } from 'vitest'
import { formatFailover, formatTopology } from '../../src/cli/format.js'
import type { FailoverStatus } from '../../src/failover/service-state.js'

const A = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const C = '12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

describe('REPL output', () => {
  it('topology: one row per connection by name, relayed marked, members that did not answer named', () => {
    const out = formatTopology({
      nodes: [{ peerId: A, name: 'w1', self: true }, { peerId: B, name: 'boot' }, { peerId: C, name: 'w2' }],
      links: [{ from: A, to: B, relayed: false }, { from: B, to: C, relayed: true }],
      unanswered: [C]
    })
    expect(out).toMatch(/^3 nodes, 2 connections/)
    expect(out).toMatch(/w1\s+boot\s+direct/)
    expect(out).toMatch(/boot\s+w2\s+relayed/)
    expect(out).toMatch(/\(w2: not asked or not answering/)
  })

  it('failover: the latest three holders with their reasons, oldest first', () => {
    const f: FailoverStatus = {
      service: 'demo', state: 'standby', phase: 'standby', term: 4, running: false, priority: 100, active: B, program: 'stopped', dryRun: false,
      health: { healthy: true, holdMs: 0 }, restarts: 0, members: [],
      timeline: [1, 2, 3, 4].map(term => ({ at: Date.UTC(2026, 0, 1, 10, 0, term), active: term % 2 === 0 ? B : undefined, term, reason: `reason ${term}` }))
    }
    const lines = formatFailover([f]).split('\n')
    const from = lines.indexOf('holders (latest last):')
    expect(lines.slice(from + 1)).toEqual([
      '  10:00:02 12D3KooW…BBBBBB term 2: reason 2',
      '  10:00:03 none: reason 3',
      '  10:00:04 12D3KooW…BBBBBB term 4: reason 4'
    ])
  })
})
