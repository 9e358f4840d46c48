import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { createMembership, type MembershipInit } from '../../src/membership/service.js'
import { HeartBeat } from '../../src/messages/membership.js'
import { membershipTopics } from '../../src/messages/topics.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import type { PeerId } from '@libp2p/interface'
import { silentLogger } from '../harness/fixtures.js'

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

// The membership shell's validators against a recording pubsub: what a forwarder may bring in.
async function harness (init: Partial<MembershipInit> = {}) {
  const self = await newPeer()
  const validators = new Map<string, (from: PeerId, msg: any) => TopicValidatorResult>()
  const listeners = new Set<(evt: any) => void>()
  const pubsub = {
    topicValidators: validators,
    subscribe: () => {},
    addEventListener: (_e: string, l: any) => { listeners.add(l) },
    removeEventListener: (_e: string, l: any) => { listeners.delete(l) },
    publish: async () => ({ recipients: [] })
  }
  const registry = new Registry()
  const metrics = createMetrics(registry)
  const membership = createMembership({ peerId: self, pubsub: pubsub as any, logger: silentLogger(), metrics }, {
    protocolVersion: 'pv', name: 'me', role: 'worker', version: '1', capabilities: [], intervalMs: 60_000, misses: 3, expiryMs: 60_000, ...init
  })
  membership.start()
  const topic = membershipTopics('pv').heartbeat
  let seq = 1n
  /** a heartbeat authored (and signed, as far as GossipSub is concerned) by `author`, forwarded by `forwarder` */
  const deliver = (forwarder: PeerId, author: PeerId): TopicValidatorResult => {
    const msg = {
      type: 'signed', from: author, topic, sequenceNumber: seq, signature: new Uint8Array(64),
      data: HeartBeat.encode({ peerId: author.toMultihash().bytes, name: 'm', role: 'worker', version: '1', seq: seq++, timestampMs: 0n, intervalMs: 1000, misses: 3, load: 0, healthy: true, capabilities: [], addrs: [] })
    }
    const result = validators.get(topic)!(forwarder, msg)
    if (result === TopicValidatorResult.Accept) for (const l of listeners) l({ detail: msg })
    return result
  }
  const invalid = async (reason: string): Promise<number> => (await registry.getSingleMetric('p2p_invalid_messages_total')!.get()).values.find(v => v.labels.reason === reason)?.value ?? 0
  return { membership, deliver, invalid, self }
}

describe('membership: what one forwarder may bring in', () => {
  it('with network.allowed_peers, a message authored by anyone else is refused, whoever forwards it', async () => {
    const friend = await newPeer()
    const outsider = await newPeer()
    const h = await harness({ allowedPeers: new Set([friend.toString()]) })
    expect(h.deliver(friend, outsider)).toBe(TopicValidatorResult.Reject)
    expect(h.deliver(friend, friend)).toBe(TopicValidatorResult.Accept)
    expect(h.membership.members().map(m => m.peerId)).toEqual([friend.toString()])
    expect(await h.invalid('not_allowed')).toBe(1)
  })

  it('new members per forwarding connection: a burst, then ignored (not punished); known members always pass', async () => {
    const forwarder = await newPeer()
    const h = await harness({ newMemberBurst: 3, newMemberRate: 0.001 })
    const authors = await Promise.all(Array.from({ length: 5 }, newPeer))
    const results = authors.map(a => h.deliver(forwarder, a))
    expect(results).toEqual([1, 1, 1, 2, 2].map(n => n === 1 ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore))
    expect(h.deliver(forwarder, authors[0])).toBe(TopicValidatorResult.Accept)
    // another connection has a bucket of its own
    expect(h.deliver(await newPeer(), authors[4])).toBe(TopicValidatorResult.Accept)
    expect(await h.invalid('new_member_rate')).toBe(2)
  })

  it('the table is bounded: a new member past the bound is ignored while every member is alive', async () => {
    const h = await harness({ maxMembers: 2 })
    const [a, b, c] = await Promise.all(Array.from({ length: 3 }, newPeer))
    expect([h.deliver(a, a), h.deliver(b, b), h.deliver(c, c)]).toEqual([TopicValidatorResult.Accept, TopicValidatorResult.Accept, TopicValidatorResult.Ignore])
    expect(h.membership.members()).toHaveLength(2)
    expect(await h.invalid('table_full')).toBe(1)
  })
})
