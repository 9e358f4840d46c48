import { describe, expect, it } from 'vitest'
import pWaitFor from 'p-wait-for'
import { FailoverSupervisor, type Watchdog } from '../../src/failover/supervisor.js'
import type { FailoverServiceConfig } from '../../src/config/types.js'
import type { WatchdogEvent } from '../../src/failover/watchdog-client.js'
import type { OutgoingBeat } from '../../src/failover/service-state.js'
import { failoverService, freshMetrics, silentLogger } from '../harness/fixtures.js'

// The shell around the pure machine, with the wire and the watchdog replaced by recorders: what it asks of
// them, in what order, and that start and stop are idempotent. (The real processes: test/e2e/failover*.)

const SELF = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const service = (over: Partial<FailoverServiceConfig> = {}): FailoverServiceConfig => failoverService({
  name: 'solo', groupSize: 1, quorum: 1, intervalMs: 20, leaseMs: 100, marginMs: 20, preemptDelayMs: 100, stopTimeoutMs: 100,
  restart: { maxRestarts: 1, windowMs: 1000, delayMs: 10 }, ...over
})

function harness (over: Partial<FailoverServiceConfig> = {}) {
  const calls: string[] = []
  const phases: string[] = []
  const beats: OutgoingBeat[] = []
  const listeners = new Set<(e: WatchdogEvent) => void>()
  const emit = (e: WatchdogEvent): void => { for (const l of listeners) l(e) }
  let watchdogs = 0
  const watchdog = (): Watchdog => {
    watchdogs++
    return {
      ready: Promise.resolve(),
      on: l => { listeners.add(l); return () => { listeners.delete(l) } },
      start: async (_argv, leaseMs) => { calls.push(`start ${leaseMs > 0 ? 'lease' : 'none'}`); queueMicrotask(() => { emit({ event: 'started', pid: 1 }) }); return 1 },
      renew: () => { if (calls.at(-1) !== 'renew') calls.push('renew') },
      stop: async () => { calls.push('stop'); emit({ event: 'gone' }) },
      close: () => { calls.push('close') }
    }
  }
  const channel = {
    open: () => { calls.push('open') },
    close: () => { calls.push('close-topic') },
    publish: async (b: OutgoingBeat) => { beats.push(b) },
    push: async () => {}
  }
  const sup = new FailoverSupervisor({
    beats: { add: () => channel },
    logger: silentLogger(),
    metrics: freshMetrics(),
    watchdog,
    onPhase: change => { phases.push(change.phase) }
  }, { service: service(over), self: SELF, env: {} })
  return { sup, calls, beats, watchdogs: () => watchdogs, emit, phases }
}

describe('failover supervisor shell', () => {
  it('start twice subscribes once; a lone member becomes active, renews, and a stop releases before it leaves; stop twice is one stop', async () => {
    const h = harness()
    h.sup.start()
    h.sup.start()
    await pWaitFor(() => h.sup.status().running && h.sup.status().program === 'running', { timeout: 5000 })
    await pWaitFor(() => h.calls.includes('renew'), { timeout: 5000 })
    const [a, b] = [h.sup.stop(), h.sup.stop()]
    await Promise.all([a, b])
    expect(h.calls.filter(c => c === 'open')).toHaveLength(1)
    expect(h.watchdogs()).toBe(1)
    // the program is stopped before the group is told, and the topic is left and the watchdog closed once, last
    expect(h.calls.slice(h.calls.indexOf('stop'))).toEqual(['stop', 'close-topic', 'close'])
    expect(h.beats.at(-1)).toMatchObject({ state: 'released', running: false, healthy: false })
    expect(h.sup.status().phase).toBe('left')
    // the node's event stream hears every change of phase, once each
    expect(h.phases).toEqual(['candidate', 'starting', 'active', 'stopping', 'left'])
  })

  it('handoff resolves once the release is done; the member is then held down; a handoff where it is not active is refused', async () => {
    const h = harness()
    h.sup.start()
    await pWaitFor(() => h.sup.status().running, { timeout: 5000 })
    await expect(h.sup.handoff()).resolves.toMatch(/solo: released \(term 1\)/)
    expect(h.sup.status()).toMatchObject({ running: false, phase: 'held-down', health: { healthy: false } })
    await expect(h.sup.handoff()).rejects.toThrow(/not active on this member/)
    await h.sup.stop()
  })

  it('a program that exits is restarted in the same term; the restart counts', async () => {
    const h = harness()
    h.sup.start()
    await pWaitFor(() => h.sup.status().program === 'running', { timeout: 5000 })
    h.emit({ event: 'exited', code: 1, signal: null })
    h.emit({ event: 'gone' })
    await pWaitFor(() => h.calls.filter(c => c.startsWith('start')).length === 2 && h.sup.status().program === 'running', { timeout: 5000 })
    expect(h.sup.status()).toMatchObject({ term: 1, restarts: 1, running: true })
    await h.sup.stop()
  })

  it('stop before start does nothing, and a start after a stop does not start', async () => {
    const h = harness()
    await h.sup.stop()
    expect(h.calls).toEqual([])
    h.sup.start()
    expect(h.calls).toEqual([])
  })
})
