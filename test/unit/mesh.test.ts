import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMeshDialer } from '../../src/discovery/mesh.js'
import { silentLogger, freshMetrics } from '../harness/fixtures.js'

const SELF = peerIdFromString('12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK')
const RELAY = '12D3KooWSdpExbW1Cd3Z4DCsJTVfCXxiv9gM1hsNuM9Gsn61aNyZ'
const PEER = peerIdFromString('12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp')
const CIRCUIT = `/ip4/10.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER.toString()}`

/** the part of libp2p the mesh dialer uses: one member, connected through a relay; every dial is recorded */
function fakeLibp2p (addresses: string[]) {
  const dials: string[][] = []
  return {
    dials,
    peerId: SELF,
    getConnections: () => [{ remotePeer: PEER, status: 'open', remoteAddr: multiaddr(CIRCUIT), limits: { bytes: 1n } }],
    peerStore: { get: async () => ({ addresses: addresses.map(a => ({ multiaddr: multiaddr(a) })) }) },
    peerRouting: { findPeer: async () => { throw new Error('not used') } },
    dial: async (target: unknown) => {
      dials.push(Array.isArray(target) ? target.map(String) : [String(target)])
      throw new Error('no route to host')
    },
    addEventListener: () => {},
    removeEventListener: () => {}
  }
}

function membershipOf (peer: string, addresses: string[] = []) {
  const member = { peerId: peer, state: { phase: 'alive' }, addresses }
  return { members: () => [member], get: (id: string) => id === peer ? member : undefined, onChange: () => () => {} }
}

describe('mesh dialer, a member whose heartbeats announce its addresses', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('puts them in the peer store and dials them: no DHT lookup', async () => {
    const merged: string[] = []
    const dialled: string[] = []
    const libp2p = {
      peerId: SELF,
      getConnections: () => [],
      peerStore: {
        get: async () => ({ protocols: [], addresses: merged.map(a => ({ multiaddr: multiaddr(a) })) }),
        merge: async (_id: unknown, data: { multiaddrs: unknown[] }) => { merged.push(...data.multiaddrs.map(String)) }
      },
      peerRouting: { findPeer: async () => { throw new Error('not expected: the heartbeat gave the addresses') } },
      dial: async (peer: unknown) => { dialled.push(String(peer)); return {} },
      addEventListener: () => {},
      removeEventListener: () => {}
    }
    const metrics = freshMetrics()
    const mesh = createMeshDialer({ libp2p: libp2p as any, membership: membershipOf(PEER.toString(), ['/ip4/10.0.0.9/tcp/4001']) as any, logger: silentLogger(), metrics }, {
      meshNetwork: true, dialTimeoutMs: 1000, maxConnections: 100, retryMs: 1000
    })
    mesh.start()
    await vi.advanceTimersByTimeAsync(1000)
    mesh.stop()
    expect(merged).toEqual(['/ip4/10.0.0.9/tcp/4001'])
    expect(dialled).toEqual([PEER.toString()])
    expect(await metrics.registry.getSingleMetricAsString('p2p_mesh_dials_total')).toMatch(/source="heartbeat",outcome="ok"} 1/)
  })
})

describe('mesh dialer, a member reached only through a relay', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('tries its direct addresses only (never a second circuit), backing off while they fail', async () => {
    const libp2p = fakeLibp2p([CIRCUIT, '/ip4/192.168.1.5/tcp/4001'])
    const mesh = createMeshDialer({ libp2p: libp2p as any, membership: membershipOf(PEER.toString()) as any, logger: silentLogger(), metrics: freshMetrics() }, {
      meshNetwork: true, dialTimeoutMs: 1000, maxConnections: 100, retryMs: 1000
    })
    mesh.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(libp2p.dials).toEqual([[`/ip4/192.168.1.5/tcp/4001/p2p/${PEER.toString()}`]])
    // failures double the pause: over a minute, a handful of tries, not one a second
    await vi.advanceTimersByTimeAsync(60_000)
    expect(libp2p.dials.length).toBeGreaterThan(2)
    expect(libp2p.dials.length).toBeLessThan(10)
    expect(libp2p.dials.flat().some(a => a.includes('/p2p-circuit'))).toBe(false)
    mesh.stop()
  })

  it('dials nothing when the member has no direct address (the relayed connection is all there is)', async () => {
    const libp2p = fakeLibp2p([CIRCUIT])
    const mesh = createMeshDialer({ libp2p: libp2p as any, membership: membershipOf(PEER.toString()) as any, logger: silentLogger(), metrics: freshMetrics() }, {
      meshNetwork: true, dialTimeoutMs: 1000, maxConnections: 100, retryMs: 1000
    })
    mesh.start()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(libp2p.dials).toEqual([])
    mesh.stop()
  })
})

