#!/usr/bin/env node
// A rolling upgrade as a StatefulSet does it: every worker stopped (SIGTERM) and started again with its own
// identity and data dir, one at a time, highest ordinal first, each back in the network (listed, taking tasks)
// and serving --min-ready seconds before the next goes — under a steady task load through the bootstrap's API
// and with a failover service running on the workers. Reports the tasks accepted and lost, the time the rollout
// took, and the service's moves and overlaps (from the supervised program's own stamp log: two holders at once
// is the worst bug this project can have).
//   npm run bench -- rolling [--workers 3] [--rate 20] [--min-ready 2]
// With --k8s it rolls the deployed net-test namespace instead: `kubectl rollout restart statefulset/p2p-worker`
// and `kubectl rollout status`, the load through `kubectl port-forward` to the bootstrap; the service's holders
// are sampled every 2 s with `p2p-node failover --json` in each worker pod (the program log is inside the pods).
// That path needs a cluster with the manifests applied (./deploy.sh); it has not run on the build machine.
import { execFile, execFileSync } from 'node:child_process'
import { join } from 'node:path'
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import { Cluster, dnsAddr, waitAllSeeAll } from '../build/test/harness/cluster.js'
import { handovers, intervals, overlaps, readStamps, stampingProgram, termRegressions } from '../build/test/harness/failover-log.js'
import { cli, k8sApi, number, report, round, summary } from './lib.mjs'

