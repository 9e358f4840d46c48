#!/usr/bin/env node
// The heartbeat observer of bench/scale.mjs, run inside a network namespace of its own: a GossipSub peer
// connected to the bootstrap only, so members' heartbeats reach it through the network. It listens for
// --window seconds after a warm-up and prints one JSON line: publish-to-receive delays, and per sender how many
// heartbeats were seen and how many it sent between the first and the last seen (a sender's sequence numbers go
// up by one per heartbeat, so the gaps are losses).
//   node bench/scale-observer.mjs --connect <multiaddr> --window 60 [--warmup 10]
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { decodeHeartbeat } from '../dist/messages/codec.js'
import { membershipTopics } from '../dist/messages/topics.js'
import { pubsub } from '../dist/libp2p/pubsub.js'
import { cli, number } from './lib.mjs'

const opts = cli('bench/scale-observer.mjs', 'Heartbeat delays and losses seen by one gossip peer', p => p
  .requiredOption('--connect <multiaddr>', 'the bootstrap to connect to')
  .option('--window <seconds>', 'how long heartbeats are counted', number(1), 60)
  .option('--warmup <seconds>', 'how long to listen before counting', number(0), 10))
const observer = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify(), pubsub: pubsub('p2p-network') } })
const topic = membershipTopics('p2p-network').heartbeat
let counting = false
const delays = []
const senders = new Map()
observer.services.pubsub.subscribe(topic)
observer.services.pubsub.addEventListener('message', evt => {
  const now = Date.now()
  if (!counting || evt.detail.topic !== topic || evt.detail.type !== 'signed') return
  const d = decodeHeartbeat(evt.detail.data)
  if (!d.ok) return
  delays.push(now - Number(d.value.timestampMs))
  const from = evt.detail.from.toString()
  const seq = d.value.seq
  const s = senders.get(from) ?? { min: seq, max: seq, seen: 0 }
  if (seq < s.min) s.min = seq
  if (seq > s.max) s.max = seq
  s.seen++
  senders.set(from, s)
})
// a starving network (more nodes than the machine has CPU for) answers slowly: try a few times
for (let attempt = 1; ; attempt++) {
  try {
    await observer.dial(multiaddr(opts.connect), { signal: AbortSignal.timeout(30_000) })
    break
  } catch (err) {
    if (attempt === 5) {
      await observer.stop()
      process.stdout.write(JSON.stringify({ error: `could not connect to ${opts.connect}: ${err.message}` }) + '\n')
      process.exit(0)
    }
  }
}
await new Promise(resolve => setTimeout(resolve, opts.warmup * 1000))
counting = true
await new Promise(resolve => setTimeout(resolve, opts.window * 1000))
counting = false
await observer.stop()
// per sender: heartbeats seen, and how many it sent from the first to the last one seen
const out = Object.fromEntries([...senders].map(([id, s]) => [id, { seen: s.seen, sent: Number(s.max - s.min) + 1 }]))
process.stdout.write(JSON.stringify({ delays, senders: out }) + '\n')
