// Ghost members for test/e2e/hostile-members.test.ts: one throw-away process makes `count` peers (each
// its own key, so each signs its own messages and passes the sender checks), connects them to `targets`,
// publishes for each a heartbeat and a capability advert that claim the most a field can hold (interval and
// misses 2^32-1, max_concurrency and queue_capacity 2^32-1, every task type), then stops them all: members
// that look the best there is and can never be reached again.
// (`psk`: a swarm key file, to attack a private network as an insider)
// Usage: node ghost-members.mjs '<json: { targets, pv, count, types, dataDir }>'; prints a JSON summary.
import { multiaddr } from '@multiformats/multiaddr'
import { Registry } from 'prom-client'
import { parseConfig } from '../../dist/config/load.js'
import { CapabilityAdvertisement, HeartBeat } from '../../dist/messages/membership.js'
import { membershipTopics } from '../../dist/messages/topics.js'
import { loadOrCreateIdentity } from '../../dist/libp2p/identity.js'
import { buildLibp2p } from '../../dist/libp2p/libp2p.js'

const opts = JSON.parse(process.argv[2])
const MAX = 2 ** 32 - 1
const topics = membershipTopics(opts.pv)
const ghosts = []
for (let i = 0; i < opts.count; i++) {
  const dir = `${opts.dataDir}/ghost-${i}`
  const config = parseConfig(`node: { role: worker, name: ghost-${i}, listen_host: 127.0.0.1, listen_port: 0, data_dir: ${JSON.stringify(dir)} }\nnetwork: { protocol_version: ${opts.pv}, enable_mdns: false, enable_relay: false${opts.psk != null ? `, psk_file: ${JSON.stringify(opts.psk)}` : ''} }\n`, { file: `${dir}/ghost.yaml` })
  const { key } = await loadOrCreateIdentity(`${dir}/peer.key`)
  const libp2p = await buildLibp2p(config, key, new Registry())
  await libp2p.start()
  for (const t of Object.values(topics)) libp2p.services.pubsub.subscribe(t)
  for (const t of opts.targets) await libp2p.dial(multiaddr(t)).catch(() => {})
  ghosts.push(libp2p)
}
// publish once every target is a subscriber of both topics (a publish before that reaches nobody)
const until = Date.now() + 20_000
const ready = g => Object.values(topics).every(t => g.services.pubsub.getSubscribers(t).length >= opts.targets.length)
while (Date.now() < until && !ghosts.every(ready)) await new Promise(resolve => setTimeout(resolve, 100))
let published = 0
for (const [i, g] of ghosts.entries()) {
  const peerId = g.peerId.toMultihash().bytes
  const hb = HeartBeat.encode({ peerId, name: `ghost-${i}`, role: 'worker', version: '9.9.9', seq: BigInt(Date.now()) * 1000n, timestampMs: BigInt(Date.now()), intervalMs: MAX, misses: MAX, load: 0, healthy: true, capabilities: opts.capabilities ?? [], addrs: [] })
  const ad = CapabilityAdvertisement.encode({ peerId, name: `ghost-${i}`, role: 'worker', capabilities: opts.capabilities ?? [], taskTypes: opts.types, maxConcurrency: MAX, queueCapacity: MAX, timestampMs: BigInt(Date.now()) })
  try {
    await g.services.pubsub.publish(topics.heartbeat, hb)
    await g.services.pubsub.publish(topics.capabilities, ad)
    published++
  } catch {}
}
// long enough for GossipSub to pass them on, then gone for good
await new Promise(resolve => setTimeout(resolve, 1000))
const peerIds = ghosts.map(g => g.peerId.toString())
await Promise.all(ghosts.map(async g => { await g.stop().catch(() => {}) }))
process.stdout.write(JSON.stringify({ peerIds, published }) + '\n')
process.exit(0)
