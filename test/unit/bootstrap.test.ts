import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createBootstrapper } from '../../src/discovery/bootstrap.js'
import { silentLogger, freshMetrics } from '../harness/fixtures.js'

const BOOT = peerIdFromString('12D3KooWSdpExbW1Cd3Z4DCsJTVfCXxiv9gM1hsNuM9Gsn61aNyZ')
const OTHER = peerIdFromString('12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp')
const SELF = peerIdFromString('12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK')

/** just the part of libp2p the bootstrapper uses: dials succeed while `up`, connections as the test sets them */
function fakeLibp2p () {
  const listeners = new Map<string, Array<(evt: any) => void>>()
  const state = { up: true, dials: 0, connections: [] as Array<{ remotePeer: typeof BOOT }> }
  return {
    state,
    peerId: SELF,
    getConnections: () => state.connections,
    dial: async () => {
      state.dials++
      if (!state.up) throw new Error('connection refused')
      if (!state.connections.some(c => c.remotePeer.equals(BOOT))) state.connections.push({ remotePeer: BOOT })
      return { remotePeer: BOOT }
    },
    addEventListener: (name: string, fn: (evt: any) => void) => { listeners.set(name, [...(listeners.get(name) ?? []), fn]) },
    removeEventListener: (name: string, fn: (evt: any) => void) => { listeners.set(name, (listeners.get(name) ?? []).filter(f => f !== fn)) },
    /** the bootstrap peer goes away while the node keeps other connections */
    dropBootstrap () {
      state.connections = state.connections.filter(c => !c.remotePeer.equals(BOOT))
      for (const fn of listeners.get('peer:disconnect') ?? []) fn(new CustomEvent('peer:disconnect', { detail: BOOT }))
    }
  }
}

describe('bootstrapper', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('re-dials a bootstrap peer that went away within seconds, with backoff, though other peers stay connected', async () => {
    const libp2p = fakeLibp2p()
    libp2p.state.connections.push({ remotePeer: OTHER })
    const b = createBootstrapper({ libp2p: libp2p as any, logger: silentLogger(), metrics: freshMetrics() }, {
      addresses: ['/ip4/127.0.0.1/tcp/4001'], dialTimeoutMs: 1000, maxBackoffMs: 30_000, refreshMs: 60_000
    })
    b.start()
    await vi.advanceTimersByTimeAsync(10)
    expect(libp2p.state.dials).toBe(1)

    // the bootstrap restarts: down for a while, then back
    libp2p.state.up = false
    libp2p.dropBootstrap()
    await vi.advanceTimersByTimeAsync(1000)
    expect(libp2p.state.dials).toBe(2)
    // still down: the next tries back off (1-2 s, then 2-4 s), they do not hammer it
    await vi.advanceTimersByTimeAsync(2000)
    expect(libp2p.state.dials).toBe(3)
    libp2p.state.up = true
    await vi.advanceTimersByTimeAsync(4000)
    expect(libp2p.state.dials).toBe(4)
    expect(libp2p.state.connections.some(c => c.remotePeer.equals(BOOT))).toBe(true)
    // attached again: back to the slow refresh
    await vi.advanceTimersByTimeAsync(30_000)
    expect(libp2p.state.dials).toBe(4)
    b.stop()
  })
})
