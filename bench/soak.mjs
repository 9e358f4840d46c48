#!/usr/bin/env node
// A soak: the local network's shape (bootstrap, relay, 3 workers with the relay client on, a failover service
// over the workers) under steady load through the bootstrap's HTTP API, as an operator runs it, with churn: a
// worker restarted every --restart-every seconds (round robin) and a planned handoff every --handoff-every.
// Samples every node's RSS, heap, CPU, open file descriptors and connections, and prints per node where memory
// started, peaked and ended, its growth over the second half (a plateau is ~0), the task outcomes and the p99 of
// the first and last fifth, how the tasks spread, and the failover log's overlaps (must be none).
//   npm run bench -- soak [--duration 600] [--rate 100] [--compute-rate 1] [--sample-every 10]
//                         [--restart-every 120] [--handoff-every 300] [--heap-snapshot-at 300]
// With --heap-snapshot-at, every node writes a heap snapshot then and again at the end; the report lists what
// grew between the two (for a node restarted in between, nothing: it is another process).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { handovers, intervals, overlaps, readStamps, stampingProgram } from '../build/test/harness/failover-log.js'
import { heapGrowth, heapSnapshot } from './heap.mjs'
import { cli, number, proc, report, round, summary } from './lib.mjs'

const opts = cli('bench/soak.mjs', 'Steady load for minutes; memory, CPU and task spread per node', p => p
  .option('--duration <seconds>', 'how long the load runs', number(10), 600)
  .option('--rate <n>', 'echo tasks per second, submitted through the bootstrap\'s HTTP API', number(0), 100)
  .option('--compute-rate <n>', 'compute tasks per second, through the same worker', number(0), 1)
  .option('--sample-every <seconds>', 'how often memory and CPU are read', number(1), 10)
  .option('--restart-every <seconds>', 'restart one worker (SIGTERM, start again) this often, round robin; 0: never', number(0), 120)
  .option('--handoff-every <seconds>', 'hand the failover service off this often; 0: never', number(0), 300)
  .option('--heap-snapshot-at <seconds>', 'heap snapshots of every node then and at the end, compared; 0: none', number(0), 0))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
