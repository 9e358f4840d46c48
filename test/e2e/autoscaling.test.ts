import { describe, expect, it } from 'vitest'
import { runAutoscale } from '../harness/autoscale-run.js'
import { hasKubectl } from '../harness/cluster.js'
import { hasPrometheus } from '../harness/prometheus.js'

// k8s/components/autoscaling proven without a cluster: the ScaledObject's own query, evaluated by a real Prometheus
// scraping a local network, sizes a pool of worker processes by the HPA's rules (its times divided by 15, so a
// 15 s polling interval is 1 s); a load step of slow tasks makes the pool grow, and once the backlog is gone it
// shrinks back, each removed worker draining first. bench/autoscale.mjs gives the figures.
describe.skipIf(!hasPrometheus() || !hasKubectl)('autoscaling on the task backlog (skipped without prometheus, promtool and kubectl)', () => {
  it('a load step scales the pool out, the backlog drains, the pool scales back in, and no task is lost or run twice', async () => {
    const r = await runAutoscale({ rate: 8, taskMs: 1500, loadSeconds: 12, timeScale: 15, scrapeIntervalMs: 1000, settleSeconds: 90 })
    // what the manifests promise each other
    expect(r.spec.threshold).toBe(r.poolConcurrency)
    // one worker runs 4 tasks of 1.5 s at once (2.7/s) against 8/s offered: the backlog needs more
    expect(r.peakReplicas).toBeGreaterThanOrEqual(3)
    expect(r.scaleOut.readyMs).toBeDefined()
    expect(r.errors).toEqual([])
    expect(r.tasks).toMatchObject({ failed: 0, runTwice: 0, cutMidRun: 0, refused: 0 })
    expect(r.tasks.done).toBe(r.tasks.accepted)
    expect(r.tasks.accepted).toBeGreaterThan(50)
    // back to minReplicaCount, every removed worker drained and exited 0
    expect(r.finalReplicas).toBe(r.spec.min)
    expect(r.scaleIn.backAtMinMs).toBeDefined()
    expect(r.drains.length).toBe(r.started - r.finalReplicas)
    expect(r.drains.every(d => d.code === 0)).toBe(true)
    console.log(`autoscaling: peak ${r.peakReplicas} workers (asked ${r.peakDesired}); load step -> scale-out decided ${r.scaleOut.decidedMs} ms, first new worker ready ${r.scaleOut.readyMs} ms; load end -> back at ${r.spec.min} in ${r.scaleIn.backAtMinMs} ms; ${r.tasks.done}/${r.tasks.accepted} done`)
  }, 400_000)
})
