#!/usr/bin/env node
// How the network grows with its size: for each N (nodes in all: 1 bootstrap, 1 relay, N - 2 workers), every node
// in a network namespace of its own with its own IP on one bridge (as pods are; it also keeps GossipSub's
// same-IP scoring honest), with the production defaults (5 s heartbeat, 3 misses, full mesh, relay client on,
// mDNS off as in the Kubernetes config). Per N: how long the network takes to settle, how long a new worker takes
// to list every member, heartbeat delay and delivery at a gossip observer connected to the bootstrap only, and
// per node CPU, RSS, connections, gossip messages and bytes on the wire per second (the namespace's interface
// counters). Then a power-law fit of each per-node figure against N, projected to 200 and 1,000 nodes, and the
// N at which each runs into its budget (the Kubernetes manifests' limits, max_connections). Needs root (ip netns)
// and the whole machine: run nothing else meanwhile.
//   npm run bench -- scale [--sizes 10,25,50] [--window 60] [--trials 3]
import { execFileSync, spawn } from 'node:child_process'
import { dirname, join as joinPath } from 'node:path'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import { Cluster, sumOf as sum } from '../build/test/harness/cluster.js'
import { Hosts, canUseNetns } from '../build/test/harness/netns.js'
import { cli, number, proc, report, round, summary } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const opts = cli('bench/scale.mjs', 'Settle, join, heartbeat delay and per-node cost at N = 10, 25, 50 nodes in network namespaces, with a projection', p => p
  .option('--sizes <list>', 'network sizes, nodes in all (bootstrap and relay included)', '10,25,50')
  .option('--window <seconds>', 'steady-state window measured per size', number(10), 60)
  .option('--trials <n>', 'join trials per size', number(1), 3)
  .option('--heartbeat <duration>', 'heartbeat_interval of every node', '5s')
  .option('--batch <n>', 'nodes started at once', number(1), 8)
  .option('--settle-timeout <seconds>', 'how long to wait for every node to list every other, and for each joiner', number(10), 300))
const sizes = opts.sizes.split(',').map(Number)
if (sizes.some(n => !Number.isInteger(n) || n < 4 || n > 250)) {
  console.error(`--sizes: whole numbers from 4 to 250, got ${JSON.stringify(opts.sizes)}`)
  process.exit(2)
}
if (!canUseNetns()) {
  console.error('bench/scale.mjs needs root and ip netns (each node runs in a network namespace of its own)')
  process.exit(2)
}
process.env.TEST_LOG_LEVEL ??= 'warn'
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
// budgets per node: the limits in k8s/base (cpu "1", memory 512Mi) and network.node's max_connections default
const BUDGET = { cpuPercent: 100, rssMiB: 512, connections: 100 }

/** bytes and packets through the namespace's eth0 so far */
function wire (host) {
  const [link] = JSON.parse(execFileSync('ip', ['-n', host.ns, '-s', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }))
  const s = link.stats64 ?? link.stats
  return { rxBytes: s.rx.bytes, txBytes: s.tx.bytes, rxPackets: s.rx.packets, txPackets: s.tx.packets }
}

async function aliveCount (node) {
  try { return (await node.peers()).filter(p => p.state === 'alive').length } catch { return 0 }
}

async function listsAll (node, ids) {
  const alive = new Set((await node.peers()).filter(p => p.state === 'alive').map(p => p.peerId))
  for (const id of ids) if (id !== node.peerId && !alive.has(id)) return false
  return true
}

/** what is running now, so Ctrl-C (or a SIGTERM) stops the nodes and removes the namespaces instead of leaving them */
let running
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    progress(`${signal}: stopping the nodes and removing the namespaces`)
    void (running?.() ?? Promise.resolve()).finally(() => process.exit(130))
  })
}

