// KEDA's Prometheus scaler and the HorizontalPodAutoscaler's rules, enough to prove the autoscaling component
// (k8s/components/autoscaling) on a local network: the ScaledObject's own query, threshold, bounds and behaviour
// are read from the rendered manifest, its query is asked of a real Prometheus, and the replica count the HPA
// would set is carried out by starting and stopping (draining) worker processes. Pure decisions (nextReplicas)
// apart from the loop that acts on them (LocalAutoscaler).

/** an HPA scaling rule (spec.behavior.scaleUp / scaleDown), times in ms */
export interface ScalingRules {
  stabilizationMs: number
  policies: Array<{ type: 'Pods' | 'Percent', value: number, periodMs: number }>
  select: 'Max' | 'Min' | 'Disabled'
}

export interface ScalerSpec {
  query: string
  /** the metric's target per replica (AverageValue): desired = ceil(metric / threshold) */
  threshold: number
  min: number
  max: number
  pollingMs: number
  scaleUp: ScalingRules
  scaleDown: ScalingRules
}

/** the HPA's tolerance: a usage ratio within 10 % of 1 changes nothing */
const TOLERANCE = 0.1
// the HPA's defaults where a ScaledObject sets no behaviour (kube-controller-manager)
const DEFAULT_UP: ScalingRules = { stabilizationMs: 0, policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }, { type: 'Pods', value: 4, periodMs: 15_000 }], select: 'Max' }
const DEFAULT_DOWN: ScalingRules = { stabilizationMs: 300_000, policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }], select: 'Max' }

function rulesOf (b: any, fallback: ScalingRules): ScalingRules {
  if (b == null) return fallback
  return {
    stabilizationMs: (b.stabilizationWindowSeconds ?? fallback.stabilizationMs / 1000) * 1000,
    policies: b.policies != null ? b.policies.map((p: any) => ({ type: p.type, value: p.value, periodMs: p.periodSeconds * 1000 })) : fallback.policies,
    select: b.selectPolicy ?? 'Max'
  }
}

/** a ScaledObject with one prometheus trigger -> what the loop needs */
export function scalerFromScaledObject (so: any): ScalerSpec {
  const trigger = so.spec.triggers.find((t: any) => t.type === 'prometheus')
  if (trigger == null) throw new Error(`ScaledObject ${so.metadata.name} has no prometheus trigger`)
  const behavior = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior ?? {}
  return {
    query: trigger.metadata.query,
    threshold: Number(trigger.metadata.threshold),
    min: so.spec.minReplicaCount ?? 0,
    max: so.spec.maxReplicaCount ?? 100,
    pollingMs: (so.spec.pollingInterval ?? 30) * 1000,
    scaleUp: rulesOf(behavior.scaleUp, DEFAULT_UP),
    scaleDown: rulesOf(behavior.scaleDown, DEFAULT_DOWN)
  }
}

/** what the HPA remembers between two decisions */
export interface HpaMemory {
  recommendations: Array<{ at: number, replicas: number }>
  /** replica changes it made: + up, - down */
  events: Array<{ at: number, delta: number }>
}

export function newMemory (): HpaMemory { return { recommendations: [], events: [] } }

/**
 * The replica count the HPA sets for an AverageValue external metric: ceil(metric / threshold) unless within the
 * tolerance, stabilized (up: the lowest recommendation within the up window; down: the highest within the down
 * window), limited by the policies over their periods, within min..max. `metric` undefined (no sample):
 * unchanged. Updates `memory`.
 */
export function nextReplicas (current: number, metric: number | undefined, now: number, spec: ScalerSpec, memory: HpaMemory): number {
  if (metric == null || !Number.isFinite(metric)) return current
  const ratio = current > 0 ? metric / (spec.threshold * current) : (metric > 0 ? Infinity : 1)
  const raw = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(metric / spec.threshold)
  const keep = Math.max(spec.scaleUp.stabilizationMs, spec.scaleDown.stabilizationMs, ...[spec.scaleUp, spec.scaleDown].flatMap(r => r.policies.map(p => p.periodMs)))
  memory.recommendations = memory.recommendations.filter(r => r.at > now - keep)
  memory.events = memory.events.filter(e => e.at > now - keep)
  let up = raw
  let down = raw
  for (const r of memory.recommendations) {
    if (r.at > now - spec.scaleUp.stabilizationMs) up = Math.min(up, r.replicas)
    if (r.at > now - spec.scaleDown.stabilizationMs) down = Math.max(down, r.replicas)
  }
  memory.recommendations.push({ at: now, replicas: raw })
  let next = current
  if (next < up) next = up
  if (next > down) next = down
  if (next > current) next = Math.min(next, limit(current, now, spec.scaleUp, memory, +1))
  if (next < current) next = Math.max(next, limit(current, now, spec.scaleDown, memory, -1))
  next = Math.min(spec.max, Math.max(spec.min, next))
  if (next !== current) memory.events.push({ at: now, delta: next - current })
  return next
}

/** the furthest the policies let the count move from `current` in direction `dir` */
function limit (current: number, now: number, rules: ScalingRules, memory: HpaMemory, dir: 1 | -1): number {
  if (rules.select === 'Disabled') return current
  const limits = rules.policies.map(p => {
    // the count at the start of the policy's period: undo the changes made in that direction since
    const moved = memory.events.filter(e => e.at > now - p.periodMs && Math.sign(e.delta) === dir).reduce((s, e) => s + e.delta, 0)
    const start = current - moved
    const step = p.type === 'Pods' ? p.value : dir > 0 ? Math.ceil(start * p.value / 100) : Math.floor(start * p.value / 100)
    return start + dir * step
  })
  const pick = (rules.select === 'Max') === (dir > 0) ? Math.max : Math.min
  return pick(...limits)
}

export interface ScalingStep { at: number, metric: number | undefined, replicas: number, desired: number }

/**
 * The loop: every pollingMs, ask Prometheus, decide, and start or stop workers until the pool has what was
 * decided. Starting and stopping run in the background (a stop drains, as a pod's preStop does); `replicas`
 * counts what is wanted, as a Deployment's spec.replicas does.
 */
export class LocalAutoscaler {
  readonly steps: ScalingStep[] = []
  /** scalings that failed (a worker that did not start) */
  readonly errors: string[] = []
  private readonly memory = newMemory()
  private timer?: NodeJS.Timeout
  private replicas: number
  private busy = Promise.resolve()

  constructor (private readonly spec: ScalerSpec, private readonly opts: {
    query: (promql: string) => Promise<number | undefined>
    /** make the pool `n` workers (start or drain the difference); may take a while */
    scaleTo: (n: number) => Promise<void>
    initial: number
    now?: () => number
  }) {
    this.replicas = opts.initial
  }

  get wanted (): number { return this.replicas }

  start (): void {
    this.timer = setInterval(() => { void this.tick() }, this.spec.pollingMs)
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.busy
  }

  async tick (): Promise<void> {
    const now = (this.opts.now ?? Date.now)()
    const metric = await this.opts.query(this.spec.query).catch(() => undefined)
    const desired = nextReplicas(this.replicas, metric, now, this.spec, this.memory)
    this.steps.push({ at: now, metric, replicas: this.replicas, desired })
    if (desired !== this.replicas) {
      this.replicas = desired
      // a failed scaling leaves the chain usable for the next decision, as a controller retries
      this.busy = this.busy.then(async () => { await this.opts.scaleTo(this.replicas) }).catch(err => { this.errors.push(String(err?.message ?? err)) })
    }
  }
}
