#!/usr/bin/env node
// `npm start`: a whole network on loopback — one bootstrap, one relay, three workers, each its own
// p2p-node process with its own config in config/local/ — then a REPL attached to worker-1.
// Leaving the REPL (quit, Ctrl-D) stops the network. `--no-repl` keeps it running until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const launcher = join(root, 'p2p-node')
const nodes = [
  { name: 'bootstrap', metrics: 9101 },
  { name: 'relay', metrics: 9102 },
  { name: 'worker-1', metrics: 9111 },
  { name: 'worker-2', metrics: 9112 },
  { name: 'worker-3', metrics: 9113 }
]
const attachTo = process.env.P2P_ATTACH ?? 'worker-1'
const noRepl = process.argv.includes('--no-repl')
const logDir = join(root, '.local', 'logs')
mkdirSync(logDir, { recursive: true })

// the nodes' shared private-network key: made once, kept in .local/ (the failover demo is closed to other processes)
const { ensureSwarmKey } = await import('../dist/cli/keygen.js')
if (ensureSwarmKey(join(root, '.local', 'swarm.key'))) console.error('made the local network\'s private key: .local/swarm.key')

const configOf = name => join(root, 'config', 'local', `${name}.yaml`)
const socketOf = name => join(root, '.local', 'data', name, 'control.sock')

function answers (socket) {
  return new Promise(resolve => {
    const s = connect(socket)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

async function ready (port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
    return res.status === 200
  } catch { return false }
}

/** the pid of a running node that is not our child (started by hand, or left from an earlier run), from its status */
function pidOf (name) {
  const r = spawnSync(launcher, ['status', '--json', '--config', configOf(name)], { encoding: 'utf8' })
  try { return JSON.parse(r.stdout).pid } catch { return undefined }
}

const children = []
for (const n of nodes) {
  if (await answers(socketOf(n.name))) {
    console.log(`${n.name}: already running, reusing it`)
    continue
  }
  const log = openSync(join(logDir, `${n.name}.log`), 'a')
  // own process group: a Ctrl-C typed in the REPL must not reach the daemons. P2P_EXIT_WITH_PARENT: if this
  // launcher dies without stopping them (SIGKILL, a closed pipe), the nodes notice and stop by themselves
  const child = spawn(launcher, ['start', '--config', configOf(n.name)], { stdio: ['ignore', log, log], detached: true, env: { ...process.env, P2P_EXIT_WITH_PARENT: '1' } })
  child.on('exit', (code, signal) => { if (!stopping) console.error(`${n.name} exited (${signal ?? code}); see ${join(logDir, n.name + '.log')}`) })
  children.push({ ...n, child })
}

function alive (pid) {
  try { process.kill(pid, 0); return true } catch { return false }
}

let stopping = false
async function stopAll (code) {
  if (stopping) return
  stopping = true
  for (const { child } of children) if (child.exitCode == null) child.kill('SIGTERM')
  // the network's nodes that are not our children (reused at start, or restarted by hand meanwhile) go too
  const others = []
  for (const n of nodes) {
    if (children.some(c => c.name === n.name && c.child.exitCode == null && c.child.signalCode == null) || !(await answers(socketOf(n.name)))) continue
    const pid = pidOf(n.name)
    if (pid != null) { others.push(pid); try { process.kill(pid, 'SIGTERM') } catch {} }
  }
  await Promise.all(children.map(({ child }) => child.exitCode != null ? null : new Promise(r => child.once('exit', r))))
  for (let i = 0; i < 100 && others.some(alive); i++) await new Promise(r => setTimeout(r, 100))
  process.exit(code)
}
process.on('SIGINT', () => { void stopAll(0) })
process.on('SIGTERM', () => { void stopAll(0) })
process.on('SIGHUP', () => { void stopAll(0) })

const deadline = Date.now() + 60_000
for (const n of nodes) {
  while (!(await ready(n.metrics))) {
    if (Date.now() > deadline) {
      console.error(`${n.name} did not become ready within 60s; see ${join(logDir, n.name + '.log')}`)
      await stopAll(1)
    }
    await new Promise(r => setTimeout(r, 200))
  }
}

console.log('\nlocal network is up:')
for (const n of nodes) {
  console.log(`  ${n.name.padEnd(10)} console http://127.0.0.1:${n.metrics}/   metrics /metrics   log .local/logs/${n.name}.log`)
}
console.log(`  web console: open http://127.0.0.1:${nodes[2].metrics}/ in a browser (each node serves its own)`)
console.log(`  one-shot: ./p2p-node peers --config config/local/worker-2.yaml [--json]\n`)

if (noRepl) {
  console.log('running; Ctrl-C stops the network')
} else {
  const repl = spawn(launcher, ['--config', configOf(attachTo)], { stdio: 'inherit', env: { ...process.env, P2P_REPL_LEAVING: 'quit, exit or Ctrl-D stops the whole local network' } })
  // the REPL child gets Ctrl-C from the terminal itself; ignore it here so the network outlives it
  process.removeAllListeners('SIGINT')
  process.on('SIGINT', () => {})
  repl.on('exit', code => { void stopAll(code ?? 0) })
}
