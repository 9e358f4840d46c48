#!/usr/bin/env node
// Failover timing at the default settings (200 ms beats, 3 misses, lease = 200 x (3 + 2) = 1 s):
//  - kill -9 of the active -> the standby's program starts (p50/p99 over N trials)
//  - planned handoff (SIGTERM of the active) -> gap between the two programs' stamps
//  - overlaps over the whole run (must be 0)
// Usage: node bench/failover.mjs [--trials 20]
import { join } from 'node:path'
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { intervals, overlaps, readStamps, stampingProgram, termRegressions } from '../build/test/harness/failover-log.js'
import { cli, number, report, round, summary } from './lib.mjs'

const TRIALS = cli('bench/failover.mjs', 'Failover takeover after kill -9, planned handoff gap, overlaps', p => p
  .option('--trials <n>', 'trials of each kind', number(1), 20)).trials
process.env.TEST_LOG_LEVEL = 'warn'
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

const cluster = new Cluster()
try {
  const log = join(cluster.dir, 'program.log')
  const boot = cluster.add({ name: 'fb-boot', role: 'bootstrap', mesh: false, heartbeat: '500ms' })
  await boot.start()
  const names = ['fb-w1', 'fb-w2', 'fb-w3']
  const workers = names.map((name, i) => cluster.add({
    name, role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: '500ms',
    // defaults for everything that decides timing; preemption off, so every trial starts from a settled group
    extra: { failover: { services: [{ name: 'bench', command: stampingProgram(log), priority: 300 - i * 100, group_size: 3, open_group: true, preempt: false, env: { WHO: name } }] } }
  }))
  await Promise.all(workers.map(async w => { await w.start() }))
  const holder = () => readStamps(log).filter(s => s.ms > Date.now() - 100).at(-1)?.who
  await pWaitFor(() => holder() != null, { interval: 20, timeout: 60_000 })

  const crash = []
  const planned = []
  for (let t = 0; t < TRIALS * 2; t++) {
    const kill = t % 2 === 0
    const from = holder()
    const victim = workers[names.indexOf(from)]
    const at = Date.now()
    victim.kill(kill ? 'SIGKILL' : 'SIGTERM')
    await victim.exit
    await pWaitFor(() => { const h = holder(); return h != null && h !== from }, { interval: 5, timeout: 30_000 })
    const stamps = readStamps(log)
    const first = stamps.find(s => s.who !== from && s.ms >= at)
    const lastOld = Math.max(...stamps.filter(s => s.who === from).map(s => s.ms))
    if (kill) crash.push(first.ms - at)
    else planned.push(first.ms - lastOld)
    await victim.start()
    // let the restarted member settle as a standby (it stays quiet for a lease after starting)
    await new Promise(resolve => setTimeout(resolve, 1500))
    if (t % 5 === 4) progress(`${t + 1}/${TRIALS * 2} trials`)
  }
  const list = intervals(readStamps(log))
  const c = summary(crash)
  const p = summary(planned)
  report('failover', {
    machine: { cpus: os.cpus().length, node: process.version }, settings: { heartbeatMs: 200, misses: 3, leaseMs: 1000, detectionMs: 600 },
    crashToStartMs: c, plannedGapMs: p, overlaps: overlaps(list).length, termRegressions: termRegressions(list).length
  }, [
    ['kill -9 -> standby program start p50', round(c.p50), 'ms', `p99 ${round(c.p99)} ms, max ${round(c.max)} ms, ${c.n} trials`],
    ['planned handoff gap p50', round(p.p50), 'ms', `p99 ${round(p.p99)} ms, max ${round(p.max)} ms, ${p.n} trials`],
    ['configured detection (3 misses x 200 ms)', 600, 'ms', 'lease 1000 ms'],
    ['overlaps', overlaps(list).length, '', `term regressions ${termRegressions(list).length}`]
  ])
} finally {
  await cluster.teardown()
}
