#!/usr/bin/env node
// `npm test`: every suite (unit, integration, e2e), then one plain summary line `N passed, N failed`.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`tests need Node >= 22 (found ${process.version}); run them with npm test so node_modules/.bin/node is used`)
  process.exit(2)
}
const out = join('test-results')
mkdirSync(out, { recursive: true })
const report = join(out, 'vitest.json')
rmSync(report, { force: true })
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]
const run = spawnSync('npx', ['--no-install', ...args], { stdio: 'inherit' })

let passed = 0
let failed = 0
let skipped = 0
try {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  passed = r.numPassedTests
  failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0)
  skipped = r.numPendingTests + r.numTodoTests
} catch {
  failed = Math.max(failed, 1)
  console.error('no test report was written')
}
console.log(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
process.exit(run.status === 0 && failed === 0 ? 0 : 1)
