// A hostile peer for test/e2e/hostile-peer.test.ts: a real libp2p node built like ours (same
// transports and protocol names, no membership, no validators of its own) that, for `seconds`:
//  - floods the heartbeat, capabilities and failover topics with random bytes and oversized messages,
//  - forges heartbeats and failover beats in the name of honest members (claimed sender != author),
//  - claims the failover service itself (ACTIVE, a huge term) with beats signed by its own key,
//  - sends oversized and malformed frames on task streams,
//  - opens task and state streams and never reads from them, and a burst of task streams at one victim.
// (its config names the failover service only so that its own GossipSub lets it publish on that topic)
// Usage: node hostile-peer.mjs '<json: { targets, pv, service, victims, seconds, dataDir }>'; prints a JSON summary.
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Registry } from 'prom-client'
import { parseConfig } from '../../dist/config/load.js'
import { FailoverBeat } from '../../dist/messages/failover.js'
import { HeartBeat } from '../../dist/messages/membership.js'
import { membershipTopics, stringifyTopic } from '../../dist/messages/topics.js'
import { streamProtocol } from '../../dist/messages/protocols.js'
import { loadOrCreateIdentity } from '../../dist/libp2p/identity.js'
import { buildLibp2p } from '../../dist/libp2p/libp2p.js'

const opts = JSON.parse(process.argv[2])
const config = parseConfig(`node: { role: worker, name: hostile, listen_host: 127.0.0.1, listen_port: 0, data_dir: ${JSON.stringify(opts.dataDir)} }\nnetwork: { protocol_version: ${opts.pv}, enable_mdns: false, enable_relay: false }\nfailover: { services: [{ name: ${opts.service}, command: 'true', priority: 0, group_size: 3, open_group: true }] }\n`, { file: `${opts.dataDir}/hostile.yaml` })
const { key } = await loadOrCreateIdentity(`${opts.dataDir}/peer.key`)
const libp2p = await buildLibp2p(config, key, new Registry())
await libp2p.start()
const pubsub = libp2p.services.pubsub
const topics = { ...membershipTopics(opts.pv), failover: stringifyTopic({ kind: 'failover', pv: opts.pv, service: opts.service }) }
for (const t of Object.values(topics)) pubsub.subscribe(t)
for (const t of opts.targets) await libp2p.dial(multiaddr(t)).catch(() => {})

const sent = { junk: 0, oversized: 0, forgedHeartbeats: 0, forgedBeats: 0, claimedBeats: 0, badFrames: 0, idleStreams: 0, burstStreams: 0, refusedStreams: 0, publishErrors: 0 }
const victims = opts.victims.map(id => peerIdFromString(id))
const publish = async (topic, data, counter) => {
  try { await pubsub.publish(topic, data); sent[counter]++ } catch { sent.publishErrors++ }
}
const big = BigInt(Number.MAX_SAFE_INTEGER)
const until = Date.now() + opts.seconds * 1000
let round = 0
const held = []
while (Date.now() < until) {
  round++
  // the pubsub attacks, in a different order each round: GossipSub scoring graylists this peer after a few
  // refused messages and forgives it about a second later, so each kind gets its turn at the validators
  const victim = victims[round % victims.length]
  const beat = (member, state) => FailoverBeat.encode({ service: opts.service, member, priority: 1_000_000, seq: BigInt(Date.now()) * 1000n + BigInt(round), term: big, state, healthy: true, eligible: true, voteCandidate: member, voteTerm: big, acks: [], running: true })
  const attacks = [
    // 1. junk and oversized messages on every topic
    async () => { for (const t of Object.values(topics)) await publish(t, randomBytes(16 + (round % 200)), 'junk') },
    async () => { if (round % 10 === 0) await publish(topics.capabilities, randomBytes(200_000), 'oversized') },
    // 2. forged authorship: a valid heartbeat / failover beat naming an honest member, signed by us
    async () => { await publish(topics.heartbeat, HeartBeat.encode({ peerId: victim.toMultihash().bytes, name: 'forged', role: 'worker', version: '0', seq: BigInt(round), intervalMs: 1000, misses: 3, load: 0, capabilities: [], timestampMs: BigInt(Date.now()), healthy: true }), 'forgedHeartbeats') },
    async () => { await publish(topics.failover, beat(victim.toMultihash().bytes, FailoverBeat.State.RELEASED), 'forgedBeats') },
    // 3. claiming the service for ourselves: ACTIVE in the highest term there is, top priority
    async () => { await publish(topics.failover, beat(libp2p.peerId.toMultihash().bytes, FailoverBeat.State.ACTIVE), 'claimedBeats') }
  ]
  for (let i = 0; i < attacks.length; i++) await attacks[(i + round) % attacks.length]()
  // 4. task streams: an oversized length prefix, then garbage protobuf in a well-formed frame
  if (round % 5 === 0) {
    const v = victims[(round / 5) % victims.length]
    try {
      const s = await libp2p.dialProtocol(v, streamProtocol('task', opts.pv), { signal: AbortSignal.timeout(2000) })
      s.send(round % 10 === 0 ? new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]) : new Uint8Array([5, 0xff, 0xff, 0xff, 0xff, 0xff]))
      sent.badFrames++
    } catch { sent.refusedStreams++ }
  }
  // 6. a burst of task streams at one victim, back to back: past the per-peer stream-open limit (a burst of 16,
  // then 2 a second) whatever the speed of the rounds on a loaded machine
  if (round === 1) {
    for (let i = 0; i < 40; i++) {
      try {
        const s = await libp2p.dialProtocol(victims[0], streamProtocol('task', opts.pv), { signal: AbortSignal.timeout(2000) })
        s.abort(new Error('burst'))
        sent.burstStreams++
      } catch { sent.refusedStreams++ }
    }
  }
  // 5. streams opened and never read or written (held until the end)
  if (round % 3 === 0 && held.length < 200) {
    const v = victims[round % victims.length]
    const proto = round % 2 === 0 ? streamProtocol('task', opts.pv) : streamProtocol('failover-state', opts.pv)
    try { held.push(await libp2p.dialProtocol(v, proto, { signal: AbortSignal.timeout(2000) })); sent.idleStreams++ } catch { sent.refusedStreams++ }
  }
  if (round % 20 === 0) await new Promise(resolve => setTimeout(resolve, 1))
}
process.stdout.write(JSON.stringify({ peerId: libp2p.peerId.toString(), rounds: round, ...sent }) + '\n')
await libp2p.stop().catch(() => {})
process.exit(0)
