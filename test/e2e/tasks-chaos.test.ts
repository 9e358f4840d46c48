import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, describe, expect, it } from 'vitest'
import { ControlClient } from '../../src/control/client.js'
import { Cluster, dnsAddr, type TestNode } from '../harness/cluster.js'

const TASKS = 2000

describe('tasks under faults', () => {
  const cluster = new Cluster()
  afterAll(async () => { await cluster.teardown() })

  it(`${TASKS} tasks in flight, one worker SIGKILLed midway: every task gets exactly one correct result`, async () => {
    const boot = cluster.add({ name: 'c-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    // each execution appends the task id to the worker's own log, which survives the worker's death
    const workers: TestNode[] = []
    for (const name of ['c-w1', 'c-w2', 'c-w3']) {
      const dataDir = join(cluster.dir, name)
      workers.push(cluster.add({
        name, role: 'worker', capabilities: ['rec'], bootstrap: [dnsAddr(boot)],
        extra: { tasks: { max_concurrency: 8, max_queue: TASKS, handlers: { rec: { command: ['sh', '-c', 'echo "$P2P_TASK_ID" >> "$REC"; IFS= read -r x; printf %s "$x"'], env: { REC: join(dataDir, 'executions.log') } } } } }
      }))
    }
    await Promise.all(workers.map(async n => { await n.start() }))
    await pWaitFor(async () => (await boot.request('capabilities') as any).taskTypes.rec === 3, { interval: 200, timeout: 60_000 })

    const client = await ControlClient.connect(boot.socket)
    let done = 0
    const results = await (async () => {
      const all = Array.from({ length: TASKS }, async (_, i) => {
        const r = await client.request('task', ['rec', `payload-${i}`, '--timeout', '10s', '--retries', '5']) as any
        done++
        return r
      })
      // kill a worker while most tasks are still in flight
      await pWaitFor(() => done >= TASKS / 5, { interval: 20, timeout: 120_000 })
      workers[1].kill('SIGKILL')
      return await Promise.all(all)
    })()
    client.close()

    expect(results.length).toBe(TASKS)
    const failed = results.filter(r => r.state !== 'done')
    const reasons = new Map<string, number>()
    for (const r of failed) reasons.set(String(r.error).replace(/[0-9a-f-]{36}/g, "ID"), (reasons.get(String(r.error)) ?? 0) + 1)
    expect([...reasons.entries()]).toEqual([])
    results.forEach((r, i) => {
      expect(r.results.length).toBe(1)
      expect(r.results[0].output).toBe(`payload-${i}`)
    })
    expect(new Set(results.map(r => r.id)).size).toBe(TASKS)

    const executions = new Map<string, number>()
    for (const n of workers) {
      let lines: string[] = []
      try { lines = readFileSync(join(n.dataDir, 'executions.log'), 'utf8').split('\n').filter(Boolean) } catch {}
      for (const id of lines) executions.set(id, (executions.get(id) ?? 0) + 1)
    }
    for (const r of results) expect(executions.get(r.id) ?? 0).toBeGreaterThanOrEqual(1)
    const twice = [...executions.values()].filter(n => n > 1).length
    const retried = results.filter(r => r.attempts > 1).length
    console.log((await boot.metrics()).split("\n").filter(l => l.startsWith("p2p_task_retries_total")).join(" "))
    console.log(`chaos: ${TASKS} tasks, ${retried} retried, ${twice} executed more than once (at-least-once execution, exactly-once result)`)
    const m = await boot.metrics()
    expect(m).toMatch(/^p2p_task_retries_total\{reason="(disconnect|timeout)"\} [1-9]/m)
  })

  it('a compute load that saturates the workers does not stop heartbeats: no member is marked gone', async () => {
    const boot = cluster.add({ name: 's-boot', role: 'bootstrap', mesh: false, heartbeat: '500ms', misses: 3 })
    await boot.start()
    const workers = ['s-w1', 's-w2'].map(name => cluster.add({
      name, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: '500ms', misses: 3,
      extra: { tasks: { compute_threads: 2, max_concurrency: 4 } }
    }))
    await Promise.all(workers.map(async n => { await n.start() }))
    await pWaitFor(async () => (await boot.request('capabilities') as any).taskTypes.compute === 2, { interval: 200, timeout: 60_000 })

    // each task is seconds of SHA-256 work: on the event loop it would stop heartbeats for longer than 3 x 500ms
    let maxAge = 0
    let running = true
    const watch = (async () => {
      while (running) {
        for (const p of await boot.peers()) if (p.role === 'worker') maxAge = Math.max(maxAge, p.lastHeartbeatAgeMs ?? 0)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
    const tasks = await Promise.all(Array.from({ length: 6 }, async (_, i) => await boot.request('task', ['compute', `load-${i}`, '--cost', '800000', '--timeout', '120s']) as any))
    running = false
    await watch
    expect(tasks.every(t => t.state === 'done')).toBe(true)
    const ran = new Set(tasks.map(t => t.results[0].worker))
    expect(ran.size).toBe(2)
    for (const n of [boot, ...workers]) expect(await n.metrics()).toMatch(/^p2p_members_gone_total 0$/m)
    console.log(`compute saturation: largest heartbeat age seen at the bootstrap ${maxAge} ms (gone after 1500 ms)`)
    expect(maxAge).toBeLessThan(1500)
  })
})
