import { defineConfig } from 'vitest/config'

// Three tiers (docs/development/testing.md): unit (pure, no I/O), integration (whole nodes inside the test's
// process, real TCP on 127.0.0.1: test/harness/in-process.ts), e2e (real p2p-node processes, network
// namespaces, browsers: test/harness/cluster.ts).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // real processes on a 2-core machine: one file at a time, generous timeouts
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000
        }
      }
    ]
  }
})
