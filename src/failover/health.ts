import { runOnce, type RunResult } from './run.js'
import type { FailoverServiceConfig } from '../config/types.js'

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

/** Runs a service's health check every interval (never two at once) and reports changes of the damped state. */
export class HealthMonitor {
  private h: Health = { streak: 0 }
  private timer?: NodeJS.Timeout
  private stopped = false
  last?: RunResult

  constructor (private readonly cfg: NonNullable<FailoverServiceConfig['healthCheck']>, private readonly opts: {
    env: () => Record<string, string | undefined>
    cwd?: string
    onResult: (healthy: boolean, changed: boolean, result: RunResult) => void
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
    const result = await runOnce(this.cfg.argv, { timeoutMs: this.cfg.timeoutMs, env: this.opts.env(), cwd: this.opts.cwd })
    if (this.stopped) return
    this.last = result
    const before = this.h.healthy
    this.h = nextHealth(this.h, result.ok, this.cfg.rise, this.cfg.fall)
    this.opts.onResult(this.healthy, before !== this.h.healthy, result)
    this.timer = setTimeout(() => { void this.tick() }, this.cfg.intervalMs)
  }
}
