import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, runHelper, waitAllSeeAll, type TestNode } from '../harness/cluster.js'

async function runGhosts (cluster: Cluster, targets: TestNode[], count: number): Promise<{ peerIds: string[], published: number }> {
  return await runHelper('ghost-members.mjs', {
    targets: targets.map(n => n.addr), pv: 'p2p-network', count, types: ['echo', 'compute'], capabilities: ['compute'], dataDir: join(cluster.dir, 'ghosts')
  })
}

// Ten made-up members from one throw-away process: each claims the best a heartbeat can (interval and misses
// 2^32-1, capacity 2^32-1) and then leaves. Before the claims were bounded and unreachable members were kept off
// the schedule, they stayed alive for good and drew the tasks: half of all tasks failed after 4 attempts.
describe('ghost members cannot take the fleet\'s tasks (real processes)', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let w: TestNode[]
  let ghosts: { peerIds: string[], published: number }

  beforeAll(async () => {
    boot = cluster.add({ name: 'g-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    w = ['g-w1', 'g-w2'].map(name => cluster.add({ name, role: 'worker', bootstrap: [dnsAddr(boot)] }))
    await Promise.all(w.map(async n => { await n.start() }))
    await waitAllSeeAll([boot, ...w])
    ghosts = await runGhosts(cluster, [boot, ...w], 10)
    // every node has heard of every ghost
    await pWaitFor(async () => {
      for (const n of [boot, ...w]) {
        const ids = new Set((await n.peers()).map(p => p.peerId))
        if (!ghosts.peerIds.every(id => ids.has(id))) return false
      }
      return true
    }, { interval: 200, timeout: 30_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  it('their claims are clamped to this node\'s policy', async () => {
    expect(ghosts.published).toBe(10)
    const seen = (await boot.peers()).filter(p => ghosts.peerIds.includes(p.peerId))
    expect(seen).toHaveLength(10)
    for (const g of seen) {
      expect(g.maxConcurrency).toBeLessThanOrEqual(1024)
      expect(g.queueCapacity).toBeLessThanOrEqual(65_536)
    }
  })

  it('100 echo tasks from the bootstrap and from a worker: at least 99 succeed, none on a ghost', async () => {
    const retried = async (): Promise<number> => await boot.metric('p2p_task_retries_total{reason="disconnect"}') + await w[0].metric('p2p_task_retries_total{reason="disconnect"}')
    const retriedBefore = await retried()
    const results: any[] = []
    for (let round = 0; round < 10; round++) {
      results.push(...await Promise.all(Array.from({ length: 10 }, async (_, i) =>
        await (i % 2 === 0 ? boot : w[0]).request('task', ['echo', `r${round}-${i}`, '--timeout', '10s']))))
    }
    const done = results.filter(r => r.state === 'done')
    console.log(`ghost members: ${done.length}/100 done; attempts ${results.reduce((a, r) => a + r.attempts, 0)}; failed: ${JSON.stringify(results.filter(r => r.state !== 'done').map(r => r.error))}`)
    expect(done.length).toBeGreaterThanOrEqual(99)
    // not one attempt went to a member that cannot be reached (before: 14 of 114 attempts, and a task lost)
    expect(await retried() - retriedBefore).toBe(0)
    const workers = new Set(results.flatMap(r => r.results.map((x: any) => x.worker)))
    for (const g of ghosts.peerIds) expect(workers.has(g)).toBe(false)
  })
})
