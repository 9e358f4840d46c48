#!/usr/bin/env node
// The SWIM membership core (src/membership/swim.ts) on a simulated network and clock (test/harness/swim-sim.ts), at
// fleet sizes this machine cannot run as processes. Per size and loss rate: messages and bytes per node per second
// at rest; a member killed and one joining at once: time to the first suspicion, to the first declared death, and
// until 99.99 % of members know of the death and of the join; false suspicions and deaths of live members. Then a
// partition of half the fleet, healed: time until every member sees every other alive again.
//   npm run bench -- swim [--sizes 1000,10000] [--loss 0,0.01,0.05,0.1] [--seed 1] [--partition 1000]
import os from 'node:os'
import { SwimSim } from '../build/test/harness/swim-sim.js'
import { cli, report, round } from './lib.mjs'

const list = v => v.split(',').map(Number)
const opts = cli('bench/swim.mjs', 'SWIM membership core, simulated: convergence, detection, false suspicions, cost per node', p => p
  .option('--sizes <list>', 'fleet sizes', list, [1000, 10000])
  .option('--loss <list>', 'message loss rates', list, [0, 0.01, 0.05, 0.1])
  .option('--seed <n>', 'random seed', Number, 1)
  .option('--partition <n>', 'fleet size of the partition run (0: none)', Number, 1000))
const progress = msg => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const Q = 0.9999

function eventsAbout (sim, id, type, after) {
  let first
  let count = 0
  for (const node of sim.nodes.values()) {
    for (const e of node.events) {
      if (e.type !== type || e.id !== id || e.at < after) continue
      count++
      if (first == null || e.at < first) first = e.at
    }
  }
  return { first, count }
}

/** suspicions raised by a failed probe of a live member; live members some node declared dead (and how many nodes) */
function falseOnes (sim, except) {
  let suspicions = 0
  const dead = new Map()
  for (const node of sim.nodes.values()) {
    for (const e of node.events) {
      if (except.has(e.id)) continue
      if (e.type === 'raised') suspicions++
      if (e.type === 'dead') dead.set(e.id, (dead.get(e.id) ?? 0) + 1)
    }
  }
  return { suspicions, deadMembers: dead.size, deadViews: [...dead.values()].reduce((a, b) => a + b, 0) }
}

const runs = []
for (const n of opts.sizes) {
  for (const loss of opts.loss) {
    const wall = performance.now()
    const sim = new SwimSim({ n, loss, seed: opts.seed })
    sim.run(5000)
    sim.resetCounters()
    sim.run(15_000)
    const perNode = { messages: sim.sentMessages / n / 10, bytes: sim.sentBytes / n / 10 }
    const killed = sim.ids[Math.floor(n / 3)]
    const t0 = sim.now
    sim.kill(killed)
    sim.join('joiner', sim.ids[Math.floor(n / 2)])
    let joinAt
    let deadAt
    sim.run(t0 + 90_000, () => {
      if (sim.now % 100 !== 0) return false
      if (joinAt == null && sim.share('joiner', s => s === 'alive') >= Q) joinAt = sim.now
      if (deadAt == null && sim.share(killed, s => s === 'dead') >= Q) deadAt = sim.now
      return joinAt != null && deadAt != null
    })
    const suspect = eventsAbout(sim, killed, 'suspect', t0)
    const dead = eventsAbout(sim, killed, 'dead', t0)
    const except = new Set([killed])
    const r = {
      n, loss,
      perNodePerSecond: { messages: round(perNode.messages, 2), bytes: Math.round(perNode.bytes) },
      death: {
        firstSuspicionS: suspect.first == null ? null : round((suspect.first - t0) / 1000, 2),
        firstDeclaredS: dead.first == null ? null : round((dead.first - t0) / 1000, 2),
        knownBy9999S: deadAt == null ? null : round((deadAt - t0) / 1000, 2),
        disseminationS: deadAt == null || dead.first == null ? null : round((deadAt - dead.first) / 1000, 2)
      },
      joinKnownBy9999S: joinAt == null ? null : round((joinAt - t0) / 1000, 2),
      falseAlarms: falseOnes(sim, except),
      wallS: round((performance.now() - wall) / 1000, 1)
    }
    runs.push(r)
    progress(`n ${n}, loss ${loss}: ${JSON.stringify(r)}`)
  }
}

let partition = null
if (opts.partition > 0) {
  const n = opts.partition
  const sim = new SwimSim({ n, seed: opts.seed })
  sim.run(5000)
  sim.partition(sim.ids.slice(0, n / 2))
  sim.run(65_000)
  const deadAcross = sim.share(sim.ids[n - 1], s => s === 'dead')
  sim.heal()
  const healedAt = sim.now
  let allAt
  sim.run(healedAt + 600_000, () => {
    if (sim.now % 1000 !== 0) return false
    const ok = sim.ids.every(id => sim.share(id, s => s === 'alive') === 1)
    if (ok) allAt = sim.now
    return ok
  })
  partition = { n, cutForS: 60, deadAcrossBeforeHeal: round(deadAcross, 3), everyoneAliveAfterHealS: allAt == null ? null : round((allAt - healedAt) / 1000, 1) }
  progress(`partition: ${JSON.stringify(partition)}`)
}

report('swim', { machine: { cpus: os.cpus().length, node: process.version }, options: opts, runs, partition, memberlist: { convergence9999: { 1000: 2.2, 10000: 2.6 } } },
  [
    ...runs.map(r => [`n ${r.n}, loss ${r.loss * 100} %`, `${r.death.knownBy9999S ?? '-'} / ${r.joinKnownBy9999S ?? '-'}`, 's', `death known by 99.99 % / join; suspected ${r.death.firstSuspicionS} s, declared ${r.death.firstDeclaredS} s, spread ${r.death.disseminationS} s; ${r.perNodePerSecond.messages} msg/s, ${r.perNodePerSecond.bytes} B/s per node; false: ${r.falseAlarms.suspicions} suspicions raised, ${r.falseAlarms.deadMembers} live members declared dead`]),
    ...(partition != null ? [[`partition of ${partition.n} for 60 s`, partition.everyoneAliveAfterHealS, 's', `after the heal, until every member sees every other alive (${Math.round(partition.deadAcrossBeforeHeal * 100)} % of the other side dead before it)`]] : [])
  ])
