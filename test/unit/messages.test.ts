import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { decodeCapabilities, decodeHeartbeat, HeartBeat, MAX_BYTES, sameSender } from '../../src/messages/codec.js'
import { parseTopic, stringifyTopic, type Topic } from '../../src/messages/topics.js'

async function peer () {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function heartbeat (over: Partial<HeartBeat> = {}): HeartBeat {
  return {
    peerId: new Uint8Array([1, 2, 3]), name: 'w-1', role: 'worker', version: '0.1.0', seq: 5n, timestampMs: 1n,
    intervalMs: 1000, misses: 3, load: 0, healthy: true, capabilities: ['compute'], addrs: [], ...over
  }
}

describe('topics', () => {
  const cases: Array<[Topic, string]> = [
    [{ kind: 'heartbeat', pv: 'p2p-network' }, 'p2p-network/heartbeat/1'],
    [{ kind: 'capabilities', pv: 'p2p-network' }, 'p2p-network/capabilities/1'],
    [{ kind: 'heartbeat', pv: 'net.v2' }, 'net.v2/heartbeat/1'],
    [{ kind: 'failover', pv: 'p2p-network', service: 'validator' }, 'p2p-network/failover/validator/1']
  ]
  it.each(cases)('round-trips %j', (topic, name) => {
    expect(stringifyTopic(topic)).toBe(name)
    expect(parseTopic(name)).toEqual(topic)
  })
  it.each(['', 'p2p-network/heartbeat/2', 'p2p-network/unknown/1', 'p2p-network/tasks/1', '/heartbeat/1', 'p2p-network/failover//1', 'a/b/c/d/e', 'p2p network/heartbeat/1'])('rejects %j', name => {
    expect(parseTopic(name)).toBeUndefined()
  })
  it('refuses to build names from bad parts', () => {
    expect(() => stringifyTopic({ kind: 'failover', pv: 'p', service: 'a/b' })).toThrow()
    expect(() => stringifyTopic({ kind: 'heartbeat', pv: '' })).toThrow()
  })
})

describe('message decoding', () => {
  it('decodes a valid heartbeat', () => {
    const d = decodeHeartbeat(HeartBeat.encode(heartbeat()))
    expect(d.ok && d.value.name).toBe('w-1')
  })
  it('rejects oversized input before decoding', () => {
    const d = decodeHeartbeat(new Uint8Array(MAX_BYTES.heartbeat + 1))
    expect(d).toMatchObject({ ok: false, reason: 'too_large' })
  })
  it('rejects garbage as a decode error, never throws', () => {
    expect(decodeHeartbeat(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).toMatchObject({ ok: false, reason: 'decode' })
    expect(decodeCapabilities(new Uint8Array([0x0a, 0x80]))).toMatchObject({ ok: false, reason: 'decode' })
  })
  it('carries the sender\'s addresses; one that is not a multiaddr, or more than 16, rejects the heartbeat', () => {
    const addr = multiaddr('/ip4/10.0.0.7/tcp/4001').bytes
    const d = decodeHeartbeat(HeartBeat.encode(heartbeat({ addrs: [addr] })))
    expect(d.ok && multiaddr(d.value.addrs[0]).toString()).toBe('/ip4/10.0.0.7/tcp/4001')
    expect(decodeHeartbeat(HeartBeat.encode(heartbeat({ addrs: [new Uint8Array([0xff, 0xff, 0x03])] })))).toMatchObject({ ok: false, reason: 'bad_field' })
    expect(decodeHeartbeat(HeartBeat.encode(heartbeat({ addrs: Array.from({ length: 17 }, () => addr) }))).ok).toBe(false)
  })
  it('rejects too many capabilities', () => {
    const d = decodeHeartbeat(HeartBeat.encode(heartbeat({ capabilities: Array.from({ length: 65 }, (_, i) => `c${i}`) })))
    expect(d.ok).toBe(false)
  })
  it.each([
    ['unknown role', { role: 'king' }],
    ['control characters', { name: 'evil\u001b[2J' }],
    ['long strings', { name: 'x'.repeat(300) }],
    ['zero interval', { intervalMs: 0 }]
  ])('rejects %s as bad_field', (_n, over) => {
    expect(decodeHeartbeat(HeartBeat.encode(heartbeat(over as Partial<HeartBeat>)))).toMatchObject({ ok: false, reason: 'bad_field' })
  })
  it('checks the claimed sender against the author', async () => {
    const a = await peer()
    const b = await peer()
    expect(sameSender(a.toMultihash().bytes, a)).toBe(true)
    expect(sameSender(a.toMultihash().bytes, b)).toBe(false)
    expect(sameSender(new Uint8Array([1, 2, 3]), a)).toBe(false)
  })
})

describe('stream protocols: one table, ids unchanged on the wire', () => {
  it('every stream is /<pv>/<kind>/1.0.0, the ids nodes already speak', async () => {
    const { streamProtocol, STREAM_LIMITS } = await import('../../src/messages/protocols.js')
    expect((['task', 'raw-echo', 'failover-state', 'links', 'dialback', 'members', 'kad'] as const).map(k => streamProtocol(k, 'pv')))
      .toEqual(['/pv/task/1.0.0', '/pv/raw-echo/1.0.0', '/pv/failover-state/1.0.0', '/pv/links/1.0.0', '/pv/dialback/1.0.0', '/pv/members/1.0.0', '/pv/kad/1.0.0'])
    expect(STREAM_LIMITS).toEqual({ taskFrameOverhead: 65_536, stateFrameOverhead: 1024, links: 65_536, dialback: 1024, members: 2_097_152 })
  })
})