async function runSize (N, index) {
  const hosts = new Hosts(`s${index}`, 40 + index)
  const cluster = new Cluster()
  running = async () => { await cluster.teardown(); hosts.destroy() }
  const placed = []
  const place = (spec) => {
    const host = hosts.add()
    const node = cluster.add({ ...spec, listenHost: host.ip, heartbeat: opts.heartbeat, mdns: false }, hosts.wrap(host))
    // the production defaults for the timings the test harness shortens
    node.updateConfig(c => { delete c.network.ping_interval; delete c.network.bootstrap_max_backoff; delete c.network.connection_timeout })
    const p = { node, host }
    placed.push(p)
    return p
  }
  try {
    const boot = place({ name: 'scale-boot', role: 'bootstrap', mesh: false })
    await boot.node.start()
    const bootAddr = boot.node.addr
    const relay = place({ name: 'scale-relay', role: 'relay', bootstrap: [bootAddr] })
    await relay.node.start()
    const workers = Array.from({ length: N - 2 }, (_, i) => place({ name: `scale-w${i + 1}`, role: 'worker', relay: true, capabilities: ['compute'], bootstrap: [bootAddr] }))
    const upStart = performance.now()
    for (let i = 0; i < workers.length; i += opts.batch) await Promise.all(workers.slice(i, i + opts.batch).map(async w => { await w.node.start() }))
    const upMs = performance.now() - upStart
    const ids = placed.map(p => p.node.peerId)
    progress(`N=${N}: all ${N} nodes up in ${Math.round(upMs)} ms; waiting until every node lists every other`)
    // a network that does not settle within --settle-timeout is measured as it is (how many members each lists)
    const settleStart = performance.now()
    let settleMs = null
    const listed = []
    while (performance.now() - settleStart < opts.settleTimeout * 1000) {
      listed.length = 0
      for (const p of placed) listed.push(await aliveCount(p.node))
      if (listed.every(n => n === N - 1)) { settleMs = performance.now() - settleStart; break }
      await sleep(500)
    }
    if (settleMs == null) progress(`N=${N}: not settled after ${opts.settleTimeout} s: members listed p50 ${summary(listed).p50}, min ${summary(listed).min} of ${N - 1}`)

    // join: a new worker in a host of its own, until it lists every member
    const join = { toReady: [], readyToListAll: [], toListAll: [] }
    for (let t = 0; t < opts.trials; t++) {
      const j = place({ name: `scale-join${t + 1}`, role: 'worker', relay: true, capabilities: ['compute'], bootstrap: [bootAddr] })
      const t0 = performance.now()
      await j.node.start()
      const tReady = performance.now()
      join.toReady.push(tReady - t0)
      try {
        await pWaitFor(() => listsAll(j.node, ids), { interval: 25, timeout: opts.settleTimeout * 1000 })
        const tAll = performance.now()
        join.readyToListAll.push(tAll - tReady)
        join.toListAll.push(tAll - t0)
      } catch {
        join.unfinished = (join.unfinished ?? 0) + 1
      }
      await j.node.stop()
      placed.pop()
      await sleep(2000)
    }
    progress(`N=${N}: ${settleMs == null ? 'not settled' : `settled in ${Math.round(settleMs)} ms after the last start`}; join p50 ${summary(join.toListAll).p50 == null ? '-' : Math.round(summary(join.toListAll).p50)} ms; measuring ${opts.window} s of steady state`)

    // steady state: an observer in a host of its own, connected to the bootstrap only
    await sleep(10_000)
    const obsHost = hosts.add()
    const warmup = 5
    const observer = spawn('ip', ['netns', 'exec', obsHost.ns, process.execPath, joinPath(here, 'scale-observer.mjs'), '--connect', bootAddr, '--window', String(opts.window), '--warmup', String(warmup)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let observed = ''
    observer.stdout.on('data', d => { observed += d })
    const observerDone = new Promise(resolve => observer.once('exit', resolve))
    await sleep(warmup * 1000)
    const read = async () => Promise.all(placed.map(async p => ({ ...proc(p.node.proc.pid), ...wire(p.host), metrics: await p.node.metrics(), at: performance.now() })))
    const before = await read()
    await observerDone
    const after = await read()
    let o
    try { o = JSON.parse(observed) } catch { o = { error: `the observer printed ${JSON.stringify(observed.slice(0, 200))}` } }
    if (o.error != null) { progress(`N=${N}: no heartbeat figures: ${o.error}`); o = { delays: [], senders: {} } }
    const perNode = placed.map((p, i) => {
      const a = before[i]
      const b = after[i]
      const s = (b.at - a.at) / 1000
      const messages = name => (sum(b.metrics, name) - sum(a.metrics, name)) / s
      return {
        name: p.node.spec.name,
        role: p.node.spec.role,
        cpuPercent: (b.cpuS - a.cpuS) / s * 100,
        rssMiB: b.rssMiB,
        fds: b.fds,
        connections: sum(b.metrics, 'p2p_peers_connected'),
        messagesInPerS: messages('p2p_messages_received_total'),
        messagesOutPerS: messages('p2p_messages_published_total'),
        bytesInPerS: (b.rxBytes - a.rxBytes) / s,
        bytesOutPerS: (b.txBytes - a.txBytes) / s,
        packetsPerS: (b.rxPackets - a.rxPackets + b.txPackets - a.txPackets) / s
      }
    })
    const seen = Object.values(o.senders).reduce((a, x) => a + x.seen, 0)
    const sent = Object.values(o.senders).reduce((a, x) => a + x.sent, 0)
    const ws = perNode.filter(n => n.role === 'worker')
    const pick = (list, key) => summary(list.map(n => n[key]))
    const result = {
      N,
      upMs,
      settleMs,
      listedAtEnd: settleMs == null ? summary(listed) : null,
      join: { toReady: summary(join.toReady), readyToListAll: summary(join.readyToListAll), toListAll: summary(join.toListAll) },
      heartbeat: { delayMs: summary(o.delays), delivery: seen / Math.max(1, sent), senders: Object.keys(o.senders).length },
      machineCpuPercent: perNode.reduce((a, n) => a + n.cpuPercent, 0),
      worker: Object.fromEntries(['cpuPercent', 'rssMiB', 'fds', 'connections', 'messagesInPerS', 'messagesOutPerS', 'bytesInPerS', 'bytesOutPerS', 'packetsPerS'].map(k => [k, pick(ws, k)])),
      bootstrap: perNode.find(n => n.role === 'bootstrap'),
      relay: perNode.find(n => n.role === 'relay')
    }
    progress(`N=${N}: worker CPU p50 ${round(result.worker.cpuPercent.p50)} %, RSS p50 ${round(result.worker.rssMiB.p50)} MiB, in ${round(result.worker.bytesInPerS.p50 / 1024)} KiB/s; heartbeat p99 ${result.heartbeat.delayMs.p99} ms`)
    return result
  } finally {
    running = undefined
    await cluster.teardown()
    hosts.destroy()
  }
}

/**
 * The better of two least-squares fits of y against N, by relative error: a line y = a + b N (counts such as
 * connections, N - 1 in a full mesh) or a power law y = c N^k (log y on log N). Returns the model, its value
 * at n, and the N at which it reaches a limit.
 */
function fit (points) {
  const line = (xs, ys) => {
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length
    const my = ys.reduce((a, b) => a + b, 0) / ys.length
    const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0)
    const b = den > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / den : 0
    return { a: my - b * mx, b }
  }
  const ns = points.map(p => p[0])
  const ys = points.map(p => Math.max(p[1], 1e-9))
  const lin = line(ns, ys)
  const pow = line(ns.map(Math.log), ys.map(Math.log))
  const models = [
    { model: `${round(lin.a, 2)} + ${round(lin.b, 3)} N`, at: n => lin.a + lin.b * n, reaches: limit => (lin.b > 0 ? (limit - lin.a) / lin.b : Infinity) },
    { model: `${round(Math.exp(pow.a), 3)} N^${round(pow.b, 2)}`, at: n => Math.exp(pow.a) * n ** pow.b, reaches: limit => (pow.b > 0 ? (limit / Math.exp(pow.a)) ** (1 / pow.b) : Infinity) }
  ]
  const error = m => ns.reduce((a, n, i) => a + ((m.at(n) - ys[i]) / ys[i]) ** 2, 0)
  return models.sort((x, y) => error(x) - error(y))[0]
}

const results = []
for (const [i, N] of sizes.entries()) results.push(await runSize(N, i))

const figures = {
  'worker CPU (% of a core)': { get: r => r.worker.cpuPercent.p50, budget: BUDGET.cpuPercent },
  'worker RSS (MiB)': { get: r => r.worker.rssMiB.p50, budget: BUDGET.rssMiB },
  'worker connections': { get: r => r.worker.connections.p50, budget: BUDGET.connections },
  'worker gossip messages in/s': { get: r => r.worker.messagesInPerS.p50 },
  'worker bytes in/s': { get: r => r.worker.bytesInPerS.p50 },
  'worker packets/s': { get: r => r.worker.packetsPerS.p50 },
  'bootstrap CPU (% of a core)': { get: r => r.bootstrap.cpuPercent, budget: BUDGET.cpuPercent },
  'bootstrap RSS (MiB)': { get: r => r.bootstrap.rssMiB, budget: BUDGET.rssMiB },
  'heartbeat delay p99 (ms)': { get: r => r.heartbeat.delayMs.p99 },
  'join: ready -> lists all p50 (ms)': { get: r => r.join.readyToListAll.p50 },
  'settle after the last start (ms)': { get: r => r.settleMs }
}
const projection = {}
for (const [name, f] of Object.entries(figures)) {
  const points = results.map(r => [r.N, f.get(r)]).filter(p => p[1] != null)
  if (points.length < 2) continue
  const m = fit(points)
  const at = m.reaches(f.budget ?? Infinity)
  projection[name] = { model: m.model, at200: round(m.at(200)), at1000: round(m.at(1000)), budget: f.budget ?? null, reachesBudgetAtN: f.budget != null && Number.isFinite(at) ? Math.round(at) : null }
}
const rows = []
for (const r of results) {
  rows.push([`N=${r.N} settle`, r.settleMs == null ? `not in ${opts.settleTimeout} s` : round(r.settleMs), 'ms', r.settleMs == null ? `members listed p50 ${r.listedAtEnd.p50}, min ${r.listedAtEnd.min} of ${r.N - 1}` : `after the last of ${r.N} nodes started (${round(r.upMs / 1000)} s to start them, ${opts.batch} at a time)`])
  rows.push([`N=${r.N} join`, round(r.join.toListAll.p50), 'ms', `spawn -> lists all p50 (ready ${round(r.join.toReady.p50)} + ${round(r.join.readyToListAll.p50)} ms), max ${round(r.join.toListAll.max)} ms, ${r.join.toListAll.n} trials${r.join.unfinished ? `, ${r.join.unfinished} never listed all` : ''}`])
  rows.push([`N=${r.N} heartbeat`, `${r.heartbeat.delayMs.p50} / ${r.heartbeat.delayMs.p99}`, 'ms p50/p99', `${round(r.heartbeat.delivery * 100, 2)} % delivered, ${r.heartbeat.delayMs.n} heartbeats from ${r.heartbeat.senders} senders`])
  rows.push([`N=${r.N} worker`, `${round(r.worker.cpuPercent.p50)} % / ${round(r.worker.rssMiB.p50)} MiB`, 'CPU / RSS p50', `max ${round(r.worker.cpuPercent.max)} % / ${round(r.worker.rssMiB.max)} MiB; ${r.worker.connections.p50} connections, ${r.worker.fds.p50} fds; machine ${round(r.machineCpuPercent)} % of ${os.cpus().length * 100} %`])
  rows.push([`N=${r.N} worker traffic`, `${round(r.worker.messagesInPerS.p50)} msg/s, ${round(r.worker.bytesInPerS.p50 / 1024)} KiB/s in`, 'p50', `${round(r.worker.bytesOutPerS.p50 / 1024)} KiB/s out, ${round(r.worker.packetsPerS.p50)} packets/s`])
  rows.push([`N=${r.N} bootstrap / relay`, `${round(r.bootstrap.cpuPercent)} % ${round(r.bootstrap.rssMiB)} MiB / ${round(r.relay.cpuPercent)} % ${round(r.relay.rssMiB)} MiB`, 'CPU RSS', `bootstrap ${round(r.bootstrap.bytesInPerS / 1024)} KiB/s in, ${r.bootstrap.connections} connections`])
}
for (const [name, p] of Object.entries(projection)) {
  rows.push([`fit ${name}`, p.model, '', `200: ${p.at200}, 1000: ${p.at1000}${p.budget != null ? `; budget ${p.budget} reached at N ~ ${p.reachesBudgetAtN ?? 'never'}` : ''}`])
}
report('scale', { machine: { cpus: os.cpus().length, node: process.version }, heartbeat: opts.heartbeat, window: opts.window, budget: BUDGET, results, projection }, rows)
