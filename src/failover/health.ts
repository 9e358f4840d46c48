import { runOnce, type RunResult } from './run.js'
import type { FailoverServiceConfig } from '../config/types.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'

/** a member's damped health: `healthy` undefined until the first result */
export interface Health { healthy?: boolean, streak: number }

/**
 * Pure rise/fall hysteresis. The first result decides at once (a member that just started should not wait
 * `rise` intervals to stand); after that it takes `rise` successes in a row to become healthy and `fall`
 * failures in a row to become unhealthy, so one slow check does not move the service.
 */
export function nextHealth (h: Health, ok: boolean, rise: number, fall: number): Health {
  if (h.healthy == null) return { healthy: ok, streak: 0 }
  if (ok === h.healthy) return { healthy: h.healthy, streak: 0 }
  const streak = h.streak + 1
  return streak >= (ok ? rise : fall) ? { healthy: ok, streak: 0 } : { healthy: h.healthy, streak }
}

/**
 * Runs a service's health check every interval (never two at once), counts every outcome, and logs and
 * reports the changes of the damped state.
 */
export class HealthMonitor {
  private h: Health = { streak: 0 }
  private timer?: NodeJS.Timeout
  private stopped = false
  last?: RunResult

  constructor (private readonly components: { logger: Logger, metrics: Pick<Metrics, 'failoverHealthChecks'> }, private readonly init: {
    service: string
    check: NonNullable<FailoverServiceConfig['healthCheck']>
    env: () => Record<string, string | undefined>
    cwd?: string
    onChange: (healthy: boolean) => void
  }) {}

  get healthy (): boolean { return this.h.healthy === true }
  get known (): boolean { return this.h.healthy != null }

  start (): void {
    this.stopped = false
    void this.tick()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private async tick (): Promise<void> {
    const { check, service } = this.init
    const r = await runOnce(check.argv, { timeoutMs: check.timeoutMs, env: this.init.env(), cwd: this.init.cwd })
    if (this.stopped) return
    this.last = r
    const before = this.h.healthy
    this.h = nextHealth(this.h, r.ok, check.rise, check.fall)
    this.components.metrics.failoverHealthChecks.inc({ service, outcome: r.ok ? 'ok' : 'failed' })
    if (before !== this.h.healthy) {
      const healthy = this.healthy
      this.components.logger[healthy ? 'info' : 'warn']({ service, check: r.outcome, stderr: r.stderr || undefined }, healthy ? 'health check passing: healthy' : 'health check failing: unhealthy')
      this.init.onChange(healthy)
    }
    this.timer = setTimeout(() => { void this.tick() }, check.intervalMs)
  }
}
