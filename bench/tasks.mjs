#!/usr/bin/env node
// Task throughput and latency: 1 submitter + 3 worker processes on loopback, `echo` tasks, next to a bare
// libp2p echo protocol between the same processes with the same payload and concurrency.
//  - open loop at fixed offered loads (tasks/s), and closed loop at saturation (C tasks in flight)
//  - baseline: raw echo over one long-lived stream per worker; and a new stream per request, for comparison
//  - a JavaScript module handler (the same echo, on the worker-thread pool) at saturation, next to the built-in echo
//  - cancel latency: a running command handler cancelled, request -> its process gone (and -> the answer)
// Usage: node bench/tasks.mjs [--seconds 5] [--rates 500,1000,2000] [--concurrency 32] [--payload 64] [--psk]
//   --psk: every node in a private network (network.psk_file), to measure what the swarm key costs
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { encode } from 'it-length-prefixed'
import os from 'node:os'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import pWaitFor from 'p-wait-for'
import { parseConfig } from '../dist/config/load.js'
import { createLogger } from '../dist/util/logger.js'
import { P2PNode } from '../dist/p2p-node.js'
import { streamProtocol } from '../dist/messages/protocols.js'
import { execFileSync } from 'node:child_process'
import { Cluster, dnsAddr, LAUNCHER } from '../build/test/harness/cluster.js'
import { cli, number, proc, report, round, summary } from './lib.mjs'

const opts = cli('bench/tasks.mjs', 'Task throughput and latency next to a bare libp2p echo, and how tasks spread over the workers', p => p
  .option('--seconds <n>', 'length of each measured phase', number(1), 5)
  .option('--rates <list>', 'offered loads in tasks/s, comma-separated ("none": only saturation)', v => v.split(',').filter(r => r !== 'none').map(r => number(1)(r)), [500, 1000, 2000])
  .option('--concurrency <n>', 'tasks in flight at saturation', number(1), 32)
  .option('--payload <bytes>', 'payload size', number(0), 64)
  .option('--spread <n>', 'concurrent tasks submitted through one worker to see how they spread (0: skip)', number(0), 1000)
  .option('--cancels <n>', 'running tasks to cancel for the cancel latency (0: skip)', number(0), 30)
  .option('--psk', 'every node in a private network (network.psk_file), to measure what the swarm key costs'))
const SECONDS = opts.seconds
const RATES = opts.rates
const CONCURRENCY = opts.concurrency
const PAYLOAD = new Uint8Array(opts.payload).fill(97)
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
/** a call that has not answered in 10 s counts as failed, so a stuck request cannot stall the run */
const bounded = call => async () => await Promise.race([call(), sleep(10_000).then(() => false)])

/** open loop: `rate` requests per second for `seconds`, whatever the answers do */
async function openLoop (call, rate, seconds) {
  const lat = []
  let failed = 0
  const total = Math.round(rate * seconds)
  const start = performance.now()
  const pending = []
  for (let sent = 0; sent < total;) {
    const due = start + (sent / rate) * 1000
    const now = performance.now()
    if (due > now + 1) { await sleep(due - now); continue }
    const t0 = performance.now()
    pending.push(call().then(ok => { if (ok) lat.push(performance.now() - t0); else failed++ }, () => { failed++ }))
    sent++
  }
  await Promise.all(pending)
  const elapsed = (performance.now() - start) / 1000
  return { offered: rate, achieved: lat.length / elapsed, done: lat.length, failed, lat: summary(lat) }
}

/** closed loop: `concurrency` callers, each sending the next request when the last is answered */
async function closedLoop (call, concurrency, seconds) {
  const lat = []
  let failed = 0
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      try { if (await call()) lat.push(performance.now() - t0); else failed++ } catch { failed++ }
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  return { offered: `saturation (${concurrency} in flight)`, achieved: lat.length / elapsed, done: lat.length, failed, lat: summary(lat) }
}