process.env.TEST_LOG_LEVEL = 'warn'
const cluster = new Cluster()
const heapDir = join(cluster.dir, 'heap')
if (opts.heapSnapshotAt > 0) {
  mkdirSync(heapDir)
  process.env.NODE_OPTIONS = `--max-semi-space-size=4 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}`
}
try {
  const boot = cluster.add({ name: 'soak-boot', role: 'bootstrap', mesh: false, heartbeat: '1s' })
  await boot.start()
  const relay = cluster.add({ name: 'soak-relay', role: 'relay', bootstrap: [dnsAddr(boot)], heartbeat: '1s' })
  const log = join(cluster.dir, 'failover.log')
  const workers = [1, 2, 3].map(i => cluster.add({
    name: `soak-w${i}`, role: 'worker', capabilities: ['compute'], relay: true, bootstrap: [dnsAddr(boot)], heartbeat: '1s',
    extra: { failover: { services: [{ name: 'prog', priority: 400 - 100 * i, group_size: 3, open_group: true, env: { WHO: `soak-w${i}` }, command: stampingProgram(log) }] } }
  }))
  await Promise.all([relay, ...workers].map(async n => { await n.start() }))
  // tasks go through the bootstrap, which is never restarted
  const api = (await boot.request('status')).metricsUrl
  await pWaitFor(async () => (await boot.request('capabilities')).taskTypes.compute === 3, { interval: 200, timeout: 60_000 })
  // the launcher execs Node, so the spawned process is the node itself
  const nodes = cluster.nodes.map(n => ({ name: n.spec.name, node: n, samples: [], restarts: 0 }))

  const sample = async t => {
    for (const n of nodes) {
      try {
        const heap = await n.node.metric('nodejs_heap_size_used_bytes')
        const { connectedPeers } = await n.node.request('status')
        n.samples.push({ t, ...proc(n.node.proc.pid), heapMiB: heap / 1024 ** 2, connections: connectedPeers, restarts: n.restarts })
      } catch {} // restarting right now
    }
  }
  const churn = { restarts: [], handoffs: [] }
  let nextRestart = opts.restartEvery > 0 ? opts.restartEvery : Infinity
  let nextHandoff = opts.handoffEvery > 0 ? opts.handoffEvery : Infinity
  let rolled = workers.length
  const snapshots = new Map() // node name -> { pid, file } of the first snapshot
  const snapshotAll = async () => {
    for (const n of nodes) {
      const pid = n.node.proc.pid
      const t0 = performance.now()
      snapshots.set(n.name, { pid, file: await heapSnapshot(pid, heapDir) })
      progress(`heap snapshot of ${n.name} in ${Math.round(performance.now() - t0)} ms`)
    }
  }
  let nextSnapshot = opts.heapSnapshotAt > 0 ? opts.heapSnapshotAt : Infinity
  let busy = Promise.resolve()
  const restartOne = async () => {
    const w = workers[--rolled % workers.length]
    if (rolled === 0) rolled = workers.length
    const t0 = performance.now()
    await w.stop()
    await w.start()
    await pWaitFor(async () => (await boot.request('capabilities')).taskTypes.compute === 3, { interval: 100, timeout: 60_000 })
    nodes.find(n => n.node === w).restarts++
    churn.restarts.push({ worker: w.spec.name, backInMs: Math.round(performance.now() - t0) })
    progress(`restarted ${w.spec.name}: back in ${Math.round(performance.now() - t0)} ms`)
  }
  const handoff = async () => {
    for (const w of workers) {
      const f = (await w.request('failover').catch(() => []))[0]
      if (f?.running !== true) continue
      const res = await fetch(`${(await w.request('status')).metricsUrl}/api/failover/prog/handoff`, { method: 'POST', headers: { 'content-type': 'application/json' } })
      churn.handoffs.push({ from: w.spec.name, status: res.status })
      progress(`handoff from ${w.spec.name}: HTTP ${res.status}`)
      return
    }
  }

  const outcomes = { ok: 0, failed: 0, errors: {} }
  const byWorker = {}
  const latency = []
  const submit = async (type, payload) => {
    const t0 = performance.now()
    try {
      const res = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, payload, timeout: '10s' }) })
      const body = await res.json()
      if (res.status === 200 && body.state === 'done') {
        outcomes.ok++
        latency.push({ at: performance.now(), ms: performance.now() - t0 })
        const w = body.results[0].workerName
        byWorker[w] = (byWorker[w] ?? 0) + 1
      } else { outcomes.failed++; outcomes.errors[body.error ?? body.state] = (outcomes.errors[body.error ?? body.state] ?? 0) + 1 }
    } catch (err) { outcomes.failed++; outcomes.errors[err.message] = (outcomes.errors[err.message] ?? 0) + 1 }
  }

  progress(`network up; ${opts.rate} echo/s + ${opts.computeRate} compute/s for ${opts.duration}s`)
  const start = performance.now()
  await sample(0)
  let nextSample = opts.sampleEvery
  const pending = new Set()
  const fire = p => { pending.add(p); void p.finally(() => pending.delete(p)) }
  let echo = 0
  let compute = 0
  for (;;) {
    const t = (performance.now() - start) / 1000
    if (t >= opts.duration) break
    while (echo < t * opts.rate) { fire(submit('echo', `soak ${echo}`)); echo++ }
    while (compute < t * opts.computeRate) { fire(submit('compute', '2000')); compute++ }
    if (t >= nextRestart) { nextRestart += opts.restartEvery; busy = busy.then(restartOne) }
    if (t >= nextHandoff) { nextHandoff += opts.handoffEvery; busy = busy.then(handoff) }
    if (t >= nextSnapshot) { nextSnapshot = Infinity; busy = busy.then(snapshotAll) }
    if (t >= nextSample) {
      await sample(Math.round(t))
      nextSample += opts.sampleEvery
      const w1 = nodes[2].samples.at(-1)
      progress(`${Math.round(t)}s: ${outcomes.ok} ok, ${outcomes.failed} failed, ${pending.size} in flight; ${nodes[2].name} RSS ${round(w1.rssMiB)} MiB, heap ${round(w1.heapMiB)} MiB`)
    }
    await sleep(5)
  }
  await busy
  await Promise.all([...pending])
  await sample(Math.round((performance.now() - start) / 1000))

  const rows = []
  const heap = {}
  for (const n of nodes) {
    const first = snapshots.get(n.name)
    if (first == null || first.pid !== n.node.proc.pid) continue
    const g = heapGrowth(first.file, await heapSnapshot(first.pid, heapDir))
    heap[n.name] = { beforeMiB: round(g.beforeMiB), afterMiB: round(g.afterMiB), grew: g.grew.map(k => ({ ...k, kiB: round(k.bytes / 1024) })) }
    rows.push([`${n.name} heap`, `${round(g.beforeMiB)} → ${round(g.afterMiB)}`, 'MiB', `snapshots at ${opts.heapSnapshotAt} s and the end; grew most: ${g.grew.slice(0, 4).map(k => `${k.kind} ${round(k.bytes / 1024)} KiB (${k.count >= 0 ? '+' : ''}${k.count})`).join(', ')}`])
  }
  const perNode = {}
  for (const n of nodes) {
    // a restarted node's figures are those since its last restart
    const s = n.samples.filter(x => x.restarts === n.restarts)
    if (s.length < 2) continue
    const half = s.filter(x => x.t >= s.at(-1).t / 2)
    // least-squares slope of RSS over the second half, in MiB per minute
    const slope = xs => {
      const mt = xs.reduce((a, x) => a + x.t, 0) / xs.length
      const mr = xs.reduce((a, x) => a + x.rssMiB, 0) / xs.length
      const num = xs.reduce((a, x) => a + (x.t - mt) * (x.rssMiB - mr), 0)
      const den = xs.reduce((a, x) => a + (x.t - mt) ** 2, 0)
      return den > 0 ? (num / den) * 60 : 0
    }
    const cpu = (s.at(-1).cpuS - s[0].cpuS) / Math.max(1, s.at(-1).t - s[0].t) * 100
    perNode[n.name] = {
      rssMiB: { start: round(s[0].rssMiB), peak: round(Math.max(...s.map(x => x.rssMiB))), end: round(s.at(-1).rssMiB) },
      heapMiB: { start: round(s[0].heapMiB), end: round(s.at(-1).heapMiB) },
      rssSlopeSecondHalfMiBPerMin: round(slope(half), 2),
      cpuPercent: round(cpu),
      fds: { start: s[0].fds, end: s.at(-1).fds },
      connections: { start: s[0].connections, end: s.at(-1).connections },
      restarts: n.restarts,
      sinceSeconds: s[0].t
    }
    const p = perNode[n.name]
    rows.push([`${n.name} RSS`, `${p.rssMiB.start} → ${p.rssMiB.peak} → ${p.rssMiB.end}`, 'MiB', `${n.restarts > 0 ? `since its restart at ${p.sinceSeconds} s; ` : ''}second half ${p.rssSlopeSecondHalfMiBPerMin} MiB/min; heap ${p.heapMiB.start} → ${p.heapMiB.end} MiB; CPU ${p.cpuPercent}%; fds ${p.fds.start} → ${p.fds.end}; connections ${p.connections.start} → ${p.connections.end}`])
  }
  const lat = summary(latency.map(l => l.ms))
  const fifth = (performance.now() - start) / 5
  const first = summary(latency.filter(l => l.at - start < fifth).map(l => l.ms))
  const last = summary(latency.filter(l => l.at - start >= 4 * fifth).map(l => l.ms))
  rows.push(['tasks', outcomes.ok, 'ok', `${outcomes.failed} failed; p50 ${round(lat.p50, 1)} ms, p99 ${round(lat.p99, 1)} ms (HTTP, wait); p99 first fifth ${round(first.p99, 1)} ms, last fifth ${round(last.p99, 1)} ms`])
  const list = intervals(readStamps(log))
  const failover = { overlaps: overlaps(list).length, handovers: handovers(list).map(h => `${h.from}->${h.to} ${h.gapMs} ms`) }
  rows.push(['failover', failover.overlaps, 'overlaps', `${churn.restarts.length} restarts, ${churn.handoffs.length} handoffs; ${failover.handovers.length} handovers`])
  const total = Object.values(byWorker).reduce((a, b) => a + b, 0)
  rows.push(['spread', Object.entries(byWorker).sort().map(([w, n]) => `${w} ${round(100 * n / total)}%`).join(', '), '', 'share of the tasks each worker ran'])
  report('soak', {
    machine: { cpus: os.cpus().length, node: process.version },
    duration: opts.duration, rate: opts.rate, computeRate: opts.computeRate, outcomes, latencyMs: lat, p99FirstFifthMs: first.p99, p99LastFifthMs: last.p99, byWorker, perNode, heap, churn, failover,
    samples: Object.fromEntries(nodes.map(n => [n.name, n.samples.map(x => ({ t: x.t, rssMiB: round(x.rssMiB), heapMiB: round(x.heapMiB) }))]))
  }, rows)
} finally {
  await cluster.teardown()
}
