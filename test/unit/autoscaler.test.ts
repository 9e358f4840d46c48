import { describe, expect, it } from 'vitest'
import { newMemory, nextReplicas, scalerFromScaledObject, type ScalerSpec } from '../harness/autoscaler.js'

// the rules of the component's ScaledObject (k8s/components/autoscaling/scaledobject.yaml)
const spec: ScalerSpec = scalerFromScaledObject({
  metadata: { name: 'p2p-pool' },
  spec: {
    pollingInterval: 15,
    minReplicaCount: 1,
    maxReplicaCount: 20,
    advanced: {
      horizontalPodAutoscalerConfig: {
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }], selectPolicy: 'Max' },
          scaleDown: { stabilizationWindowSeconds: 60, policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] }
        }
      }
    },
    triggers: [{ type: 'prometheus', metadata: { query: 'sum(p2p_task_backlog)', threshold: '4' } }]
  }
})

describe('the HPA rules the local autoscaler applies (AverageValue, as KEDA sets them)', () => {
  it('reads the ScaledObject', () => {
    expect(spec).toMatchObject({ query: 'sum(p2p_task_backlog)', threshold: 4, min: 1, max: 20, pollingMs: 15_000 })
    expect(spec.scaleDown).toEqual({ stabilizationMs: 60_000, policies: [{ type: 'Pods', value: 2, periodMs: 30_000 }], select: 'Max' })
  })

  it.each([
    // current, metric, desired, why
    [1, 20, 5, 'ceil(20 / 4), allowed by the Pods policy (+4 in 15 s)'],
    [1, 40, 5, 'ceil(40 / 4) = 10, but +4 per 15 s is the most either policy allows from 1'],
    [4, 40, 8, 'from 4, +100 % is the larger step'],
    [5, 21, 5, 'a usage ratio of 1.05 is within the tolerance'],
    [5, undefined, 5, 'no sample: unchanged'],
    [1, 0, 1, 'never below minReplicaCount'],
    [18, 200, 20, 'never above maxReplicaCount']
  ] as const)('from %i with a backlog of %s: %i (%s)', (current, metric, desired) => {
    expect(nextReplicas(current, metric, 1_000_000, spec, newMemory())).toBe(desired)
  })

  it('scales down only after the stabilization window, then at most 2 pods per 30 s', () => {
    const memory = newMemory()
    const t0 = 1_000_000
    expect(nextReplicas(1, 24, t0, spec, memory)).toBe(5)
    expect(nextReplicas(5, 24, t0 + 15_000, spec, memory)).toBe(6)
    // the backlog drains: the window still holds a recommendation of 6
    expect(nextReplicas(6, 0, t0 + 30_000, spec, memory)).toBe(6)
    expect(nextReplicas(6, 0, t0 + 60_000, spec, memory)).toBe(6)
    // 60 s after the last high one: down, by 2
    expect(nextReplicas(6, 0, t0 + 75_001, spec, memory)).toBe(4)
    // within that policy period: no more
    expect(nextReplicas(4, 0, t0 + 90_000, spec, memory)).toBe(4)
    expect(nextReplicas(4, 0, t0 + 105_002, spec, memory)).toBe(2)
    expect(nextReplicas(2, 0, t0 + 135_003, spec, memory)).toBe(1)
  })

  it('a second step up within a policy period is limited by what was added in it', () => {
    const memory = newMemory()
    expect(nextReplicas(1, 80, 0, spec, memory)).toBe(5)
    expect(nextReplicas(5, 80, 5_000, spec, memory)).toBe(5)
    expect(nextReplicas(5, 80, 15_001, spec, memory)).toBe(10)
  })
})
