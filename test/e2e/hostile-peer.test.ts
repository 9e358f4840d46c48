import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, keygen, runHelper, waitAllSeeAll, type TestNode } from '../harness/cluster.js'
import { intervals, overlaps, readStamps, stampingProgram, termRegressions } from '../harness/failover-log.js'

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

// An honest network (bootstrap + 3 workers running a failover service whose members are allowlisted, and a
// stream of tasks) under a hostile peer that floods, forges, sends bad frames and hoards streams (see
// test/helpers/hostile-peer.mjs). It must keep serving tasks, keep exactly one active, and stay bounded.
describe('a hostile peer does not stop the honest network (real processes)', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let w: TestNode[]
  let log: string
  const ids: Array<{ peerId: string, identityFile: string }> = []

  beforeAll(async () => {
    log = join(cluster.dir, 'program.log')
    for (const name of ['h1', 'h2', 'h3']) ids.push(keygen(join(cluster.dir, `${name}-keys`)))
    boot = cluster.add({ name: 'h-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    w = ['h1', 'h2', 'h3'].map((name, i) => {
      const n = cluster.add({
        name: `h-${name}`, role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['work'],
        extra: {
          failover: {
            services: [{
              name: 'prog', priority: 300 - i * 100, group_size: 3, heartbeat_interval: '200ms', preempt_delay: '2s',
              members: ids.map(x => x.peerId), command: stampingProgram(log), env: { WHO: name }
            }]
          }
        }
      })
      n.updateConfig(cfg => { cfg.node.identity_file = ids[i].identityFile })
      return n
    })
    await Promise.all(w.map(async n => { await n.start() }))
    await waitAllSeeAll([boot, ...w])
    await pWaitFor(() => readStamps(log).some(s => s.who === 'h1' && s.ms > Date.now() - 100), { interval: 50, timeout: 30_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  it('under attack for 15 s: every task answered, one active throughout, attacks counted, memory bounded', async () => {
    const pids = [boot, ...w].map(n => n.proc!.pid!)
    const rssBefore = pids.map(rssMiB)
    const invalidBefore = await Promise.all(w.map(async n => await n.metric('p2p_invalid_messages_total')))
    const attackStart = Date.now()
    const hostile = runHelper('hostile-peer.mjs', {
      targets: [boot, ...w].map(n => n.addr), pv: 'p2p-network', service: 'prog', victims: w.map(n => n.peerId), seconds: 15, dataDir: join(cluster.dir, 'hostile')
    })

    // honest work while it runs: tasks submitted by the bootstrap, one after another
    const results: any[] = []
    let peakRss = rssBefore.slice()
    while (Date.now() - attackStart < 15_000) {
      results.push(await boot.request('task', ['echo', `t${results.length}`, '--capability', 'work', '--timeout', '10s']))
      peakRss = peakRss.map((p, i) => Math.max(p, rssMiB(pids[i])))
    }
    const summary = await hostile
    const rssAfter = pids.map(rssMiB)

    expect(results.length).toBeGreaterThan(10)
    expect(results.filter(r => r.state !== 'done')).toEqual([])
    // exactly one active the whole time, and it never moved: forged releases and a forged ACTIVE with the
    // highest term (from a non-member) changed nothing
    const during = intervals(readStamps(log)).filter(i => i.end >= attackStart)
    expect(overlaps(intervals(readStamps(log)))).toEqual([])
    expect(termRegressions(intervals(readStamps(log)))).toEqual([])
    // (the stamping shell may pause > 150 ms on two loaded cores, which splits an interval: same holder, same term)
    expect([...new Set(during.map(i => `${i.who}@${i.term}`))], JSON.stringify(during)).toEqual([`h1@${during[0].term}`])
    const st = (await w[0].request('failover') as any[])[0]
    expect(st.running).toBe(true)
    expect(st.members.map((m: any) => m.peerId)).not.toContain(summary.peerId)
    // every kind of attack reached the honest nodes and was counted as refused
    const invalidAfter = await Promise.all(w.map(async n => await n.metric('p2p_invalid_messages_total')))
    console.log(`hostile peer: refused by reason ${JSON.stringify(await Promise.all(w.map(async n => (await n.metrics()).split('\n').filter(l => l.startsWith('p2p_invalid_messages_total')))))}`)
    const refused = invalidAfter.reduce((a, b) => a + b, 0) - invalidBefore.reduce((a, b) => a + b, 0)
    expect(refused).toBeGreaterThan(100)
    expect(await w[0].metric('p2p_invalid_messages_total{reason="not_member"}') + await w[1].metric('p2p_invalid_messages_total{reason="not_member"}')).toBeGreaterThan(0)
    expect(await w[0].metric('p2p_invalid_messages_total{reason="wrong_sender"}') + await w[1].metric('p2p_invalid_messages_total{reason="wrong_sender"}') + await w[2].metric('p2p_invalid_messages_total{reason="wrong_sender"}')).toBeGreaterThan(0)
    // the stream churn met the per-peer stream-open limit
    expect((await Promise.all(w.map(async n => await n.metric('p2p_rate_limited_total{what="task_stream"}')))).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    // memory: bounded, not growing with the attack's size
    const growth = rssAfter.map((r, i) => r - rssBefore[i])
    console.log(`hostile peer: ${JSON.stringify(summary)}`)
    console.log(`hostile peer: ${results.length} tasks all done; ${refused} messages refused by the workers; RSS MiB before/peak/after: ${rssBefore.map((b, i) => `${Math.round(b)}/${Math.round(peakRss[i])}/${Math.round(rssAfter[i])}`).join(', ')}`)
    for (const g of growth) expect(g).toBeLessThan(150)
  }, 120_000)
})
