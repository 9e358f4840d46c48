#!/usr/bin/env node
// `npm run bench`: every benchmark in turn. Each prints JSON and a table; nothing is asserted.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
for (const b of ['network.mjs', 'tasks.mjs', 'failover.mjs', 'fuzz.mjs']) {
  console.log(`# ${b}`)
  const r = spawnSync(process.execPath, [join(here, b), ...process.argv.slice(2)], { stdio: 'inherit' })
  if (r.status !== 0) process.exitCode = 1
}
