#!/usr/bin/env node
// Scale-in under load: --workers workers take --rate tasks/s through the bootstrap's API, --long-share of them
// 5-second tasks (a command handler), the rest echo; after --warmup seconds --remove of the workers are sent
// SIGTERM at once (what Kubernetes does to the pods a scale-in removes: they drain). Every task goes in with
// "wait": false and is followed to its end. The handler writes "start <worker> <id>" and "end <worker> <id>"
// to a log: a task run twice, or cut in the middle (started, never ended there), shows there.
//   npm run bench -- scalein [--workers 4] [--remove 2] [--rate 50] [--long-share 0.5] [--warmup 10] [--after 15] [--concurrency 80]
import os from 'node:os'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { Cluster, dnsAddr, waitAllSeeAll } from '../build/test/harness/cluster.js'
import { cli, number, report, round, summary } from './lib.mjs'

const opts = cli('bench/scalein.mjs', 'Scale-in under load: workers drained with tasks running; tasks failed, run twice, cut', p => p
  .option('--workers <n>', 'workers at the start', number(2), 4)
  .option('--remove <n>', 'workers sent SIGTERM at once', number(1), 2)
  .option('--rate <n>', 'tasks per second through the bootstrap', number(1), 50)
  .option('--long-share <x>', 'share of the tasks that take 5 s (the rest are echo)', parseFloat, 0.5)
  .option('--warmup <seconds>', 'load before the scale-in', number(1), 10)
  .option('--after <seconds>', 'load after it', number(0), 15)
  // 50/s with half of them 5 s long keeps 125 tasks running: the workers left after the scale-in must hold them
  .option('--concurrency <n>', 'tasks.max_concurrency of each worker', number(1), 80))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
process.env.TEST_LOG_LEVEL = 'warn'