/** raw echo client: one long-lived stream per worker, answers in order per stream */
async function rawClient (libp2p, peers, protocol) {
  const streams = await Promise.all(peers.map(async peer => {
    const stream = await libp2p.dialProtocol(peer, protocol)
    const fifo = []
    const decoder = new LengthPrefixedDecoder()
    stream.addEventListener('message', evt => { for (const _ of decoder.decode(evt.data)) fifo.shift()?.(true) })
    return { stream, fifo }
  }))
  let next = 0
  return {
    call: async () => {
      const s = streams[next++ % streams.length]
      const answered = new Promise(resolve => s.fifo.push(resolve))
      if (!s.stream.send(encode.single(PAYLOAD))) await s.stream.onDrain()
      return await answered
    },
    close: () => { for (const s of streams) s.stream.abort(new Error('done')) }
  }
}

/** a new stream for every request: what one stream per task would cost */
function perStreamCall (libp2p, peers, protocol) {
  let next = 0
  return async () => {
    const stream = await libp2p.dialProtocol(peers[next++ % peers.length], protocol)
    const decoder = new LengthPrefixedDecoder()
    const answered = new Promise(resolve => stream.addEventListener('message', evt => { for (const _ of decoder.decode(evt.data)) resolve(true) }))
    stream.send(encode.single(PAYLOAD))
    await answered
    // what is measured is opening and negotiating a stream per request; reset it rather than wait for a close
    stream.abort(new Error('done'))
    return true
  }
}

