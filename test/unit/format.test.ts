import { describe, expect, it } from 'vitest'
import { formatEvent, formatFailover, formatPeers, formatResult, formatTopology, printable } from '../../src/cli/format.js'
import type { FailoverStatus } from '../../src/failover/service-state.js'

const A = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const C = '12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'

describe('REPL output', () => {
  it('peers: a draining member is listed and counted as draining, not as alive', () => {
    const out = formatPeers([
      { peerId: A, name: 'w1', role: 'worker', capabilities: [], addresses: [], connection: 'direct', state: 'alive' },
      { peerId: B, name: 'w2', role: 'worker', capabilities: [], addresses: [], connection: 'direct', state: 'alive', draining: true },
      { peerId: C, name: 'w3', role: 'worker', capabilities: [], addresses: [], connection: 'none', state: 'gone' }
    ])
    expect(out).toMatch(/w2\s+worker\s+draining/)
    expect(out.split('\n').at(-1)).toBe('3 peer(s), 1 alive, 1 draining')
  })

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

describe('network text on the terminal', () => {
  const hostile = 'ok\u001b[2J\u001b]0;owned\u0007 done\u009b31m'
  it('control characters are shown, not obeyed; newlines and tabs stay', () => {
    expect(printable(`a\tb\nc${hostile}`)).toBe('a\tb\ncok\\x1b[2J\\x1b]0;owned\\x07 done\\x9b31m')
  })
  it('a task\'s output and error, and a followed task\'s output, go through it', () => {
    const record = { id: 't1', type: 'echo', state: 'done', broadcast: false, attempts: 1, submittedAt: 0, results: [{ id: 't1', type: 'echo', ok: true, worker: '12D3KooWabcdefgh', workerName: 'w\u001b[31m', attempts: 1, durationMs: 1, reward: 0, output: hostile }] }
    const text = formatResult('task', record)
    expect(text).not.toMatch(/[\u001b\u0007\u009b]/)
    expect(text).toContain('ok\\x1b[2J')
    expect(formatEvent({ output: { worker: 'w', text: hostile, dropped: 0 } })).toBe('[w] ok\\x1b[2J\\x1b]0;owned\\x07 done\\x9b31m')
    // JSON stays JSON: a reader that parses it gets the text as sent
    expect(JSON.parse(formatResult('task', record, { json: true })).results[0].output).toBe(hostile)
  })
})

describe('a task\'s result on the terminal', () => {
  const base = { id: 't1', type: 'upper', state: 'done', broadcast: false, attempts: 1, submittedAt: 0 }
  it('every line of a multi-line output is indented', () => {
    const text = formatResult('task', { ...base, results: [{ id: 't1', type: 'upper', ok: true, worker: '12D3KooWabcdefghijklmnop', workerName: 'w1', attempts: 1, durationMs: 3, reward: 0, output: 'one\ntwo\nthree\n' }] })
    expect(text.split('\n').slice(2)).toEqual(['  one', '  two', '  three'])
  })
  it('a task no worker answered says so, or names the worker it was last sent to', () => {
    const none = formatResult('task', { ...base, state: 'failed', results: [{ id: 't1', type: 'upper', ok: false, attempts: 1, durationMs: 3, reward: 0, error: 'no capable worker left' }] })
    expect(none).toContain('FAILED  no worker answered  attempts 1')
    const timedOut = formatResult('task', { ...base, state: 'failed', results: [{ id: 't1', type: 'upper', ok: false, worker: '12D3KooWabcdefghijklmnop', workerName: 'w2', attempts: 4, durationMs: 3, reward: 0, error: 'no answer within 10ms' }] })
    expect(timedOut).toContain('FAILED  w2 (12D3KooW…klmnop)  attempts 4')
  })
})