const opts = cli('bench/rolling.mjs', 'A rolling restart of every worker under load with a failover service: tasks lost, rollout time, service moves', p => p
  .option('--workers <n>', 'workers (local)', number(2), 3)
  .option('--rate <n>', 'echo tasks per second through the bootstrap', number(1), 20)
  .option('--min-ready <seconds>', 'how long a restarted worker serves before the next goes (minReadySeconds)', number(0), 2)
  .option('--k8s', 'roll the deployed net-test namespace (kubectl rollout restart statefulset/p2p-worker)'))
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const kubectl = (...args) => execFileSync('kubectl', ['-n', 'net-test', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

let api
let token
let roll
let failover = () => ({ measured: false })
let cleanup = async () => {}

if (opts.k8s === true) {
  const k = await k8sApi()
  api = k.url
  token = k.token
  cleanup = async () => { k.close() }
  // holders as each pod reports them, every 2 s
  const samples = []
  let sampling = true
  const pods = () => kubectl('get', 'pods', '-l', 'app.kubernetes.io/component=worker', '-o', 'jsonpath={.items[*].metadata.name}').split(' ').filter(Boolean)
  const sampler = (async () => {
    while (sampling) {
      const at = Date.now()
      const running = await Promise.all(pods().map(pod => new Promise(resolve => {
        execFile('kubectl', ['-n', 'net-test', 'exec', pod, '--', 'p2p-node', 'failover', '--json'], { encoding: 'utf8', timeout: 5000 }, (err, out) => {
          try { resolve(err == null && JSON.parse(out).some(s => s.running === true) ? pod : null) } catch { resolve(null) }
        })
      })))
      samples.push({ at, holders: running.filter(Boolean) })
      await sleep(Math.max(0, 2000 - (Date.now() - at)))
    }
  })()
  roll = async () => {
    kubectl('rollout', 'restart', 'statefulset/p2p-worker')
    execFileSync('kubectl', ['-n', 'net-test', 'rollout', 'status', 'statefulset/p2p-worker', '--timeout=30m'], { stdio: 'inherit' })
  }
  failover = async () => {
    sampling = false
    await sampler
    let moves = 0
    for (let i = 1; i < samples.length; i++) if (samples[i].holders.join() !== samples[i - 1].holders.join() && samples[i].holders.length > 0) moves++
    return { measured: 'sampled every 2 s with p2p-node failover in each pod', samples: samples.length, maxHoldersAtOnce: Math.max(0, ...samples.map(s => s.holders.length)), moves }
  }
} else {
  process.env.TEST_LOG_LEVEL = 'warn'
  const cluster = new Cluster()
  cleanup = async () => { await cluster.teardown() }
  const log = join(cluster.dir, 'prog.log')
  const boot = cluster.add({ name: 'roll-boot', role: 'bootstrap', mesh: false })
  await boot.start()
  const workers = Array.from({ length: opts.workers }, (_, i) => cluster.add({
    name: `roll-w${i}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)],
    extra: { failover: { services: [{ name: 'prog', priority: 100 * (opts.workers - i), group_size: opts.workers, open_group: true, heartbeat_interval: '100ms', lease: '1s', preempt_delay: '1s', env: { WHO: `roll-w${i}` }, command: stampingProgram(log) }] } }
  }))
  await Promise.all(workers.map(async n => { await n.start() }))
  await waitAllSeeAll([boot, ...workers])
  await pWaitFor(() => readStamps(log).some(s => s.who === 'roll-w0'), { interval: 100, timeout: 30_000 })
  api = boot.status.metricsUrl
  let started
  roll = async () => {
    started = Date.now()
    // highest ordinal first, as a StatefulSet rolls
    for (const node of [...workers].reverse()) {
      const t0 = performance.now()
      await node.stop()
      await node.start()
      await pWaitFor(async () => (await boot.peers()).find(p => p.peerId === node.peerId)?.state === 'alive', { interval: 100, timeout: 60_000 })
      // it takes tasks again before the next one goes
      await pWaitFor(async () => (await boot.request('capabilities')).taskTypes.echo === workers.length, { interval: 100, timeout: 60_000 })
      progress(`${node.spec.name} back in ${Math.round(performance.now() - t0)} ms`)
      await sleep(opts.minReady * 1000)
    }
    // the preferred member holds the service again at the end
    await pWaitFor(() => readStamps(log).filter(s => s.ms > Date.now() - 300).at(-1)?.who === 'roll-w0', { interval: 100, timeout: 60_000 })
  }
  failover = async () => {
    const list = intervals(readStamps(log))
    // moves during the rollout only: at start-up members may elect one another before the preferred one preempts
    const moves = handovers(list).filter(m => m.at >= started)
    return { measured: 'the supervised program\'s stamp log', overlaps: overlaps(list).length, termRegressions: termRegressions(list).length, moves: moves.length, handovers: moves.map(m => `${m.from}->${m.to} gap ${m.gapMs} ms`) }
  }
}

try {
  const outcomes = []
  let n = 0
  const submit = async () => {
    const t0 = performance.now()
    try {
      const res = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token != null ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ type: 'echo', payload: `roll ${n++}`, timeout: '5s', retries: 5 }) })
      const body = await res.json()
      return { outcome: res.status === 200 ? body.state ?? 'none' : `http ${res.status}: ${body.error ?? ''}`, ms: performance.now() - t0 }
    } catch (err) {
      return { outcome: `request failed: ${err.message}`, ms: performance.now() - t0 }
    }
  }
  const load = setInterval(() => { outcomes.push(submit()) }, 1000 / opts.rate)
  const t0 = performance.now()
  try {
    await roll()
  } finally {
    clearInterval(load)
  }
  const rolloutMs = performance.now() - t0
  const results = await Promise.all(outcomes)
  const lost = results.filter(r => r.outcome !== 'done')
  const errors = {}
  for (const r of lost) errors[r.outcome] = (errors[r.outcome] ?? 0) + 1
  const latency = summary(results.map(r => r.ms))
  const f = await failover()
  report('rolling', {
    mode: opts.k8s === true ? 'k8s' : 'local', machine: { cpus: os.cpus().length, node: process.version },
    workers: opts.k8s === true ? null : opts.workers, rate: opts.rate, rolloutMs, tasks: { accepted: results.length, done: results.length - lost.length, lost: lost.length, errors }, latencyMs: latency, failover: f
  }, [
    ['rollout', round(rolloutMs / 1000), 's', opts.k8s === true ? 'kubectl rollout restart -> rollout status done' : `${opts.workers} workers, one at a time, ${opts.minReady} s min-ready each`],
    ['tasks', results.length - lost.length, 'done', `${lost.length} lost of ${results.length} at ${opts.rate}/s; p50 ${round(latency.p50)} ms, p99 ${round(latency.p99)} ms, max ${round(latency.max)} ms`],
    ['failover', f.overlaps ?? f.maxHoldersAtOnce, f.overlaps != null ? 'overlaps' : 'max holders at once', `${f.moves} moves${f.handovers != null ? `: ${f.handovers.join(', ')}` : ''} (${f.measured})`]
  ])
} finally {
  await cleanup()
}