const cluster = new Cluster()
process.env.TEST_LOG_LEVEL = 'warn'
const PSK = opts.psk === true
let pskFile
if (PSK) {
  execFileSync(LAUNCHER, ['keygen', '--out', `${cluster.dir}/keys`], { stdio: 'ignore' })
  pskFile = `${cluster.dir}/keys/swarm.key`
}
const withPsk = node => { if (pskFile != null) node.updateConfig(c => { c.network.psk_file = pskFile }); return node }
let submitterNode
try {
  const boot = withPsk(cluster.add({ name: 'tb-boot', role: 'bootstrap', mesh: false, heartbeat: '1s' }))
  await boot.start()
  // a module handler doing what the built-in echo does, and a command handler that runs until it is cancelled
  const dir = cluster.dir
  writeFileSync(`${dir}/echo.mjs`, 'export async function run (payload) { return payload }')
  const marker = `${process.pid}${Date.now() % 100000}`
  const handlers = {
    'js.echo': { module: `${dir}/echo.mjs`, capability: 'compute' },
    napping: { command: ['sh', '-c', `echo $$ > ${dir}/pid.$P2P_TASK_ID; sleep 600.${marker} & wait`], capability: 'compute', timeout: '10m' }
  }
  const workers = ['tb-w1', 'tb-w2', 'tb-w3'].map(name => withPsk(cluster.add({ name, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: '1s', extra: { tasks: { raw_echo: true, handlers } } })))
  await Promise.all(workers.map(async w => { await w.start() }))

  // the submitter: a real node in this process (no control socket in the path), like an API gateway
  const config = parseConfig(`node:\n  role: bootstrap\n  name: tb-submitter\n  listen_host: 127.0.0.1\n  listen_port: 0\n  heartbeat_interval: 1s\n  data_dir: ${cluster.dir}/submitter\nnetwork:\n  enable_mdns: false\n  bootstrap: [${dnsAddr(boot)}]\n${pskFile != null ? `  psk_file: ${pskFile}\n` : ''}`, { file: `${cluster.dir}/submitter.yaml` })
  submitterNode = await P2PNode.create(config, createLogger({ level: 'warn', pretty: false }))
  await submitterNode.start()
  const ids = new Set(workers.map(w => w.peerId))
  await pWaitFor(() => submitterNode.submitter.offeredTypes().echo === 3 && submitterNode.submitter.offeredTypes()['js.echo'] === 3 &&
    new Set(submitterNode.libp2p.getConnections().map(c => c.remotePeer.toString())).size >= 4, { interval: 100, timeout: 60_000 })
  const peers = submitterNode.libp2p.getConnections().map(c => c.remotePeer).filter(p => ids.has(p.toString()))
  const uniquePeers = [...new Map(peers.map(p => [p.toString(), p])).values()]

  // which worker ran each task, per phase: "least loaded first" should spread them evenly
  let ranOn = {}
  const task = async (type = 'echo') => {
    const r = await submitterNode.submitter.submit({ type, payload: PAYLOAD, timeoutMs: 10_000 })
    const w = r.results[0]?.workerName ?? 'failed'
    ranOn[w] = (ranOn[w] ?? 0) + 1
    return r.state === 'done'
  }
  const shares = counts => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    return Object.entries(counts).sort().map(([w, n]) => `${w} ${round(100 * n / total)}%`).join(', ')
  }
  const raw = await rawClient(submitterNode.libp2p, uniquePeers, streamProtocol('raw-echo', 'p2p-network'))
  progress('network up; warming up')
  // warm up both paths (JIT, connections, streams)
  await closedLoop(() => task(), 8, 1)
  await closedLoop(() => task('js.echo'), 8, 1)
  await closedLoop(raw.call, 8, 1)

  // what the three worker processes spend per task (CPU ms, user + system): steadier than a throughput figure
  // when the submitter, in this process, shares the two cores with them
  const workersCpuS = () => workers.reduce((sum, w) => sum + proc(w.proc.pid).cpuS, 0)
  const costed = async run => {
    const before = workersCpuS()
    const r = await run()
    return { ...r, workerCpuMsPerTask: round(1000 * (workersCpuS() - before) / Math.max(1, r.done + r.failed), 3) }
  }
  const rows = []
  const results = { tasks: [], raw: [] }
  for (const rate of RATES) {
    progress(`raw echo at ${rate}/s`)
    results.raw.push(await openLoop(raw.call, rate, SECONDS))
    progress(`tasks at ${rate}/s`)
    results.tasks.push(await costed(() => openLoop(() => task(), rate, SECONDS)))
  }
  progress('saturation')
  const rawSat = await closedLoop(raw.call, CONCURRENCY, SECONDS)
  ranOn = {}
  const taskSat = await costed(() => closedLoop(() => task(), CONCURRENCY, SECONDS))
  const spread = { saturation: ranOn }
  progress('module handler at saturation')
  const moduleSat = await closedLoop(() => task('js.echo'), CONCURRENCY, SECONDS)
  results.raw.push(rawSat)
  results.tasks.push(taskSat)
  raw.close()
  if (opts.spread > 0) {
    // the soak's finding: tasks submitted through a worker all ran on that worker. Through tb-w1's HTTP API, all at once
    progress(`${opts.spread} concurrent tasks through tb-w1's HTTP API`)
    const api = (await workers[0].request('status')).metricsUrl
    // accepted with "wait": false (202 at once), at most 100 requests open at a time: the node takes 256 HTTP
    // connections at most (docs/guides/security.md), and every task is in flight there together all the same
    const ids = []
    for (let i = 0; i < opts.spread; i += 100) {
      ids.push(...await Promise.all(Array.from({ length: Math.min(100, opts.spread - i) }, async (_, j) => {
        const body = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', payload: `spread ${i + j}`, wait: false }) }).then(r => r.json(), () => null)
        return body?.id
      })))
    }
    const mine = new Set(ids.filter(id => id != null))
    let list = []
    await pWaitFor(async () => {
      list = (await fetch(`${api}/api/tasks`).then(r => r.json())).filter(t => mine.has(t.id))
      return list.length === mine.size && list.every(t => t.state !== 'pending' && t.state !== 'running')
    }, { interval: 200, timeout: 120_000 })
    const through = { failed: opts.spread - mine.size }
    for (const t of list) {
      const w = t.state === 'done' ? t.workers[0] ?? 'failed' : 'failed'
      through[w] = (through[w] ?? 0) + 1
    }
    if (through.failed === 0) delete through.failed
    spread.throughWorker = through
  }
  let cancel
  if (opts.cancels > 0) {
    // a running command handler cancelled: from the cancel request to its process gone (and to the answer)
    progress(`cancel latency (${opts.cancels} running tasks)`)
    const gone = []
    const answered = []
    const alive = pid => { try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false } }
    for (let i = 0; i < opts.cancels; i++) {
      const spec = { type: 'napping', payload: new Uint8Array(), timeoutMs: 600_000 }
      const record = submitterNode.submitter.accept(spec)
      const done = submitterNode.submitter.completion(record, spec)
      const file = `${dir}/pid.${record.id}`
      await pWaitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', { interval: 5, timeout: 30_000 })
      const pid = Number(readFileSync(file, 'utf8'))
      await sleep(50)
      const t0 = performance.now()
      const answer = submitterNode.submitter.cancel(record.id).then(r => { answered.push(performance.now() - t0); return r })
      while (alive(pid)) await new Promise(resolve => setImmediate(resolve))
      gone.push(performance.now() - t0)
      const r = await answer
      if (r.state !== 'cancelled') throw new Error(`task ${record.id} ended ${r.state}, not cancelled`)
      await done
    }
    cancel = { trials: opts.cancels, toProcessGone: summary(gone), toAnswer: summary(answered) }
  }
  progress('stream per request')
  const perStream = await closedLoop(bounded(perStreamCall(submitterNode.libp2p, uniquePeers, streamProtocol('raw-echo', 'p2p-network'))), CONCURRENCY, SECONDS)

  for (let i = 0; i < results.tasks.length; i++) {
    const t = results.tasks[i]
    const r = results.raw[i]
    rows.push([`tasks @ ${t.offered}`, round(t.achieved), '/s', `p50 ${round(t.lat.p50, 2)} ms, p99 ${round(t.lat.p99, 2)} ms, failed ${t.failed}; ratio to raw ${round(t.achieved / r.achieved, 2)}; workers' CPU ${t.workerCpuMsPerTask} ms per task`])
    rows.push([`raw echo @ ${r.offered}`, round(r.achieved), '/s', `p50 ${round(r.lat.p50, 2)} ms, p99 ${round(r.lat.p99, 2)} ms`])
  }
  rows.push([`module handler (js.echo) @ saturation (${CONCURRENCY})`, round(moduleSat.achieved), '/s', `p50 ${round(moduleSat.lat.p50, 2)} ms, p99 ${round(moduleSat.lat.p99, 2)} ms, failed ${moduleSat.failed}; ratio to built-in echo ${round(moduleSat.achieved / taskSat.achieved, 2)}`])
  if (cancel != null) {
    rows.push([`cancel a running command handler: request -> process gone (${cancel.trials})`, round(cancel.toProcessGone.p50, 2), 'ms p50', `p99 ${round(cancel.toProcessGone.p99, 2)} ms, max ${round(cancel.toProcessGone.max, 2)} ms`])
    rows.push(['cancel: request -> answer (state cancelled)', round(cancel.toAnswer.p50, 2), 'ms p50', `p99 ${round(cancel.toAnswer.p99, 2)} ms`])
  }
  rows.push([`spread at saturation (submitter outside the workers)`, shares(spread.saturation), '', 'share of the tasks each worker ran'])
  if (spread.throughWorker != null) rows.push([`spread of ${opts.spread} concurrent tasks through tb-w1's HTTP API`, shares(spread.throughWorker), '', 'the submitting worker is a candidate like the others'])
  rows.push([`raw echo, new stream per request @ saturation (${CONCURRENCY})`, round(perStream.achieved), '/s', `p50 ${round(perStream.lat.p50, 2)} ms, p99 ${round(perStream.lat.p99, 2)} ms; long-lived stream is ${round(rawSat.achieved / perStream.achieved, 1)}x faster`])
  report('tasks', {
    machine: { cpus: os.cpus().length, node: process.version, workers: 3, payloadBytes: PAYLOAD.length, seconds: SECONDS, privateNetwork: PSK },
    results, perStream, spread, saturationRatio: round(taskSat.achieved / rawSat.achieved, 3), module: moduleSat, moduleToEchoRatio: round(moduleSat.achieved / taskSat.achieved, 3), cancel
  }, rows)
} finally {
  await submitterNode?.stop()
  await cluster.teardown()
}
