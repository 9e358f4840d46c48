import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, keygen, type TestNode } from '../harness/cluster.js'
import { intervals, overlaps } from '../harness/failover-log.js'

// A counter program with a state file (as a validator keeps its tower): it starts from the file and counts up;
// state sync carries the file to the standbys. Every member of the group is stopped and started again: the
// term must go on from where it was (it is the program's fencing token), the new active's snapshots must be
// taken by the standbys, and a takeover after that must start from the newest count, not from before the restart.
// Before terms were kept on disk, the term started at 1 again and the standbys refused every new snapshot as
// stale (they held the old run's higher term), so a takeover restored the count from before the restart.
const COUNTER = `
n=$(cat "$STATE" 2>/dev/null || echo 0)
trap 'echo "$n" > "$STATE"; exit 0' TERM
while :; do
  n=$((n+1))
  echo "$n" > "$STATE.tmp"; mv "$STATE.tmp" "$STATE"
  echo "$WHO $(date +%s%3N) $P2P_FAILOVER_TERM $n" >> "$LOG"
  sleep 0.05
done`

describe('failover terms never go backwards across a full restart (real processes)', () => {
  const cluster = new Cluster()
  const log = join(cluster.dir, 'counter.log')
  let w: TestNode[]
  const stamps = (): Array<{ who: string, ms: number, term: number, n: number }> => (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter(l => l.split(' ').length === 4).map(l => {
    const [who, ms, term, n] = l.split(' ')
    return { who, ms: Number(ms), term: Number(term), n: Number(n) }
  })
  const running = (): { who: string, term: number, n: number } | undefined => stamps().filter(s => s.ms > Date.now() - 300).at(-1)

  beforeAll(async () => {
    const boot = cluster.add({ name: 'fr-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    const ids = ['w1', 'w2', 'w3'].map(name => keygen(join(cluster.dir, `${name}-keys`)))
    w = ['w1', 'w2', 'w3'].map((name, i) => {
      const n = cluster.add({
        name: `fr-${name}`, role: 'worker', bootstrap: [dnsAddr(boot)],
        extra: {
          failover: {
            services: [{
              name: 'ctr', priority: 300 - i * 100, group_size: 3, members: ids.map(x => x.peerId), heartbeat_interval: '100ms', lease: '1s', preempt_delay: '1s',
              command: COUNTER, env: { WHO: name, LOG: log, STATE: join(cluster.dir, `state-${name}`) },
              state: { path: join(cluster.dir, `state-${name}`), interval: '100ms' }
            }]
          }
        }
      })
      n.updateConfig(cfg => { cfg.node.identity_file = ids[i].identityFile })
      return n
    })
    await Promise.all(w.map(async n => { await n.start() }))
    await pWaitFor(() => running()?.who === 'w1' && running()!.n > 20, { interval: 100, timeout: 60_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  it('after every member restarts: a higher term, snapshots taken, and a takeover continues the count', async () => {
    // a handoff first, so that the group has been through more than one term
    await w[0].request('failover', ['handoff', 'ctr'])
    await pWaitFor(() => running() != null && running()!.who !== 'w1', { interval: 50, timeout: 30_000 })
    await pWaitFor(() => running()?.who === 'w1', { interval: 100, timeout: 30_000 })
    const before = stamps()
    const termBefore = Math.max(...before.map(s => s.term))
    const countBefore = Math.max(...before.map(s => s.n))
    expect(termBefore).toBeGreaterThanOrEqual(3)

    // every member down (gracefully: the final state goes out), then all up again
    await Promise.all(w.map(async n => { await n.stop() }))
    const restartedAt = Date.now()
    await Promise.all(w.map(async n => { await n.start() }))
    await pWaitFor(() => { const r = running(); return r != null && r.who === 'w1' && stamps().some(s => s.ms > restartedAt && s.n > countBefore + 20) }, { interval: 100, timeout: 60_000 })
    const after = stamps().filter(s => s.ms > restartedAt)
    // the term goes on above every term of the run before; the count goes on from the file
    expect(Math.min(...after.map(s => s.term))).toBeGreaterThan(termBefore)
    expect(Math.min(...after.map(s => s.n))).toBeGreaterThan(countBefore)
    // the standbys take the new active's snapshots (none refused as stale)
    await pWaitFor(async () => (await w[1].metric('p2p_failover_state_snapshots_total{service="ctr",outcome="kept"}')) > 0, { interval: 100, timeout: 10_000 })
    for (const n of w.slice(1)) expect(await n.metric('p2p_failover_state_snapshots_total{service="ctr",outcome="stale"}')).toBe(0)

    // the active dies: the takeover starts from the newest count it was sent, not from before the restart
    const last = running()!
    w[0].proc!.kill('SIGKILL')
    await pWaitFor(() => { const r = running(); return r != null && r.who !== 'w1' }, { interval: 50, timeout: 30_000 })
    const takeover = stamps().filter(s => s.who !== 'w1' && s.ms > restartedAt)[0]
    expect(takeover.term).toBeGreaterThan(last.term)
    // at most a few replication intervals behind the last count seen, and far above the count before the restart
    expect(takeover.n).toBeGreaterThan(last.n - 30)
    expect(takeover.n).toBeGreaterThan(countBefore + 20)
    expect(overlaps(intervals(stamps().map(({ who, ms, term }) => ({ who, ms, term }))))).toEqual([])
  })
})
