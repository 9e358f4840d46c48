// The soak with churn, short (bench/soak.mjs runs it for 60 s here; 30 minutes with `npm run bench -- soak
// --duration 1800`): steady tasks through the bootstrap, a worker restarted every 15 s, a handoff every 30 s.
// Asserted: behaviour only — no task lost, the failover log shows no overlap, the churn happened.
import { describe, expect, it } from 'vitest'
import { runBench } from '../harness/cluster.js'

describe('soak with churn, 60 s (real processes)', () => {
  it('loses no task while workers restart and the service is handed off; never two holders', async () => {
    const { code, report: r, stderr } = await runBench('soak.mjs', ['--duration', '60', '--rate', '20', '--compute-rate', '1', '--restart-every', '15', '--handoff-every', '30', '--sample-every', '5'])
    expect(code, stderr.slice(-2000)).toBe(0)
    expect(r.outcomes.failed, JSON.stringify(r.outcomes.errors)).toBe(0)
    expect(r.outcomes.ok).toBeGreaterThan(600)
    expect(r.failover.overlaps).toBe(0)
    expect(r.churn.restarts.length).toBeGreaterThanOrEqual(3)
    expect(r.churn.handoffs.map((h: { status: number }) => h.status)).toEqual([200])
    // every worker ran tasks, and each restarted one came back with its connections
    expect(Object.keys(r.byWorker).sort()).toEqual(['soak-w1', 'soak-w2', 'soak-w3'])
    for (const name of ['soak-w1', 'soak-w2', 'soak-w3']) expect(r.perNode[name].connections.end).toBeGreaterThanOrEqual(3)
    console.log(`soak: ${r.outcomes.ok} tasks ok, restarts ${JSON.stringify(r.churn.restarts)}, handovers ${JSON.stringify(r.failover.handovers)}`)
  }, 240_000)
})