const cluster = new Cluster()
const log = join(cluster.dir, 'ran.log')
writeFileSync(log, '')
try {
  // every task's record is kept until it is read back at the end (the default keeps the last 1,000)
  const boot = cluster.add({ name: 'si-boot', role: 'bootstrap', heartbeat: '1s', extra: { tasks: { records_max: 20_000 } } })
  await boot.start()
  const workers = Array.from({ length: opts.workers }, (_, i) => cluster.add({
    name: `si-w${i}`, role: 'worker', capabilities: ['work'], bootstrap: [dnsAddr(boot)], heartbeat: '1s',
    extra: {
      node: { drain_timeout: '30s' },
      tasks: { max_concurrency: opts.concurrency, max_queue: 4 * opts.concurrency, handlers: { long: { command: ['sh', '-c', `echo "start si-w${i} $P2P_TASK_ID $(date +%s%3N)" >> ${log}; sleep 5; echo "end si-w${i} $P2P_TASK_ID $(date +%s%3N)" >> ${log}; cat`], capability: 'work', timeout: '30s' } } }
    }
  }))
  await Promise.all(workers.map(async n => { await n.start() }))
  await waitAllSeeAll([boot, ...workers])
  const api = boot.status.metricsUrl
  progress(`${opts.workers} workers up; load ${opts.rate}/s (${Math.round(opts.longShare * 100)}% 5-second tasks)`)

  const ids = []
  let n = 0
  const refused = []
  const submit = async () => {
    const long = Math.random() < opts.longShare
    const res = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: long ? 'long' : 'echo', payload: `si ${n++}`, wait: false, timeout: '30s', retries: 5 }) })
    const body = await res.json()
    if (res.status === 202) ids.push({ id: body.id, long })
    else refused.push(`${res.status} ${body.error}`)
  }
  const pending = []
  const load = setInterval(() => { pending.push(submit().catch(err => { refused.push(err.message) })) }, 1000 / opts.rate)
  await new Promise(resolve => setTimeout(resolve, opts.warmup * 1000))
  const leaving = workers.slice(-opts.remove)
  const runningAtSignal = await Promise.all(leaving.map(async w => await w.metric('p2p_tasks_running')))
  const t0 = performance.now()
  const signalledAt = Date.now()
  progress(`SIGTERM to ${leaving.map(w => w.spec.name).join(', ')} (running ${runningAtSignal.join(', ')})`)
  for (const w of leaving) w.kill('SIGTERM')
  const exits = await Promise.all(leaving.map(async w => { const e = await w.exit; return { ...e, ms: performance.now() - t0 } }))
  progress(`they exited: ${exits.map(e => `code ${e.code} after ${Math.round(e.ms)} ms`).join(', ')}`)
  await new Promise(resolve => setTimeout(resolve, opts.after * 1000))
  clearInterval(load)
  await Promise.all(pending)

  // every task followed to its end
  const states = new Map()
  await pWaitFor(async () => {
    for (const { id } of ids) {
      if (['done', 'failed', 'cancelled'].includes(states.get(id)?.state)) continue
      states.set(id, await (await fetch(`${api}/api/tasks/${id}`)).json())
    }
    return ids.every(({ id }) => ['done', 'failed', 'cancelled'].includes(states.get(id)?.state))
  }, { interval: 500, timeout: 120_000 }).catch(() => {
    const open = ids.filter(({ id }) => !['done', 'failed', 'cancelled'].includes(states.get(id)?.state))
    progress(`${open.length} tasks still open after 120 s, e.g. ${JSON.stringify(open.slice(0, 3).map(({ id }) => states.get(id)))}`)
  })
  const failed = ids.filter(({ id }) => states.get(id).state !== 'done')
  const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map(l => l.split(' '))
  const starts = new Map()
  const ends = new Map()
  for (const [what, who, id] of lines) (what === 'start' ? starts : ends).set(id, [...((what === 'start' ? starts : ends).get(id) ?? []), who])
  const longIds = ids.filter(t => t.long).map(t => t.id)
  const runTwice = longIds.filter(id => (starts.get(id) ?? []).length > 1)
  const cut = longIds.filter(id => (starts.get(id) ?? []).some(w => !(ends.get(id) ?? []).includes(w)))
  // 5-second tasks that ended on a leaving worker after it was told to leave: what the drain let finish
  const leavingNames = new Set(leaving.map(l => l.spec.name))
  const onLeaving = lines.filter(([what, who, , at]) => what === 'end' && leavingNames.has(who) && Number(at) >= signalledAt).length
  const durations = summary(ids.map(({ id }) => states.get(id)).filter(r => r.state === 'done').map(r => Math.max(...r.results.map(x => x.durationMs))))
  report('scalein', {
    machine: { cpus: os.cpus().length, node: process.version }, workers: opts.workers, removed: opts.remove, rate: opts.rate, longShare: opts.longShare,
    tasks: { accepted: ids.length, long: longIds.length, refusedAtSubmit: refused.length, failed: failed.length, runTwice: runTwice.length, cutMidRun: cut.length, longFinishedOnLeavingWorkers: onLeaving },
    leaving: { runningAtSignal, exits }, durationMs: durations
  }, [
    ['tasks accepted', ids.length, '', `${longIds.length} of them 5-second tasks; ${refused.length} refused at submit`],
    ['failed', failed.length, '', failed.length > 0 ? [...new Set(failed.map(({ id }) => states.get(id).error))].join('; ').slice(0, 200) : 'every task done'],
    ['run twice', runTwice.length, '', 'a 5-second task started on two workers (handler log)'],
    ['cut mid-run', cut.length, '', 'started on a worker and never ended there'],
    ['finished on the leaving workers', onLeaving, '', `5-second tasks that ended there after SIGTERM (running then: ${runningAtSignal.join(', ')})`],
    ['drain: SIGTERM -> exit', round(Math.max(...exits.map(e => e.ms)) / 1000), 's', `exit codes ${exits.map(e => e.code).join(', ')}`],
    ['task duration p50 / p99', `${round(durations.p50)} / ${round(durations.p99)}`, 'ms', 'submit -> result, all tasks']
  ])
} finally {
  await cluster.teardown()
}
