#!/usr/bin/env node
// Load + faults, bounded in time and count, with a progress line and a final report.
//   local (default): a loopback network (bootstrap + N workers); workers are SIGKILLed and restarted
//   --k8s: the deployed net-test namespace, through `kubectl port-forward` to the bootstrap's HTTP API;
//          worker pods are deleted (the StatefulSet brings them back)
// Options: --duration 60 --rate 200 --workers 3 --kill-every 15 --max-tasks 100000 --k8s
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { join } from 'node:path'
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { handovers, intervals, overlaps, readStamps, stampingProgram, termRegressions } from '../build/test/harness/failover-log.js'
import { cli, k8sApi, number, report, round, summary } from './lib.mjs'

const opts = cli('stress-test.sh', 'Load and faults, bounded in time and count, then a report', p => p
  .option('--duration <seconds>', 'how long the load runs', number(1), 60)
  .option('--rate <n>', 'tasks per second offered', number(1), 200)
  .option('--workers <n>', 'worker processes (local mode)', number(1), 3)
  .option('--kill-every <seconds>', 'SIGKILL (or delete) a worker this often (0: never)', number(0), 15)
  .option('--max-tasks <n>', 'stop after this many tasks', number(1), 100_000)
  .option('--k8s', 'against the deployed net-test namespace (kubectl port-forward), deleting worker pods'))
const K8S = opts.k8s === true
const DURATION = opts.duration
const RATE = opts.rate
const WORKERS = opts.workers
const KILL_EVERY = opts.killEvery
const MAX_TASKS = opts.maxTasks
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const tty = process.stderr.isTTY === true

let apiUrl
let fault
/** bearer token for POST /api/tasks: P2P_API_TOKEN, or (with --k8s) the cluster's Secret */
let token = process.env.P2P_API_TOKEN
let cleanup = async () => {}
/** local mode: the supervised program's stamp log, for failover times and overlaps */
let failoverLog

if (K8S) {
  const api = await k8sApi()
  apiUrl = api.url
  token ??= api.token
  const pods = execFileSync('kubectl', ['-n', 'net-test', 'get', 'pods', '-l', 'app.kubernetes.io/component=worker', '-o', 'jsonpath={.items[*].metadata.name}'], { encoding: 'utf8' }).split(' ').filter(Boolean)
  fault = async i => {
    const pod = pods[i % pods.length]
    execFileSync('kubectl', ['-n', 'net-test', 'delete', 'pod', pod, '--grace-period=0', '--force', '--wait=false'], { stdio: 'ignore' })
    return `deleted pod ${pod}`
  }
  cleanup = async () => { api.close() }
} else {
  process.env.TEST_LOG_LEVEL = 'warn'
  const cluster = new Cluster()
  const boot = cluster.add({ name: 'st-boot', role: 'bootstrap', mesh: false, heartbeat: '1s' })
  await boot.start()
  failoverLog = join(cluster.dir, 'failover.log')
  const workers = Array.from({ length: WORKERS }, (_, i) => cluster.add({
    name: `st-w${i}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: '1s',
    extra: { failover: { services: [{ name: 'stress', command: stampingProgram(failoverLog), priority: 100 - i, group_size: WORKERS, open_group: true, preempt_delay: '3s', env: { WHO: `st-w${i}` } }] } }
  }))
  await Promise.all(workers.map(async w => { await w.start() }))
  apiUrl = (await boot.request('status')).metricsUrl
  for (let i = 0; i < 100; i++) { if ((await boot.request('capabilities')).taskTypes.echo === WORKERS) break; await sleep(200) }
  fault = async i => {
    const w = workers[i % workers.length]
    w.kill('SIGKILL')
    await w.exit
    setTimeout(() => { void w.start().catch(() => {}) }, 3000)
    return `SIGKILL ${w.spec.name} (back in 3 s)`
  }
  cleanup = async () => { await cluster.teardown() }
}

const lat = []
const outcomes = { ok: 0, failed: 0, rejected: 0, error: 0 }
let sent = 0
let inflight = 0
let retried = 0
const events = []
const submit = async i => {
  const body = i % 4 === 0 ? { type: 'compute', payload: `stress-${i}`, cost: 2000, timeout: '10s', retries: 5 } : { type: 'echo', payload: `stress-${i}`, timeout: '10s', retries: 5 }
  const t0 = performance.now()
  inflight++
  try {
    const r = await fetch(`${apiUrl}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token != null ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) })
    const j = await r.json()
    if (r.status === 422) outcomes.rejected++
    else if (j.state === 'done' && (body.type !== 'echo' || j.results[0].output === body.payload)) { outcomes.ok++; lat.push(performance.now() - t0) } else outcomes.failed++
    if (j.attempts > 1) retried++
  } catch { outcomes.error++ } finally { inflight-- }
}

