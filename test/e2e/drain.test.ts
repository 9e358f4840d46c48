import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, runCli, waitAllSeeAll, type TestNode } from '../harness/cluster.js'

// Scale-in without losing a task (docs/guides/kubernetes.md, "Scale-in"): a worker told to leave — SIGTERM, as
// Kubernetes sends, or `p2p-node drain` — takes no new task, hands the queued ones back, finishes the ones it
// runs, and exits 0. Each task runs exactly once: the handler appends "<worker> <task id>" to a log as it ends.

describe('drain: a worker leaves with tasks running (real processes)', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let w: TestNode[]
  let log: string
  let api: string

  beforeAll(async () => {
    log = join(cluster.dir, 'ran.log')
    writeFileSync(log, '')
    boot = cluster.add({ name: 'boot', role: 'bootstrap', heartbeat: '500ms' })
    await boot.start()
    w = ['w1', 'w2', 'w3'].map(name => cluster.add({
      name,
      role: 'worker',
      bootstrap: [dnsAddr(boot)],
      capabilities: ['work'],
      heartbeat: '500ms',
      extra: {
        tasks: {
          max_concurrency: 2,
          handlers: {
            slow: { command: ['sh', '-c', `sleep 2; echo "${name} $P2P_TASK_ID" >> ${log}; cat`], capability: 'work', timeout: '20s' }
          }
        }
      }
    }))
    await Promise.all(w.map(async n => { await n.start() }))
    await waitAllSeeAll([boot, ...w])
    api = ((await boot.request('status')) as { metricsUrl: string }).metricsUrl
  })
  afterAll(async () => { await cluster.teardown() })

  /** submits `n` slow tasks through the bootstrap's API without waiting; their ids */
  const submit = async (n: number, tag: string): Promise<string[]> => await Promise.all(Array.from({ length: n }, async (_, i) => {
    const r = await fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'slow', payload: `${tag}-${i}`, wait: false, timeout: '20s' }) })
    return ((await r.json()) as { id: string }).id
  }))
  const records = async (ids: string[]): Promise<Array<{ id: string, state: string, results: Array<{ worker?: string, workerName?: string, ok: boolean }> }>> =>
    await Promise.all(ids.map(async id => await (await fetch(`${api}/api/tasks/${id}`)).json()))
  const ran = (): string[][] => readFileSync(log, 'utf8').trim().split('\n').filter(l => l !== '').map(l => l.split(' '))

  it('SIGTERM: the running tasks finish on the leaving worker, the queued ones run elsewhere, each exactly once, exit 0', async () => {
    const [w1] = w
    const ids = await submit(12, 'term')
    // w1 has started some of them (2 at once; more queue behind them)
    await pWaitFor(async () => await w1.metric('p2p_tasks_running') === 2, { interval: 50, timeout: 20_000 })
    const runningOnW1 = 2
    w1.kill('SIGTERM')
    // while it drains it says so: not ready, draining, and the network lists it as draining
    await pWaitFor(async () => ((await boot.peers()).find(p => p.peerId === w1.peerId) as { draining?: boolean } | undefined)?.draining === true, { interval: 50, timeout: 10_000 })
    const exit = await w1.exit
    expect(exit).toEqual({ code: 0, signal: null })
    await pWaitFor(async () => (await records(ids)).every(r => r.state === 'done' || r.state === 'failed'), { interval: 200, timeout: 60_000 })
    const done = await records(ids)
    expect(done.filter(r => r.state !== 'done')).toEqual([])
    // exactly once each: one line per task in the handlers' own log
    const lines = ran().filter(([, id]) => ids.includes(id))
    expect(lines.length).toBe(ids.length)
    expect(new Set(lines.map(([, id]) => id)).size).toBe(ids.length)
    // the two running on w1 when it was told to leave ended there, and w1 ran nothing it had not started
    expect(lines.filter(([who]) => who === 'w1').length).toBe(runningOnW1)
    expect(done.filter(r => r.results[0].workerName === 'w1').length).toBe(runningOnW1)
    const w1log = readFileSync(w1.logFile, 'utf8')
    expect(w1log).toMatch(/"msg":"draining: taking no new task/)
    expect(w1log).toMatch(/"msg":"drained"/)
  }, 120_000)

  it('p2p-node drain: the CLI waits for the drain and says how it went; the node exits 0', async () => {
    const w2 = w[1]
    const ids = await submit(6, 'cli')
    await pWaitFor(async () => await w2.metric('p2p_tasks_running') > 0, { interval: 50, timeout: 20_000 })
    const out = await runCli(['drain', '--config', w2.configFile])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(/^drained in \d+\.\ds: every task it ran or took has ended; the node has stopped/)
    expect(await w2.exit).toEqual({ code: 0, signal: null })
    await pWaitFor(async () => (await records(ids)).every(r => r.state === 'done' || r.state === 'failed'), { interval: 200, timeout: 60_000 })
    expect((await records(ids)).filter(r => r.state !== 'done')).toEqual([])
    const lines = ran().filter(([, id]) => ids.includes(id))
    expect(lines.length).toBe(ids.length)
    expect(new Set(lines.map(([, id]) => id)).size).toBe(ids.length)
  }, 120_000)
})
