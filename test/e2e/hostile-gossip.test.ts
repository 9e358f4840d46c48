import { noise } from '@libp2p/noise'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HeartBeat, MAX_BYTES } from '../../src/messages/codec.js'
import { membershipTopics } from '../../src/messages/topics.js'
import { pubsub, type PubSub } from '../../src/libp2p/pubsub.js'
import { Cluster, type TestNode } from '../harness/cluster.js'

function counter (metrics: string, reason: string): number {
  const m = new RegExp(`^p2p_invalid_messages_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics)
  return m == null ? 0 : Number(m[1])
}

// a peer speaking our protocols but publishing garbage, oversized, forged and replayed membership messages
describe('malformed and forged gossip', () => {
  const cluster = new Cluster()
  let target: TestNode
  let other: TestNode
  let evil: Libp2p<{ pubsub: PubSub }>
  const topics = membershipTopics('p2p-network')

  beforeAll(async () => {
    other = cluster.add({ name: 'honest', role: 'bootstrap', mesh: false })
    await other.start()
    target = cluster.add({ name: 'target', role: 'worker', bootstrap: [other.addr] })
    await target.start()
    await pWaitFor(async () => (await target.peers()).some(p => p.peerId === other.peerId && p.state === 'alive'), { interval: 200, timeout: 30_000 })
    evil = await createLibp2p({
      transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: pubsub('p2p-network') as any }
    }) as any
    evil.services.pubsub.subscribe(topics.heartbeat)
    evil.services.pubsub.subscribe(topics.capabilities)
    await evil.dial(multiaddr(target.addr))
    await pWaitFor(() => evil.services.pubsub.getSubscribers(topics.heartbeat).some(p => p.toString() === target.peerId), { interval: 100, timeout: 30_000 })
  })
  afterAll(async () => {
    await evil?.stop()
    await cluster.teardown()
  })

  const beat = (over: Partial<HeartBeat>): Uint8Array => HeartBeat.encode({
    peerId: evil.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'evil', role: 'worker', version: '1', seq: 10n,
    timestampMs: BigInt(Date.now()), intervalMs: 500, misses: 3, load: 0, healthy: true, capabilities: [], ...over
  })

  it('drops each bad message, counts it by reason, and keeps serving', async () => {
    const { pubsub: ps } = evil.services
    await ps.publish(topics.heartbeat, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]))
    await ps.publish(topics.heartbeat, new Uint8Array(MAX_BYTES.heartbeat + 100).fill(7))
    await ps.publish(topics.capabilities, new Uint8Array([0x0a, 0xff]))
    // claims to be the honest bootstrap: the author is evil, so the sender check rejects it
    await ps.publish(topics.heartbeat, beat({ peerId: (await import('@libp2p/peer-id')).peerIdFromString(other.peerId).toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'forged', seq: 1n << 60n }))
    await ps.publish(topics.heartbeat, beat({ role: 'emperor', seq: 11n }))
    // a valid heartbeat, then a replay of an older sequence number
    await ps.publish(topics.heartbeat, beat({ seq: 20n }))
    await ps.publish(topics.heartbeat, beat({ seq: 15n }))

    await pWaitFor(async () => {
      const m = await target.metrics()
      return ['decode', 'too_large', 'wrong_sender', 'bad_field', 'stale'].every(r => counter(m, r) > 0)
    }, { interval: 200, timeout: 30_000 })
    const m = await target.metrics()
    expect(counter(m, 'decode')).toBeGreaterThanOrEqual(2)

    const peers = await target.peers()
    expect(peers.find(p => p.peerId === other.peerId)?.name).toBe('honest')
    expect(peers.some(p => p.name === 'forged')).toBe(false)
    expect(peers.find(p => p.peerId === evil.peerId.toString())).toMatchObject({ name: 'evil', state: 'alive' })
    expect(target.proc?.exitCode).toBeNull()
    expect((await target.request('status') as any).health.ready).toBe(true)
  })

  it('keeps the connection to a peer that runs no ping service: its multiplexer answers the pings (only silence counts as dead)', async () => {
    // the hostile peer runs no ping service. A ping is a Yamux ping frame, answered by the peer's multiplexer,
    // so it is answered like any peer's; with ping streams every ping to it failed as unsupported, and the first
    // version of the pinger cut it off for that (docs/adr/0001-foundation.md). The target has two peers: six more
    // answered pings are three rounds or more, and a ping the hostile peer left unanswered would be a timeout
    const before = await target.metric('p2p_pings_total{via="muxer"}')
    await pWaitFor(async () => await target.metric('p2p_pings_total{via="muxer"}') >= before + 6, { interval: 250, timeout: 60_000 })
    expect(evil.getConnections().some(c => c.remotePeer.toString() === target.peerId && c.status === 'open')).toBe(true)
    expect(await target.metrics()).not.toMatch(/^p2p_ping_failures_total\{reason="(timeout|unsupported)"\}/m)
  })
})
