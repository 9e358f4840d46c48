#!/usr/bin/env node
// Long fuzzing runs of the properties test/unit/fuzz.test.ts runs 1,000 times each in CI: every wire decoder
// as the node calls it, the config loader, the REPL and task parsers. Prints JSON and a table: cases, time,
// cases per second, and what the inputs came to (accepted, rejected by reason, streams dropped).
// Usage: node bench/fuzz.mjs [--cases 100000] [--seed N]
import fc from 'fast-check'
import { fuzzProperties } from '../build/test/harness/fuzz-properties.js'
import { cli, number, report, round } from './lib.mjs'

const opts = cli('bench/fuzz.mjs', 'Long fuzzing runs of every property test/unit/fuzz.test.ts runs', p => p
  .option('--cases <n>', 'cases per property', number(1), 100_000)
  .option('--seed <n>', 'fast-check seed (default: from the clock)', number(0), Date.now() % 2 ** 31))
const CASES = opts.cases
const SEED = opts.seed
const tally = {}
const results = []
for (const { name, property } of fuzzProperties(tally)) {
  const started = performance.now()
  const r = fc.check(property, { numRuns: CASES, seed: SEED })
  const ms = performance.now() - started
  results.push({ name, cases: r.numRuns, failed: r.failed, counterexample: r.failed ? JSON.stringify(r.counterexample).slice(0, 300) : undefined, error: r.failed ? String(r.errorInstance ?? r.error).slice(0, 300) : undefined, ms: Math.round(ms), perSecond: Math.round(r.numRuns / (ms / 1000)) })
  process.stderr.write(`${name}: ${r.numRuns} cases, ${r.failed ? 'FAILED' : 'ok'} (${Math.round(ms)} ms)\n`)
}
report('fuzz', { seed: SEED, casesPerProperty: CASES, results, outcomes: tally }, [
  ...results.map(r => [r.name, r.cases, 'cases', `${r.failed ? `FAILED: ${r.error}` : 'no failure'}; ${round(r.ms / 1000)} s, ${r.perSecond}/s`]),
  ['outcomes', Object.keys(tally).length, 'kinds', Object.entries(tally).map(([k, v]) => `${k} ${v}`).join(', ')]
])
if (results.some(r => r.failed)) process.exitCode = 1
