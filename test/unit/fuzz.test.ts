import fc from 'fast-check'
import { describe, it } from 'vitest'
import { fuzzProperties } from '../harness/fuzz-properties.js'

// >= 1,000 cases per property on every CI run (a fixed seed per run is printed by fast-check on failure, so
// any counterexample can be replayed); bench/fuzz.mjs runs the same properties 100,000+ times.
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)

describe('fuzzing: parsers of outside input never crash, hang or reject without a counted reason', () => {
  for (const { name, property } of fuzzProperties()) {
    it(`${name} (${RUNS} cases)`, () => {
      fc.assert(property, { numRuns: RUNS, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true })
    }, 120_000)
  }
})
