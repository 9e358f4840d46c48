#!/usr/bin/env node
// What an idle node costs with the production defaults: 1 bootstrap, 1 relay and N - 2 workers on loopback
// (relay clients, full mesh), 5 s heartbeat, 10 s ping, no tasks. After a settle time, per node over a window:
// CPU (% of a core), RSS, anonymous memory (the process's own; the rest of RSS is the node binary's file pages)
// and V8's heap. `--trials` repeats the whole run: idle CPU swings from run to run on a shared 2-core machine.
// Usage: node bench/idle.mjs [--nodes 12] [--settle 40] [--window 60] [--trials 1]
//   P2P_NODE_FLAGS (the launcher's) reaches every node: e.g. P2P_NODE_FLAGS=--optimize-for-size for the A/B
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { cli, number, proc, report, round, summary } from './lib.mjs'

const opts = cli('bench/idle.mjs', 'CPU and memory of idle nodes with the production defaults', p => p
  .option('--nodes <n>', 'nodes in all (1 bootstrap, 1 relay, the rest workers)', number(3), 12)
  .option('--settle <s>', 'seconds from the last start to the first sample', number(0), 40)
  .option('--window <s>', 'seconds CPU is measured over', number(1), 60)
  .option('--trials <n>', 'whole runs, each a new network', number(1), 1))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
process.env.TEST_LOG_LEVEL = 'warn'

/** the production ping interval (the test cluster pings every 2 s); the heartbeat is given in each node's spec */
const production = n => { n.updateConfig(c => { c.network.ping_interval = '10s' }); return n }

async function trial (i) {
  const cluster = new Cluster()
  try {
    const boot = production(cluster.add({ name: `idle-boot-${i}`, role: 'bootstrap', mesh: false, heartbeat: '5s' }))
    await boot.start()
    const relay = production(cluster.add({ name: `idle-relay-${i}`, role: 'relay', bootstrap: [dnsAddr(boot)], heartbeat: '5s' }))
    await relay.start()
    const workers = Array.from({ length: opts.nodes - 2 }, (_, k) => production(cluster.add({ name: `idle-w${k}-${i}`, role: 'worker', relay: true, bootstrap: [dnsAddr(boot)], heartbeat: '5s' })))
    await Promise.all(workers.map(async w => { await w.start() }))
    progress(`trial ${i + 1}: ${opts.nodes} nodes up; settling ${opts.settle} s`)
    await sleep(opts.settle * 1000)
    const all = [boot, relay, ...workers]
    const before = all.map(n => proc(n.proc.pid).cpuS)
    await sleep(opts.window * 1000)
    const cpu = all.map((n, k) => 100 * (proc(n.proc.pid).cpuS - before[k]) / opts.window)
    const mem = all.map(n => proc(n.proc.pid))
    const heap = []
    for (const n of all) heap.push(await n.metric('nodejs_heap_size_total_bytes') / 2 ** 20)
    const workersOnly = values => values.slice(2)
    return {
      cpuPercent: { all: summary(cpu), sum: cpu.reduce((a, b) => a + b, 0), bootstrap: cpu[0], relay: cpu[1], worker: summary(workersOnly(cpu)) },
      rssMiB: { bootstrap: mem[0].rssMiB, relay: mem[1].rssMiB, worker: summary(workersOnly(mem.map(m => m.rssMiB))) },
      anonMiB: { bootstrap: mem[0].anonMiB, relay: mem[1].anonMiB, worker: summary(workersOnly(mem.map(m => m.anonMiB))) },
      heapTotalMiB: { worker: summary(workersOnly(heap)) }
    }
  } finally {
    await cluster.teardown()
  }
}

const trials = []
for (let i = 0; i < opts.trials; i++) trials.push(await trial(i))
const range = values => { const r = values.map(v => round(v, 2)); return r.length === 1 ? `${r[0]}` : `${Math.min(...r)}-${Math.max(...r)}` }
const rows = [
  ['CPU per node p50', range(trials.map(t => t.cpuPercent.all.p50)), '% of a core', `${opts.nodes} nodes, ${opts.window} s window, ${opts.trials} trial(s)`],
  ['CPU, all nodes together', range(trials.map(t => t.cpuPercent.sum)), '% of a core', 'the sum over the nodes'],
  ['CPU bootstrap / relay', `${range(trials.map(t => t.cpuPercent.bootstrap))} / ${range(trials.map(t => t.cpuPercent.relay))}`, '% of a core', ''],
  ['RSS worker p50', range(trials.map(t => t.rssMiB.worker.p50)), 'MiB', `bootstrap ${range(trials.map(t => t.rssMiB.bootstrap))}, relay ${range(trials.map(t => t.rssMiB.relay))}`],
  ['anonymous memory worker p50', range(trials.map(t => t.anonMiB.worker.p50)), 'MiB', `bootstrap ${range(trials.map(t => t.anonMiB.bootstrap))}, relay ${range(trials.map(t => t.anonMiB.relay))}; the rest of RSS is the node binary's file pages`],
  ['V8 heap (committed) worker p50', range(trials.map(t => t.heapTotalMiB.worker.p50)), 'MiB', 'nodejs_heap_size_total_bytes']
]
report('idle', { machine: { nodes: opts.nodes, heartbeat: '5s', ping: '10s', settleS: opts.settle, windowS: opts.window, nodeFlags: process.env.P2P_NODE_FLAGS ?? '' }, trials }, rows)
