import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, runHelper, waitAllSeeAll, type TestNode } from '../harness/cluster.js'

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

/** runs test/helpers/raw-task-client.mjs with `opts`, calling `during` every 250 ms while it runs */
async function rawClient (opts: Record<string, unknown>, during?: () => void): Promise<any> {
  const timer = during != null ? setInterval(during, 250) : undefined
  try { return await runHelper('raw-task-client.mjs', { pv: 'p2p-network', ...opts }) } finally { clearInterval(timer) }
}

// The task stream as a hostile submitter uses it: answers never read, task ids chosen to collide with another
// peer's, claims past this worker's policy. The worker must stay bounded and keep serving honest submitters.
describe('a hostile submitter on the task stream (real processes)', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let w: TestNode

  beforeAll(async () => {
    boot = cluster.add({ name: 'ht-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    w = cluster.add({ name: 'ht-w', role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['compute'] })
    w.updateConfig(cfg => {
      cfg.node.pass_env = ['P2P_PASSED_FOR_TEST']
      cfg.tasks = { ...cfg.tasks, handlers: { envdump: { command: ['env'], capability: 'compute' } } }
    })
    // the node's environment holds a secret; a handler that runs another peer's task must not see it
    process.env.P2P_SECRET_FOR_TEST = 'do-not-leak'
    process.env.P2P_PASSED_FOR_TEST = 'passed'
    try { await w.start() } finally {
      delete process.env.P2P_SECRET_FOR_TEST
      delete process.env.P2P_PASSED_FOR_TEST
    }
    await waitAllSeeAll([boot, w])
  })
  afterAll(async () => { await cluster.teardown() })

  it('answers never read: the stream is paused, the worker\'s memory stays bounded, honest tasks still run', async () => {
    const pid = w.proc!.pid!
    const before = rssMiB(pid)
    let peak = before
    const honest: any[] = []
    const summary = await rawClient({ mode: 'flood', target: w.addr, count: 800, size: 512 * 1024, seconds: 15, dataDir: join(cluster.dir, 'flood') }, () => {
      peak = Math.max(peak, rssMiB(pid))
      void boot.request('task', ['echo', `honest-${honest.length}`, '--timeout', '10s']).then(r => honest.push(r), err => honest.push({ state: 'error', error: err.message }))
    })
    console.log(`paused ${await w.metric('p2p_task_streams_paused_total')}; executed ${await w.metric('p2p_tasks_executed_total{type="echo",outcome="ok"}')}`)
    console.log(`unread answers: ${summary.sent} requests of 512 KiB went out (stalled: ${summary.stalled}); worker RSS ${Math.round(before)} -> peak ${Math.round(peak)} MiB; ${honest.length} honest tasks meanwhile`)
    // the worker stopped reading: most of the 400 MiB never left the sender
    expect(summary.stalled).toBe(true)
    expect(summary.sent).toBeLessThan(200)
    expect(await w.metric('p2p_task_streams_paused_total')).toBeGreaterThanOrEqual(1)
    expect(peak - before).toBeLessThan(150)
    expect(peak).toBeLessThan(512)
    expect(honest.length).toBeGreaterThan(20)
    expect(honest.filter(r => r.state !== 'done')).toEqual([])
  }, 120_000)

  it('handlers get an allowlisted environment; the data dir and what is written in it are private', async () => {
    const r = await boot.request('task', ['envdump', '']) as any
    expect(r.state).toBe('done')
    const env = r.results[0].output as string
    expect(env).toMatch(/^PATH=/m)
    expect(env).toMatch(/^P2P_PASSED_FOR_TEST=passed$/m)
    expect(env).toMatch(/^P2P_TASK_ID=/m)
    expect(env).not.toContain('do-not-leak')
    expect(env).not.toMatch(/^LOG_LEVEL=/m)
    expect(statSync(w.dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(w.dataDir, 'peer.key')).mode & 0o777).toBe(0o600)
  })

  it('a task id is the submitter\'s own: another peer cannot plant or read an answer by reusing it', async () => {
    const evil = await rawClient({ mode: 'ask', target: w.addr, dataDir: join(cluster.dir, 'evil'), requests: [{ id: 'demo-1', payload: 'EVIL' }] })
    const good = await rawClient({ mode: 'ask', target: w.addr, dataDir: join(cluster.dir, 'good'), requests: [{ id: 'demo-1', payload: 'GOOD' }, { id: 'demo-1', payload: 'GOOD' }, { id: 'demo-1', payload: 'OTHER' }, { id: '../../etc', payload: 'x' }, { id: '$(reboot)', payload: 'x' }] })
    expect(evil.answers[0]).toMatchObject({ status: 'OK', output: 'EVIL' })
    const [first, retry, changed, path, shell] = good.answers
    expect(first).toMatchObject({ status: 'OK', output: 'GOOD', duplicate: false })
    // the same request again is a retry: the first answer, marked a duplicate
    expect(retry).toMatchObject({ status: 'OK', output: 'GOOD', duplicate: true })
    // the same id with another payload is not a retry
    expect(changed.status).toBe('REJECTED')
    expect(changed.error).toMatch(/was used for another request/)
    // ids outside the API's own characters are refused
    for (const bad of [path, shell]) expect(bad).toMatchObject({ status: 'REJECTED', error: expect.stringMatching(/a task id is 1-128 letters/) })
  })
})
