// A rolling restart as a StatefulSet does it: every worker stopped (SIGTERM) and started again with its own
// identity and data dir, one at a time, highest ordinal first, each back in the network before the next goes —
// under a steady task load and with a failover service running. Nothing may be lost and the service must
// never run twice at once.
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, waitAllSeeAll, type TestNode } from '../../src/testing/cluster.js'
import { handovers, intervals, overlaps, readStamps, stampingProgram, termRegressions } from '../../src/testing/failover-log.js'

describe('rolling restart of three workers under load (real processes)', () => {
  const cluster = new Cluster()
  const log = join(cluster.dir, 'prog.log')
  let boot: TestNode
  let w: TestNode[] = []

  beforeAll(async () => {
    boot = cluster.add({ name: 'r-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    w = [300, 200, 100].map((priority, i) => cluster.add({
      name: `r-w${i}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)],
      extra: {
        failover: {
          services: [{ name: 'prog', priority, group_size: 3, heartbeat_interval: '100ms', lease: '1s', preempt_delay: '1s', env: { WHO: `r-w${i}` }, command: stampingProgram(log) }]
        }
      }
    }))
    await Promise.all(w.map(async n => { await n.start() }))
    await waitAllSeeAll([boot, ...w])
    await pWaitFor(() => readStamps(log).some(s => s.who === 'r-w0'), { interval: 100, timeout: 30_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  it('every task accepted during the rollout ends with its result; the service never runs twice and moves at most twice', async () => {
    // 20 tasks a second through the bootstrap's API, each waiting for its result
    const api = `${boot.status!.metricsUrl!}/api/tasks`
    const outcomes: Array<Promise<string>> = []
    let n = 0
    const submit = async (): Promise<string> => {
      const res = await fetch(api, { method: 'POST', body: JSON.stringify({ type: 'echo', payload: `r${n++}`, timeout: '5s', retries: 5 }) })
      const body = await res.json() as { state?: string, error?: string }
      return res.status === 200 ? body.state ?? 'none' : `http ${res.status}: ${body.error ?? ''}`
    }
    const load = setInterval(() => { outcomes.push(submit()) }, 50)
    const started = Date.now()
    try {
      // highest ordinal first, as a StatefulSet rolls
      for (const node of [...w].reverse()) {
        await node.stop()
        await node.start()
        await pWaitFor(async () => (await boot.peers()).find(p => p.peerId === node.peerId)?.state === 'alive', { interval: 100, timeout: 30_000 })
        // the rolled worker takes tasks again before the next one goes
        await pWaitFor(async () => ((await boot.request('capabilities')) as any).taskTypes.echo === 3, { interval: 100, timeout: 30_000 })
        // as minReadySeconds: it serves a while before the next one goes
        await new Promise(resolve => setTimeout(resolve, 2000))
      }
      // the preferred member holds the service again at the end
      await pWaitFor(() => readStamps(log).filter(s => s.ms > Date.now() - 300).at(-1)?.who === 'r-w0', { interval: 100, timeout: 30_000 })
    } finally {
      clearInterval(load)
    }
    const results = await Promise.all(outcomes)
    const rollout = Date.now() - started
    const failed = results.filter(r => r !== 'done')
    expect(results.length).toBeGreaterThan(150)
    expect(failed).toEqual([])
    const list = intervals(readStamps(log))
    expect(overlaps(list).map(p => JSON.stringify(p))).toEqual([])
    expect(termRegressions(list)).toEqual([])
    // moves during the rollout (at start-up the members may elect one another before the preferred one preempts)
    const moves = handovers(list).filter(m => m.at >= started)
    expect(moves.length, JSON.stringify({ moves, list })).toBeLessThanOrEqual(2)
    console.log(`rolling restart: ${results.length} tasks, 0 failed, rollout ${rollout} ms, service moves ${JSON.stringify(moves.map(m => `${m.from}->${m.to} gap ${m.gapMs} ms`))}`)
  }, 240_000)
})
