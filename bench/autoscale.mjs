#!/usr/bin/env node
// Autoscaling on the task backlog (k8s/components/autoscaling), on a local network: a real Prometheus scrapes
// every node, the ScaledObject's own query and threshold (from the rendered production overlay) size a pool of
// worker processes by the HPA's rules, and a load step of slow tasks goes through the bootstrap's API. Reports
// the time from the step to the scale-out decision and to the first new worker ready, the peak, the time from
// the load's end back to minReplicaCount, each drain, and what happened to every task.
//   npm run bench -- autoscale [--rate 8] [--task-ms 1500] [--seconds 20] [--time-scale 15] [--scrape-ms 1000]
import os from 'node:os'
import { runAutoscale } from '../build/test/harness/autoscale-run.js'
import { cli, number, report, round } from './lib.mjs'

const opts = cli('bench/autoscale.mjs', 'Autoscaling on the task backlog: real Prometheus, the ScaledObject\'s query, the HPA\'s rules, workers started and drained', p => p
  .option('--rate <n>', 'tasks per second during the load step', number(1), 8)
  .option('--task-ms <ms>', 'how long each task runs', number(1), 1500)
  .option('--seconds <s>', 'length of the load step', number(1), 20)
  .option('--time-scale <k>', 'the ScaledObject\'s times (polling, windows, policy periods) divided by this', number(1), 15)
  .option('--scrape-ms <ms>', 'Prometheus scrape interval', number(100), 1000)
  .option('--settle <s>', 'how long to wait for the pool to come back to its minimum', number(1), 180))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
process.env.TEST_LOG_LEVEL = 'warn'

const r = await runAutoscale({ rate: opts.rate, taskMs: opts.taskMs, loadSeconds: opts.seconds, timeScale: opts.timeScale, scrapeIntervalMs: opts.scrapeMs, settleSeconds: opts.settle, progress })
const { steps, ...rest } = r
const s = v => v == null ? null : round(v / 1000, 2)
report('autoscale', { machine: { cpus: os.cpus().length, node: process.version }, options: opts, ...rest, decisions: steps.filter((x, i) => i === 0 || x.desired !== x.replicas).map(x => ({ at: x.at - steps[0].at, metric: x.metric, from: x.replicas, to: x.desired })) }, [
  ['query', r.spec.query, '', `threshold ${r.spec.threshold} (pool tasks.max_concurrency ${r.poolConcurrency}), min ${r.spec.min}, max ${r.spec.max}`],
  ['polling / scrape', `${r.spec.pollingMs} / ${opts.scrapeMs}`, 'ms', `ScaledObject times / ${opts.timeScale}`],
  ['step -> scale-out decided', s(r.scaleOut.decidedMs), 's', 'first HPA decision above min'],
  ['step -> first new worker ready', s(r.scaleOut.readyMs), 's', '/readyz 200 on a worker added for the step'],
  ['peak workers', r.peakReplicas, '', `offered ${opts.rate}/s x ${opts.taskMs} ms = ${round(opts.rate * opts.taskMs / 1000)} tasks in flight`],
  ['load end -> back at min', s(r.scaleIn.backAtMinMs), 's', `every removed worker drained (exit codes ${[...new Set(r.drains.map(d => d.code))].join(', ')}; drain p50 ${s(r.drains.map(d => d.ms).sort((a, b) => a - b)[Math.floor(r.drains.length / 2)])} s)`],
  ['tasks', `${r.tasks.done}/${r.tasks.accepted}`, 'done', `failed ${r.tasks.failed}, run twice ${r.tasks.runTwice}, cut mid-run ${r.tasks.cutMidRun}, refused ${r.tasks.refused}`]
])
