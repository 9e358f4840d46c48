#!/usr/bin/env node
// `npm run bench`: every benchmark in turn; `npm run bench -- <name> [options]`: one, with its own options
// (`npm run bench -- tasks --help` lists them). Each prints JSON and a table; nothing is asserted.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'

const here = dirname(fileURLToPath(import.meta.url))
const ALL = ['network', 'tasks', 'failover', 'fuzz']
const ONE = [...ALL, 'idle', 'soak', 'stress', 'nat', 'console', 'scale', 'rolling', 'scalein', 'autoscale', 'swim']
const program = new Command('npm run bench --')
  .description(`runs the benchmarks on the pinned Node: all of ${ALL.join(', ')} in turn, or one of ${ONE.join(', ')}`)
  .argument('[benchmark]', 'one benchmark; the options after it are its own')
  .passThroughOptions()
  .allowUnknownOption()
  .allowExcessArguments()
  .exitOverride()
let which
let rest = []
try {
  program.action((name, _opts, cmd) => { which = name; rest = cmd.args.slice(1) }).parse(process.argv)
} catch (err) {
  process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2)
}
if (which != null && !ONE.includes(which)) {
  console.error(`unknown benchmark ${JSON.stringify(which)} (one of: ${ONE.join(', ')})`)
  process.exit(2)
}
for (const b of which != null ? [which] : ALL) {
  if (which == null) console.log(`# ${b}`)
  const r = spawnSync(process.execPath, [join(here, `${b}.mjs`), ...rest], { stdio: 'inherit' })
  if (r.status !== 0) process.exitCode = r.status ?? 1
}
