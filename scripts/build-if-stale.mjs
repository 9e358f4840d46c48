#!/usr/bin/env node
// `npm start` and `npm run bench`: builds only when a source file is newer than the build, so a second start takes
// no 10 s; with --harness also the benchmarks' harness.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const built = (() => { try { return statSync(join(root, 'dist', 'p2p-node.mjs')).mtimeMs } catch { return 0 } })()

function newest (path) {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  return Math.max(st.mtimeMs, ...readdirSync(path).map(f => newest(join(path, f))))
}

const inputs = ['src', 'ui', 'tsconfig.json', 'package.json', 'package-lock.json', join('scripts', 'bundle.mjs')].map(p => join(root, p))
if (built === 0 || inputs.some(p => newest(p) > built)) {
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
// the benchmarks' harness (test/harness, compiled into build/; never in dist/ or the image)
if (process.argv.includes('--harness')) {
  const harness = (() => { try { return statSync(join(root, 'build', 'test', 'harness', 'cluster.js')).mtimeMs } catch { return 0 } })()
  if (harness === 0 || [join(root, 'src'), join(root, 'test', 'harness')].some(p => newest(p) > harness)) {
    const r = spawnSync('npm', ['run', 'build:harness', '--silent'], { cwd: root, stdio: 'inherit' })
    if (r.status !== 0) process.exit(r.status ?? 1)
  }
}
