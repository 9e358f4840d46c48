// A rolling restart as a StatefulSet does it (bench/rolling.mjs, the script operators run; `--k8s` rolls a
// cluster): every worker stopped (SIGTERM) and started again with its own identity and data dir, one at a time,
// highest ordinal first, each back in the network before the next goes — under a steady task load and with a
// failover service running. Asserted: behaviour only — nothing lost, the service never runs twice at once and
// moves at most twice.
import { describe, expect, it } from 'vitest'
import { runBench } from '../harness/cluster.js'

describe('rolling restart of three workers under load (real processes)', () => {
  it('every task accepted during the rollout ends with its result; the service never runs twice and moves at most twice', async () => {
    const { code, report: r, stderr } = await runBench('rolling.mjs', ['--workers', '3', '--rate', '20', '--min-ready', '2'])
    expect(code, stderr.slice(-2000)).toBe(0)
    expect(r.tasks.accepted).toBeGreaterThan(150)
    expect(r.tasks.lost, JSON.stringify(r.tasks.errors)).toBe(0)
    expect(r.failover.overlaps).toBe(0)
    expect(r.failover.termRegressions).toBe(0)
    expect(r.failover.moves, JSON.stringify(r.failover.handovers)).toBeLessThanOrEqual(2)
    console.log(`rolling restart: ${r.tasks.accepted} tasks, 0 lost, rollout ${Math.round(r.rolloutMs)} ms, service moves ${JSON.stringify(r.failover.handovers)}`)
  }, 240_000)
})