const start = performance.now()
const end = start + DURATION * 1000
let nextFault = start + KILL_EVERY * 1000
let faults = 0
const pending = []
let lastDraw = 0
while (performance.now() < end && sent < MAX_TASKS) {
  const now = performance.now()
  const due = Math.floor(((now - start) / 1000) * RATE)
  while (sent < due && sent < MAX_TASKS) pending.push(submit(sent++))
  if (KILL_EVERY > 0 && now >= nextFault) {
    nextFault += KILL_EVERY * 1000
    events.push(`${round((now - start) / 1000)}s ${await fault(faults++)}`)
  }
  if (now - lastDraw > 500) {
    lastDraw = now
    const line = `${round((now - start) / 1000)}/${DURATION}s sent ${sent} ok ${outcomes.ok} failed ${outcomes.failed} in flight ${inflight} faults ${faults}`
    process.stderr.write(tty ? `\r${line}   ` : `${line}\n`)
  }
  await sleep(5)
}
await Promise.all(pending)
if (tty) process.stderr.write('\n')
const elapsed = (performance.now() - start) / 1000
const l = summary(lat)
let fo = { measured: false, note: K8S ? 'not measured with --k8s (the program log is inside the pods)' : '' }
if (failoverLog != null) {
  const list = intervals(readStamps(failoverLog))
  const gaps = handovers(list).map(h => h.gapMs)
  fo = { measured: true, holders: list.length, handovers: gaps.length, gapMs: summary(gaps), overlaps: overlaps(list).length, termRegressions: termRegressions(list).length }
}
report('stress', {
  mode: K8S ? 'k8s' : 'local', machine: { cpus: os.cpus().length, node: process.version }, duration: round(elapsed), rate: RATE,
  sent, outcomes, retried, lost: outcomes.failed + outcomes.error, latencyMs: l, faults: events,
  failover: fo
}, [
  ['tasks sent', sent, '', `${RATE}/s for ${DURATION}s`],
  ['throughput (ok)', round(outcomes.ok / elapsed), '/s', ''],
  ['latency p50 / p99', `${round(l.p50, 1)} / ${round(l.p99, 1)}`, 'ms', `max ${round(l.max, 1)} ms`],
  ['lost (failed or no answer)', outcomes.failed + outcomes.error, '', `rejected ${outcomes.rejected}`],
  ['retried', retried, '', 'tasks needing more than one attempt'],
  ['faults', faults, '', events.join('; ')],
  fo.measured
    ? ['failover handovers', fo.handovers, '', `gap p50 ${round(fo.gapMs.p50)} ms, max ${round(fo.gapMs.max)} ms (kills of the active, preemption back)`]
    : ['failover', '-', '', fo.note],
  fo.measured ? ['failover overlaps', fo.overlaps, '', `term regressions ${fo.termRegressions}; must both be 0`] : ['', '', '', '']
].filter(r => r[0] !== ''))
await cleanup()
process.exit(outcomes.failed + outcomes.error > 0 || (fo.measured && (fo.overlaps > 0 || fo.termRegressions > 0)) ? 1 : 0)
