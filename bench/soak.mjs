#!/usr/bin/env node
// A soak: the local network's shape (bootstrap, relay, 3 workers with the relay client on) under steady load
// through one worker's HTTP API, as an operator runs it. Samples every node's RSS, heap and CPU, and prints
// per node where memory started, peaked and ended, its growth over the second half (a plateau is ~0), and how
// the tasks spread over the workers.
//   npm run bench -- soak [--duration 600] [--rate 100] [--compute-rate 1] [--sample-every 10]
import { readFileSync } from 'node:fs'
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import { Cluster, dnsAddr } from '../dist/testing/cluster.js'
import { cli, number, report, round, summary } from './lib.mjs'

const opts = cli('bench/soak.mjs', 'Steady load for minutes; memory, CPU and task spread per node', p => p
  .option('--duration <seconds>', 'how long the load runs', number(10), 600)
  .option('--rate <n>', 'echo tasks per second, submitted through worker 1', number(0), 100)
  .option('--compute-rate <n>', 'compute tasks per second, through the same worker', number(0), 1)
  .option('--sample-every <seconds>', 'how often memory and CPU are read', number(1), 10))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const TICKS = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

function proc (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { rssMiB: Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024, cpuS: (Number(stat[11]) + Number(stat[12])) / TICKS }
}

process.env.TEST_LOG_LEVEL = 'warn'
const cluster = new Cluster()
try {
  const boot = cluster.add({ name: 'soak-boot', role: 'bootstrap', mesh: false, heartbeat: '1s' })
  await boot.start()
  const relay = cluster.add({ name: 'soak-relay', role: 'relay', bootstrap: [dnsAddr(boot)], heartbeat: '1s' })
  const workers = [1, 2, 3].map(i => cluster.add({ name: `soak-w${i}`, role: 'worker', capabilities: ['compute'], relay: true, bootstrap: [dnsAddr(boot)], heartbeat: '1s' }))
  await Promise.all([relay, ...workers].map(async n => { await n.start() }))
  const api = (await workers[0].request('status')).metricsUrl
  await pWaitFor(async () => (await workers[0].request('capabilities')).taskTypes.compute === 3, { interval: 200, timeout: 60_000 })
  // the launcher execs Node, so the spawned process is the node itself
  const nodes = cluster.nodes.map(n => ({ name: n.spec.name, pid: n.proc.pid, node: n, samples: [] }))

  const sample = async t => {
    for (const n of nodes) {
      const heap = await n.node.metric('nodejs_heap_size_used_bytes').catch(() => NaN)
      n.samples.push({ t, ...proc(n.pid), heapMiB: heap / 1024 ** 2 })
    }
  }

  const outcomes = { ok: 0, failed: 0 }
  const byWorker = {}
  const latency = []
  const submit = async (type, payload) => {
    const t0 = performance.now()
    try {
      const res = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, payload, timeout: '10s' }) })
      const body = await res.json()
      if (res.status === 200 && body.state === 'done') {
        outcomes.ok++
        latency.push(performance.now() - t0)
        const w = body.results[0].workerName
        byWorker[w] = (byWorker[w] ?? 0) + 1
      } else outcomes.failed++
    } catch { outcomes.failed++ }
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
    if (t >= nextSample) {
      await sample(Math.round(t))
      nextSample += opts.sampleEvery
      const w1 = nodes[2].samples.at(-1)
      progress(`${Math.round(t)}s: ${outcomes.ok} ok, ${outcomes.failed} failed, ${pending.size} in flight; ${nodes[2].name} RSS ${round(w1.rssMiB)} MiB, heap ${round(w1.heapMiB)} MiB`)
    }
    await sleep(5)
  }
  await Promise.all([...pending])
  await sample(Math.round((performance.now() - start) / 1000))

  const rows = []
  const perNode = {}
  for (const n of nodes) {
    const s = n.samples
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
      cpuPercent: round(cpu)
    }
    const p = perNode[n.name]
    rows.push([`${n.name} RSS`, `${p.rssMiB.start} → ${p.rssMiB.peak} → ${p.rssMiB.end}`, 'MiB', `start → peak → end; second half ${p.rssSlopeSecondHalfMiBPerMin} MiB/min; heap ${p.heapMiB.start} → ${p.heapMiB.end} MiB; CPU ${p.cpuPercent}%`])
  }
  const lat = summary(latency)
  rows.push(['tasks', outcomes.ok, 'ok', `${outcomes.failed} failed; p50 ${round(lat.p50, 1)} ms, p99 ${round(lat.p99, 1)} ms (HTTP, wait)`])
  const total = Object.values(byWorker).reduce((a, b) => a + b, 0)
  rows.push(['spread', Object.entries(byWorker).sort().map(([w, n]) => `${w} ${round(100 * n / total)}%`).join(', '), '', 'share of the tasks each worker ran'])
  report('soak', {
    machine: { cpus: os.cpus().length, node: process.version },
    duration: opts.duration, rate: opts.rate, computeRate: opts.computeRate, outcomes, latencyMs: lat, byWorker, perNode,
    samples: Object.fromEntries(nodes.map(n => [n.name, n.samples.map(x => ({ t: x.t, rssMiB: round(x.rssMiB), heapMiB: round(x.heapMiB) }))]))
  }, rows)
} finally {
  await cluster.teardown()
}
