// Shared fixtures for the unit and in-process tests: one of each, so a test says only what is particular to it.
import { Registry } from 'prom-client'
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js'
import { createLogger, type Logger } from '../../src/util/logger.js'
import { parseConfig } from '../../src/config/load.js'
import type { FailoverServiceConfig, NodeConfig } from '../../src/config/types.js'

/** a logger that writes nothing (with child loggers, as every subsystem names its own) */
export function silentLogger (): Logger {
  return createLogger({ level: 'silent', pretty: false })
}

/** a worker's config with every default, from the schema (the one place defaults live): what a part's init gets */
export function defaultConfig (): NodeConfig {
  return parseConfig('node:\n  role: worker\n  name: test\n', { file: '/tmp/p2p-test/config.yaml' })
}

/** every metric of the project in a registry of its own: no test sees another's counts */
export function freshMetrics (): Metrics {
  return createMetrics(new Registry())
}

/**
 * A failover service as the config loader would give it: three members, quorum two, 100 ms beats, 600 ms lease
 * (the machine tests' reference group); `over` changes what a test is about.
 */
export function failoverService (over: Partial<FailoverServiceConfig> = {}): FailoverServiceConfig {
  return {
    name: 'svc',
    argv: ['prog'],
    priority: 100,
    groupSize: 3,
    quorum: 2,
    intervalMs: 100,
    misses: 3,
    leaseMs: 600,
    marginMs: 100,
    preempt: true,
    preemptDelayMs: 1000,
    stopTimeoutMs: 500,
    env: {},
    members: [],
    openGroup: false,
    hooks: { before_active: [], after_active: [], before_passive: [], after_passive: [] },
    restart: { maxRestarts: 2, windowMs: 10_000, delayMs: 100 },
    dryRun: false,
    ...over
  }
}

/** a clock a test moves by hand: `now()` as performance.now() would answer, `advance(ms)` to move it */
export class FakeClock {
  constructor (private t = 0) {}
  now (): number { return this.t }
  advance (ms: number): number { this.t += ms; return this.t }
  set (t: number): void { this.t = t }
}
