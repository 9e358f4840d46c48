import { readFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { pbStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HeartBeat } from '../../src/messages/codec.js'
import { MemberSnapshot } from '../../src/messages/membership.js'
import { membershipTopics } from '../../src/messages/topics.js'
import { streamProtocol } from '../../src/messages/protocols.js'
import { pubsub, type PubSub } from '../../src/libp2p/pubsub.js'
import { Cluster, dnsAddr, type TestNode } from '../harness/cluster.js'

// heartbeats a minute apart: a node that lists the others within seconds learned them from a snapshot
const HEARTBEAT = '60s'

const alive = async (n: TestNode): Promise<Set<string>> => new Set((await n.peers()).filter(p => p.state === 'alive').map(p => p.peerId))

describe('member snapshots on connect', () => {
  const cluster = new Cluster()
  let boot: TestNode
  const workers: TestNode[] = []

  beforeAll(async () => {
    boot = cluster.add({ name: 'snap-boot', role: 'bootstrap', mesh: false, heartbeat: HEARTBEAT })
    await boot.start()
    for (let i = 1; i <= 3; i++) {
      const w = cluster.add({ name: `snap-w${i}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: HEARTBEAT })
      await w.start()
      workers.push(w)
    }
  })
  afterAll(async () => { await cluster.teardown() })

  it('a new worker lists every member, with their task types, long before their next heartbeat', async () => {
    // the bootstrap hears every worker's first heartbeat (sent when they subscribe)
    await pWaitFor(async () => (await alive(boot)).size >= 3, { interval: 200, timeout: 30_000 })
    const joiner = cluster.add({ name: 'snap-joiner', role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: HEARTBEAT })
    await joiner.start()
    const want = [boot, ...workers].map(n => n.peerId)
    await pWaitFor(async () => { const a = await alive(joiner); return want.every(id => a.has(id)) }, { interval: 100, timeout: { milliseconds: 20_000, message: 'the joiner did not list every member' } })
    expect(await joiner.metric('p2p_member_snapshots_total{outcome="received"}')).toBeGreaterThanOrEqual(1)
    expect(await boot.metric('p2p_member_snapshots_total{outcome="answered"}')).toBeGreaterThanOrEqual(1)
    // the bootstrap's answer carried the three workers' heartbeats and adverts (debug log of the joiner)
    const applied = readFileSync(joiner.logFile, 'utf8').split('\n').filter(l => l.includes('member snapshot applied')).map(l => JSON.parse(l))
    expect(applied.some(l => l.peer === boot.peerId && l.applied >= 6 && l.rejected === 0)).toBe(true)
    // the capability adverts came too: the joiner can route compute tasks to the three workers
    const listed = (await joiner.peers()).filter(p => workers.some(w => w.peerId === p.peerId))
    expect(listed.map(p => p.name).sort()).toEqual(['snap-w1', 'snap-w2', 'snap-w3'])
    expect(listed.every(p => p.capabilities.includes('compute'))).toBe(true)
    expect(await joiner.metric('p2p_invalid_messages_total')).toBe(0)
  })

  describe('from a peer that forges', () => {
    let evil: Libp2p<{ pubsub: PubSub }>
    afterAll(async () => { await evil?.stop() })

    it('drops messages whose signature does not match, counts them, and keeps the genuine ones', async () => {
      const topics = membershipTopics('p2p-network')
      evil = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
        services: { identify: identify(), pubsub: pubsub('p2p-network') as any }
      }) as any
      // a genuine heartbeat of the bootstrap, as GossipSub delivered it (signed by the bootstrap)
      const genuine = new Promise<any>(resolve => {
        evil.services.pubsub.addEventListener('message', evt => { if (evt.detail.topic === topics.heartbeat && evt.detail.type === 'signed') resolve(evt.detail) })
      })
      evil.services.pubsub.subscribe(topics.heartbeat)
      await evil.dial(multiaddr(boot.addr))
      const hb = await genuine
      const seqno = new Uint8Array(8)
      new DataView(seqno.buffer).setBigUint64(0, hb.sequenceNumber, false)
      const decoded = HeartBeat.decode(hb.data)
      // 1. the bootstrap's heartbeat with its name changed, under the bootstrap's signature
      const altered = HeartBeat.encode({ ...decoded, name: 'altered', seq: decoded.seq + 1n })
      // 2. a member that does not exist, with a signature of the right length by nobody
      const ghostKey = await generateKeyPair('Ed25519')
      const ghost = peerIdFromPrivateKey(ghostKey)
      const ghostBeat = HeartBeat.encode({ ...decoded, peerId: ghost.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'ghost' })
      await evil.handle(streamProtocol('members', 'p2p-network'), async (stream) => {
        await pbStream(stream).pb(MemberSnapshot).write({
          messages: [
            { kind: MemberSnapshot.Kind.HEARTBEAT, from: hb.from.toMultihash().bytes, data: altered, seqno, signature: hb.signature, ageMs: 0 },
            { kind: MemberSnapshot.Kind.HEARTBEAT, from: ghost.toMultihash().bytes, data: ghostBeat, seqno, signature: new Uint8Array(64).fill(1), ageMs: 0 },
            { kind: MemberSnapshot.Kind.HEARTBEAT, from: hb.from.toMultihash().bytes, data: hb.data, seqno, signature: hb.signature, ageMs: 0 }
          ]
        })
        await stream.close()
      }, { runOnLimitedConnection: true })

      // a fresh worker whose only bootstrap is the forger: all it can learn of the network is the forger's snapshot
      const target = cluster.add({ name: 'snap-target', role: 'worker', bootstrap: [evil.getMultiaddrs()[0].toString()], heartbeat: HEARTBEAT })
      await target.start()
      await pWaitFor(async () => await target.metric('p2p_invalid_messages_total{reason="bad_signature"}') >= 2, { interval: 200, timeout: { milliseconds: 20_000, message: 'the forged messages were not counted' } })
      const peers = await target.peers()
      expect(peers.some(p => p.name === 'ghost' || p.peerId === ghost.toString())).toBe(false)
      // the genuine heartbeat, passed on unchanged, is taken: the bootstrap is listed under its own name
      expect(peers.find(p => p.peerId === boot.peerId)).toMatchObject({ name: 'snap-boot', state: 'alive' })
      expect(target.proc?.exitCode).toBeNull()
      expect((await target.request('status') as any).health.ready).toBe(true)
    })
  })
})
