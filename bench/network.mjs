#!/usr/bin/env node
// Foundation benchmarks on one loopback network of real p2p-node processes (1 bootstrap, 1 relay, N workers):
//  - join time: a new worker joining until it lists every worker (several trials, a new identity each)
//  - heartbeat propagation: publish-to-receive delay of the workers' heartbeats at a gossip observer
//  - idle RSS per node process, per role
// Usage: node bench/network.mjs [--workers 10] [--trials 5] [--window 20]
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import pWaitFor from 'p-wait-for'
import { decodeHeartbeat } from '../dist/messages/codec.js'
import { membershipTopics } from '../dist/messages/topics.js'
import { pubsub } from '../dist/libp2p/pubsub.js'
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { cli, number, proc, report, round, summary } from './lib.mjs'
import os from 'node:os'

const opts = cli('bench/network.mjs', 'Join time, heartbeat propagation and idle RSS on a loopback network of real nodes', p => p
  .option('--workers <n>', 'worker processes', number(1), 10)
  .option('--trials <n>', 'join trials', number(1), 5)
  .option('--window <seconds>', 'how long heartbeats are observed', number(1), 20)
  .option('--skip-join', 'skip the join-time trials'))
const WORKERS = opts.workers
const TRIALS = opts.trials
const SKIP_JOIN = opts.skipJoin === true
const WINDOW_S = opts.window
const HEARTBEAT = '1s'

const rssMiB = pid => proc(pid).rssMiB
const anonMiB = pid => proc(pid).anonMiB

const cluster = new Cluster()
process.env.TEST_LOG_LEVEL = 'info'
try {
  const boot = cluster.add({ name: 'bench-bootstrap', role: 'bootstrap', mesh: false, heartbeat: HEARTBEAT })
  await boot.start()
  const relay = cluster.add({ name: 'bench-relay', role: 'relay', bootstrap: [dnsAddr(boot)], heartbeat: HEARTBEAT })
  await relay.start()
  const workers = []
  for (let i = 0; i < WORKERS; i++) {
    const w = cluster.add({ name: `bench-w${i}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: HEARTBEAT })
    await w.start()
    workers.push(w)
  }
  const ids = new Set(workers.map(w => w.peerId))
  const listsAll = async (node, need) => {
    const alive = new Set((await node.peers()).filter(p => p.state === 'alive').map(p => p.peerId))
    return [...need].every(id => alive.has(id))
  }
  const settleStart = Date.now()
  await pWaitFor(async () => (await Promise.all(workers.map(w => listsAll(w, new Set([...ids].filter(id => id !== w.peerId)))))).every(Boolean), { interval: 250, timeout: 120_000 })
  const settleMs = Date.now() - settleStart

  // join time
  const join = { toReady: [], readyToListAll: [], toListAll: [] }
  for (let t = 0; t < (SKIP_JOIN ? 0 : TRIALS); t++) {
    const n = cluster.add({ name: `bench-join${t}`, role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: HEARTBEAT })
    const t0 = performance.now()
    await n.start()
    const tReady = performance.now()
    await pWaitFor(() => listsAll(n, ids), { interval: 20, timeout: 60_000 })
    const tAll = performance.now()
    join.toReady.push(tReady - t0)
    join.readyToListAll.push(tAll - tReady)
    join.toListAll.push(tAll - t0)
    await n.stop()
  }

  // heartbeat propagation: an observer that is connected only to the bootstrap, so messages cross the mesh
  const observer = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify(), pubsub: pubsub('p2p-network') } })
  const topic = membershipTopics('p2p-network').heartbeat
  const delays = []
  const seen = new Set()
  const seqRange = new Map()
  observer.services.pubsub.subscribe(topic)
  observer.services.pubsub.addEventListener('message', evt => {
    const now = Date.now()
    if (evt.detail.topic !== topic || !ids.has(evt.detail.from?.toString())) return
    const d = decodeHeartbeat(evt.detail.data)
    if (!d.ok) return
    delays.push(now - Number(d.value.timestampMs))
    const from = evt.detail.from.toString()
    seen.add(`${from}/${d.value.seq}`)
    const r = seqRange.get(from) ?? { min: d.value.seq, max: d.value.seq }
    if (d.value.seq < r.min) r.min = d.value.seq
    if (d.value.seq > r.max) r.max = d.value.seq
    seqRange.set(from, r)
  })
  await observer.dial(multiaddr(boot.addr))
  await pWaitFor(() => delays.length > 0, { interval: 50, timeout: 30_000 })
  await new Promise(r => setTimeout(r, 3000))
  delays.length = 0
  seen.clear()
  seqRange.clear()
  await new Promise(r => setTimeout(r, WINDOW_S * 1000))
  await observer.stop()
  // each worker's sequence numbers go up by one per heartbeat: gaps between the lowest and highest seen are losses
  const expected = [...seqRange.values()].reduce((sum, r) => sum + Number(r.max - r.min) + 1, 0)
  const delivery = seen.size / Math.max(1, expected)

  // idle RSS after the network has been up a while
  const rss = {
    bootstrap: rssMiB(boot.proc.pid),
    relay: rssMiB(relay.proc.pid),
    worker: summary(workers.map(w => rssMiB(w.proc.pid)))
  }
  // the process's own part of it (RssAnon): the rest is file-backed, mostly the node binary, shared across processes
  const anon = {
    bootstrap: anonMiB(boot.proc.pid),
    relay: anonMiB(relay.proc.pid),
    worker: summary(workers.map(w => anonMiB(w.proc.pid)))
  }

  const hb = summary(delays)
  report('network', {
    machine: { cpus: os.cpus().length, node: process.version, workers: WORKERS, heartbeat: HEARTBEAT },
    settleMs,
    joinMs: { toReady: summary(join.toReady), readyToListAll: summary(join.readyToListAll), toListAll: summary(join.toListAll) },
    heartbeatDelayMs: hb,
    heartbeatDelivery: round(delivery, 3),
    idleRssMiB: rss,
    idleAnonMiB: anon
  }, [
    ['network settle (all list all)', round(settleMs), 'ms', `${WORKERS} workers + bootstrap + relay`],
    ['join: spawn -> ready p50', round(summary(join.toReady).p50), 'ms', `${TRIALS} trials`],
    ['join: ready -> lists all p50', round(summary(join.readyToListAll).p50), 'ms', `max ${round(summary(join.readyToListAll).max)} ms (member snapshot from the first peers)`],
    ['join: spawn -> lists all p50', round(summary(join.toListAll).p50), 'ms', `max ${round(summary(join.toListAll).max)} ms`],
    ['heartbeat delay p50', round(hb.p50), 'ms', `${hb.n} heartbeats over ${WINDOW_S}s`],
    ['heartbeat delay p99', round(hb.p99), 'ms', `max ${round(hb.max)} ms`],
    ['heartbeat delivery', round(delivery * 100), '%', 'observer connected to the bootstrap only'],
    ['idle RSS bootstrap', round(rss.bootstrap), 'MiB', ''],
    ['idle RSS relay', round(rss.relay), 'MiB', ''],
    ['idle RSS worker p50', round(rss.worker.p50), 'MiB', `max ${round(rss.worker.max)} MiB`],
    ['idle anonymous memory bootstrap / relay', `${round(anon.bootstrap)} / ${round(anon.relay)}`, 'MiB', 'RssAnon: the process\'s own; the rest of RSS is file-backed (the node binary), shared'],
    ['idle anonymous memory worker p50', round(anon.worker.p50), 'MiB', `max ${round(anon.worker.max)} MiB`]
  ])
} finally {
  await cluster.teardown()
}
