import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pWaitFor from 'p-wait-for'
import { parseConfig } from '../../src/config/load.js'
import { P2PNode } from '../../src/p2p-node.js'
import { connect, createNodes, knows, teardown, type InProcessNodes } from '../harness/in-process.js'
import { silentLogger } from '../harness/fixtures.js'

// Whole nodes in this process over real TCP (the in-process tier): the node's parts, its lifecycle, tasks between
// nodes and the gauges read at scrape time, without spawning a process per node.

const gauge = async (node: P2PNode, name: string): Promise<number> => {
  const m = await node.metrics.registry.getSingleMetric(name)!.get()
  return m.values.reduce((s, v) => s + v.value, 0)
}

describe('three nodes in one process: a bootstrap and two workers', () => {
  let set: InProcessNodes
  beforeAll(async () => {
    set = await createNodes(3, i => i === 0 ? { role: 'bootstrap' } : { role: 'worker', capabilities: ['storage'] })
    const [boot, w1, w2] = set.nodes
    await connect(w1, boot)
    await connect(w2, boot)
    // the workers find each other through the bootstrap (full mesh)
    await pWaitFor(async () => await knows(w1, w2) && await knows(w2, w1), { timeout: 15_000 })
  })
  afterAll(async () => { await teardown(set) })

  it('each node runs, is ready, and says so on /readyz\'s gauge (read at scrape time)', async () => {
    for (const node of set.nodes) {
      expect(node.status).toBe('running')
      expect(node.health()).toMatchObject({ healthy: true, ready: true })
      expect(await gauge(node, 'p2p_node_healthy')).toBe(1)
      expect(await gauge(node, 'p2p_peers_connected')).toBe(2)
    }
  })

  it('a task from the bootstrap runs on a worker, by capability', async () => {
    const [boot, w1, w2] = set.nodes
    const record = await boot.submitter.submit({ type: 'echo', payload: new TextEncoder().encode('hello') })
    expect(record.state).toBe('done')
    expect(record.results[0]).toMatchObject({ ok: true, attempts: 1 })
    expect([w1.peerId, w2.peerId]).toContain(record.results[0].worker)
  })

  it('storage.put replicates through the handler\'s declared submit component: two copies on two workers', async () => {
    const [boot] = set.nodes
    const record = await boot.submitter.submit({ type: 'storage.put', payload: new TextEncoder().encode('a blob worth keeping twice') })
    expect(record.state).toBe('done')
    const answer = JSON.parse(record.results[0].output!) as { hash: string, replicas: number }
    expect(answer.replicas).toBe(2)
    const back = await boot.submitter.submit({ type: 'storage.get', payload: new TextEncoder().encode(answer.hash) })
    expect(back.results[0]).toMatchObject({ ok: true, output: 'a blob worth keeping twice' })
  })

  it('a worker\'s heartbeat carries its load and that it takes tasks', async () => {
    const [boot, w1] = set.nodes
    const view = async (): Promise<{ peerId: string, maxConcurrency?: number, load?: number } | undefined> =>
      (await boot.commands.peers([]) as Array<{ peerId: string, maxConcurrency?: number, load?: number }>).find(p => p.peerId === w1.peerId)
    expect(await view()).toMatchObject({ maxConcurrency: w1.config.tasks.maxConcurrency })
    // the tasks of the tests before have ended: a heartbeat after that says so (one is due every 500 ms)
    await pWaitFor(async () => (await view())?.load === 0, { interval: 100, timeout: 10_000 })
    expect(boot.submitter.candidates().find(c => c.peerId === w1.peerId)).toMatchObject({ healthy: true, alive: true })
  })
})

describe('lifecycle of one node', () => {
  it('stopped -> running -> stopped; readiness and its gauge follow; a second start or stop does nothing', async () => {
    const set = await createNodes(1)
    const [node] = set.nodes
    try {
      expect(node.status).toBe('running')
      // alone: healthy (running) but not ready (no peer)
      expect(node.health()).toMatchObject({ healthy: true, ready: false, reasons: ['no connected peers'] })
      expect(await gauge(node, 'p2p_node_healthy')).toBe(0)
      await node.start()
      expect(node.status).toBe('running')
      await node.stop()
      expect(node.status).toBe('stopped')
      expect(node.health()).toMatchObject({ healthy: false, ready: false })
      expect(node.health().reasons).toContain('not started')
      await node.stop()
      expect(node.status).toBe('stopped')
    } finally {
      await teardown(set)
    }
  })

  it('a part that cannot start (the port is taken) stops the parts started before it, and the node stays stopped', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const set = await createNodes(0)
    try {
      const config = parseConfig(`node:\n  role: worker\n  name: clash\n  listen_host: 127.0.0.1\n  listen_port: ${port}\n  data_dir: ${set.dir}/clash\nnetwork:\n  enable_mdns: false\nmetrics:\n  enabled: false\n`, { file: `${set.dir}/clash.yaml` })
      const node = await P2PNode.create(config, silentLogger())
      await expect(node.start()).rejects.toThrow()
      expect(node.status).toBe('stopped')
      expect(node.libp2p.status).toBe('stopped')
    } finally {
      blocker.close()
      await teardown(set)
    }
  })
})

describe('the task backlog a scaler reads (p2p_task_backlog{capability})', () => {
  it('counts tasks running and queued on the worker and those waiting at the submitter for room', async () => {
    const set = await createNodes(2, i => i === 0
      ? { role: 'bootstrap' }
      : { role: 'worker', capabilities: ['slow'], config: { tasks: { max_concurrency: 1, max_queue: 1, handlers: { slow: { command: ['sh', '-c', 'sleep 1; cat'] } } } } })
    const [boot, worker] = set.nodes
    try {
      await connect(worker, boot)
      const backlog = async (node: P2PNode): Promise<number> => (await node.metrics.taskBacklog.get()).values.find(v => v.labels.capability === 'slow')?.value ?? 0
      const all = Array.from({ length: 5 }, async (_, i) => await boot.submitter.submit({ type: 'slow', payload: new TextEncoder().encode(`t${i}`), timeoutMs: 20_000 }))
      // one runs and one queues on the worker (its window); the other three wait at the bootstrap
      await pWaitFor(async () => await backlog(worker) === 2 && await backlog(boot) === 3, { interval: 20, timeout: 10_000 })
      const records = await Promise.all(all)
      expect(records.map(r => r.state)).toEqual(['done', 'done', 'done', 'done', 'done'])
      expect(await backlog(worker) + await backlog(boot)).toBe(0)
    } finally {
      await teardown(set)
    }
  }, 60_000)
})
