import { runOnce } from './run.js'
import type { FailoverServiceConfig, HookEvent } from '../config/types.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'

/**
 * A service's hooks (docs/guides/failover.md): each transition's hooks run in order, one transition at a time, in
 * a process group of their own; a dry run only logs them.
 */
export class HookRunner {
  /** transitions' hooks run one after another, in the order of the transitions */
  private chain: Promise<unknown> = Promise.resolve()

  private readonly cfg: FailoverServiceConfig

  constructor (private readonly components: { logger: Logger, metrics: Metrics }, private readonly init: {
    service: FailoverServiceConfig
    env: (event: HookEvent, term: number) => Record<string, string | undefined>
  }) {
    this.cfg = init.service
  }

  /** runs a transition's hooks now; false when a must-succeed hook failed (the rest are then skipped) */
  async run (event: HookEvent, term: number): Promise<boolean> {
    const { logger, metrics } = this.components
    const service = this.cfg.name
    for (const hook of this.cfg.hooks[event]) {
      if (this.cfg.dryRun) {
        logger.info({ service, event, argv: hook.argv, term }, 'dry run: would run the hook')
        metrics.failoverHooks.inc({ service, event, outcome: 'dry_run' })
        continue
      }
      const r = await runOnce(hook.argv, { timeoutMs: hook.timeoutMs, env: this.init.env(event, term), cwd: this.cfg.cwd })
      metrics.failoverHooks.inc({ service, event, outcome: r.ok ? 'ok' : 'failed' })
      if (r.ok) {
        logger.info({ service, event, argv: hook.argv, ms: r.ms }, 'hook ran')
      } else {
        logger.warn({ service, event, argv: hook.argv, outcome: r.outcome, stderr: r.stderr || undefined, mustSucceed: hook.mustSucceed }, 'hook failed')
        if (hook.mustSucceed) return false
      }
    }
    return true
  }

  /** queues a transition's hooks behind any still running (after_* hooks do not hold the election up) */
  queue (event: HookEvent, term: number): void {
    if (this.cfg.hooks[event].length === 0) return
    this.chain = this.chain.then(async () => await this.run(event, term), () => {})
  }

  /** resolves once every queued hook has run */
  async idle (): Promise<void> { await this.chain }
}
