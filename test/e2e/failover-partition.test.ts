import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, TestNode } from '../harness/cluster.js'
import { handovers, intervals, overlaps, readStamps, termRegressions } from '../harness/failover-log.js'
import { canUseNetns, Hosts, type Host } from '../harness/netns.js'

// Three members, each a host of its own (network namespace, own IP) on a private bridge, all started from ONE
// file in the seed p2p-failover format: each picks its own `ddns` entry by its address. The defaults apply
// (200 ms beats, 3 misses, 1 s lease, 5 s preempt delay). A partition is a host's link going down.
describe.skipIf(!canUseNetns())('failover under network partitions, seed-format config (skipped unless root with ip netns)', () => {
  const cluster = new Cluster()
  let hosts: Hosts
  const members: Array<{ name: string, host: Host, node: TestNode }> = []
  let log: string
  const stamps = (): ReturnType<typeof readStamps> => readStamps(log)
  const activeNow = (): string | undefined => stamps().filter(s => s.ms > Date.now() - 150).at(-1)?.who
  const noOverlap = (): void => {
    const list = intervals(stamps())
    expect(overlaps(list).map(p => JSON.stringify(p))).toEqual([])
    expect(termRegressions(list)).toEqual([])
  }
  const byName = (name: string): { name: string, host: Host, node: TestNode } => members.find(m => m.name === name)!
  const running = async (name: string): Promise<boolean> => ((await byName(name).node.request('failover')) as any[])[0].running

  beforeAll(async () => {
    hosts = new Hosts('f')
    const dir = cluster.dir
    log = join(dir, 'program.log')
    const program = join(dir, 'program.sh')
    writeFileSync(program, `trap 'exit 0' TERM\nwhile :; do echo "$P2P_FAILOVER_NODE $(date +%s%3N) $P2P_FAILOVER_TERM" >> ${log}; sleep 0.02; done\n`)
    const entries = [['node-a', 300], ['node-b', 200], ['node-c', 100]].map(([name, priority]) => ({ name: name as string, priority: priority as number, host: hosts.add() }))
    // the seed format, plus native sections it allows beside it: a short bootstrap backoff so a healed host
    // redials at once, and the log level the harness reads
    writeFileSync(join(dir, 'p2p-failover.config.yaml'), `config_metadata:
  name: singleton
ddns:
${entries.map(e => `  - name: ${e.name}\n    ip: ${e.host.ip}\n    port: 4001\n    priority: ${e.priority}`).join('\n')}
execution:
  instructions: sh ${program}
network:
  bootstrap_max_backoff: 1s
logging:
  level: debug
`)
    for (const e of entries) {
      const dataDir = join(dir, 'data', e.name)
      mkdirSync(dataDir, { recursive: true })
      const node = new TestNode({ name: e.name, role: 'worker' }, join(dir, 'p2p-failover.config.yaml'), dataDir, hosts.wrap(e.host))
      cluster.nodes.push(node)
      members.push({ name: e.name, host: e.host, node })
    }
    await Promise.all(members.map(async m => { await m.node.start() }))
  })
  afterAll(async () => {
    await cluster.teardown()
    hosts?.destroy()
  })

  it('each member found its own entry; the highest priority runs the program', async () => {
    for (const m of members) expect(m.node.status).toMatchObject({ name: m.name, role: 'worker' })
    await pWaitFor(() => activeNow() === 'node-a', { interval: 50, timeout: { milliseconds: 60_000, message: `no active\n${cluster.logs()}` } })
    expect(await running('node-b')).toBe(false)
    noOverlap()
  })

  it('2/1 split with the active in the majority: nothing moves; the cut-off standby does not start', async () => {
    hosts.setLink(byName('node-c').host, false)
    // longer than detection + lease: the minority has had every chance to (wrongly) start
    await new Promise(resolve => setTimeout(resolve, 3000))
    expect(activeNow()).toBe('node-a')
    expect(await running('node-c')).toBe(false)
    hosts.setLink(byName('node-c').host, true)
    noOverlap()
  })

  it('the active is isolated: it fences itself before the majority elects the next member', async () => {
    const cutAt = Date.now()
    hosts.setLink(byName('node-a').host, false)
    await pWaitFor(() => activeNow() === 'node-b', { interval: 20, timeout: { milliseconds: 30_000, message: `no takeover\n${cluster.logs()}` } })
    const lastA = Math.max(...stamps().filter(s => s.who === 'node-a').map(s => s.ms))
    const firstB = stamps().find(s => s.who === 'node-b' && s.ms >= cutAt)!.ms
    console.log(`partition: isolated active stopped ${lastA - cutAt} ms after the cut; the majority's program started ${firstB - cutAt} ms after it (gap ${firstB - lastA} ms)`)
    expect(lastA).toBeLessThan(firstB)
    expect(await running('node-a')).toBe(false)
    noOverlap()
  })

  it('heal: the isolated member rejoins as a standby, then takes its place back (preempt delay) without overlap', async () => {
    hosts.setLink(byName('node-a').host, true)
    await pWaitFor(() => activeNow() === 'node-a', { interval: 50, timeout: { milliseconds: 60_000, message: `no preemption after heal\n${cluster.logs()}` } })
    noOverlap()
  })

  it('every member cut off from every other (1/1/1): no quorum anywhere, the program stops everywhere', async () => {
    for (const m of members) hosts.setLink(m.host, false)
    const cutAt = Date.now()
    await pWaitFor(async () => !(await running('node-a')), { interval: 50, timeout: 30_000 })
    await new Promise(resolve => setTimeout(resolve, 3000))
    expect(stamps().filter(s => s.ms > cutAt + 1500)).toEqual([])
    for (const m of members) expect(await running(m.name)).toBe(false)
    for (const m of members) hosts.setLink(m.host, true)
    await pWaitFor(() => activeNow() === 'node-a', { interval: 50, timeout: { milliseconds: 60_000, message: `no active after heal\n${cluster.logs()}` } })
    noOverlap()
    console.log(`partition: holders ${intervals(stamps()).map(i => `${i.who}@${i.term}`).join(' -> ')}; gaps ${handovers(intervals(stamps())).map(h => h.gapMs).join(', ')} ms`)
  })
})