describe('mesh dialer, a member behind a NAT whose addresses are not known yet', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('asks the relays it is connected to for a circuit once the direct path has had a head start, past libp2p\'s dial queue', async () => {
    const RELAY_ID = peerIdFromString(RELAY)
    const circuits: string[] = []
    const libp2p = {
      peerId: SELF,
      getConnections: () => [{ remotePeer: RELAY_ID, status: 'open', remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/4001'), limits: undefined }],
      peerStore: { get: async (id: any) => id.equals(RELAY_ID) ? { protocols: ['/libp2p/circuit/relay/0.2.0/hop'], addresses: [] } : { protocols: [], addresses: [] } },
      // the DHT lookup hangs until its timeout, as it does for a member whose only known address is out of reach
      peerRouting: { findPeer: async (_p: unknown, o: { signal: AbortSignal }) => await new Promise((_resolve, reject) => { o.signal.addEventListener('abort', () => reject(o.signal.reason)) }) },
      dial: async () => { throw new Error('not expected: the dial queue would join the pending dial') },
      components: { transportManager: { dial: async (ma: unknown) => { circuits.push(String(ma)); return {} } } },
      addEventListener: () => {},
      removeEventListener: () => {}
    }
    const mesh = createMeshDialer({ libp2p: libp2p as any, membership: membershipOf(PEER.toString()) as any, logger: silentLogger(), metrics: freshMetrics() }, {
      meshNetwork: true, dialTimeoutMs: 10_000, maxConnections: 100, retryMs: 1000, relayClient: true
    })
    mesh.start()
    // first try at 1 s; this node's peer id is the higher of the two, so it gives the member 4 s to ask first
    expect(SELF.toString() > PEER.toString()).toBe(true)
    await vi.advanceTimersByTimeAsync(1000 + 3900)
    expect(circuits).toEqual([])
    await vi.advanceTimersByTimeAsync(200)
    expect(circuits).toEqual([`/ip4/10.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER.toString()}`])
    mesh.stop()
  })
})

describe('mesh dialer, a relayed member that becomes reachable directly', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('closes the relayed connection once the direct one is up (the relay carries nothing between them)', async () => {
    const closed: string[] = []
    const conns: any[] = [{ remotePeer: PEER, status: 'open', remoteAddr: multiaddr(CIRCUIT), limits: { bytes: 1n }, close: async () => { closed.push('circuit') } }]
    const libp2p = {
      peerId: SELF,
      getConnections: () => conns,
      peerStore: { get: async () => ({ protocols: [], addresses: [CIRCUIT, '/ip4/192.168.1.5/tcp/4001'].map(a => ({ multiaddr: multiaddr(a) })) }) },
      peerRouting: { findPeer: async () => { throw new Error('not used') } },
      dial: async () => {
        const direct = { remotePeer: PEER, status: 'open', remoteAddr: multiaddr('/ip4/192.168.1.5/tcp/4001'), close: async () => { closed.push('direct') } }
        conns.push(direct)
        return direct
      },
      addEventListener: () => {},
      removeEventListener: () => {}
    }
    const mesh = createMeshDialer({ libp2p: libp2p as any, membership: membershipOf(PEER.toString()) as any, logger: silentLogger(), metrics: freshMetrics() }, {
      meshNetwork: true, dialTimeoutMs: 1000, maxConnections: 100, retryMs: 1000, relayClient: true
    })
    mesh.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(closed).toEqual(['circuit'])
    mesh.stop()
  })
})
