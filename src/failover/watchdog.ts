// The lease watchdog: a small process of its own between the node and the supervised program.
//
// The node may run the program only while it holds the lease. A node that freezes (SIGSTOP, a long GC pause,
// a paused VM) cannot stop its program itself, so this process does: it starts the program in a process group
// of its own, and kills the whole group the moment the node's last renewal runs out, or at once when the
// node goes away (its end of our stdin closes). It imports nothing but Node built-ins, so it starts fast and
// has no event loop of the node's to share.
//
// Protocol: one JSON object per line on stdin, events as JSON lines on stdout.
//   in:  {"op":"start","argv":[...],"env":{...},"cwd":"...","leaseMs":N}   start, leased for N ms from now
//        {"op":"renew","leaseMs":N}                                          the lease now ends N ms from now
//        {"op":"stop","graceMs":N}                                           SIGTERM the group, SIGKILL after N ms
//   out: {"event":"ready"} {"event":"started","pid":P} {"event":"exited","code":C,"signal":S}
//        {"event":"fenced","reason":"lease expired"|"supervisor gone"} {"event":"gone"} {"event":"error","message":M}
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

let child: ChildProcess | undefined
// `--out-fd=3`: the node passed its stdout as our fd 3 (without it, the program's stdout goes to our stderr)
const programOut = process.argv.includes('--out-fd=3') ? 3 : 2
let pgid: number | undefined
let deadline = 0
let timer: NodeJS.Timeout | undefined
let stopping: NodeJS.Timeout | undefined

const now = (): number => performance.now()
const emit = (event: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(event) + '\n') }
// a supervisor that died closes our stdout too: reporting then fails, and that must never stop the watchdog
process.stdout.on('error', () => {})

function groupAlive (): boolean {
  if (pgid == null) return false
  try { process.kill(-pgid, 0) } catch (err: any) { return err.code === 'EPERM' }
  // kill(0) also finds zombies: a grandchild killed with its parent is reparented to init, which may reap it
  // only seconds later (measured: 1.4 s in this sandbox). A zombie runs nothing, so on Linux only members of
  // the group that are not zombies count.
  return liveMembers(pgid)
}

function liveMembers (group: number): boolean {
  let pids: string[]
  try { pids = readdirSync('/proc') } catch { return true }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 57) continue
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/stat`, 'latin1') } catch { continue }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(f[2]) === group && f[0] !== 'Z' && f[0] !== 'X') return true
  }
  return false
}

/** SIGKILL the whole group and report once nothing of it is left */
function killGroup (reason?: string): void {
  if (pgid == null) return
  clearTimeout(timer)
  clearTimeout(stopping)
  // kill first, report after: the report may fail (the supervisor may be gone), the kill must not wait for it
  try { process.kill(-pgid, 'SIGKILL') } catch {}
  if (reason != null) emit({ event: 'fenced', reason })
  const group = pgid
  const wait = (): void => {
    if (groupAlive()) { setTimeout(wait, 5); return }
    if (pgid === group) { pgid = undefined; child = undefined }
    emit({ event: 'gone' })
  }
  wait()
}

function arm (leaseMs: number): void {
  deadline = now() + leaseMs
  clearTimeout(timer)
  timer = setTimeout(check, Math.max(0, leaseMs))
}

function check (): void {
  if (pgid == null) return
  const left = deadline - now()
  // a timer can fire early on some platforms: only a lease that has really run out fences
  if (left > 0) { timer = setTimeout(check, left); return }
  killGroup('lease expired')
}

function handle (msg: any): void {
  if (msg.op === 'start') {
    if (child != null) { emit({ event: 'error', message: 'already running' }); return }
    if (!Array.isArray(msg.argv) || msg.argv.length === 0 || !Number.isFinite(msg.leaseMs)) { emit({ event: 'error', message: 'start needs argv and leaseMs' }); return }
    arm(msg.leaseMs)
    // our stdout is the event channel: the program writes to the node's stdout (our fd 3, when the node passed
    // one) and stderr, so nothing it prints can pass for an event
    const c = spawn(msg.argv[0], msg.argv.slice(1), { cwd: msg.cwd, env: msg.env ?? process.env, stdio: ['ignore', programOut, 'inherit'], detached: true })
    child = c
    c.once('error', err => { emit({ event: 'error', message: `cannot start ${msg.argv[0]}: ${err.message}` }) })
    if (c.pid == null) return
    pgid = c.pid
    emit({ event: 'started', pid: c.pid })
    c.once('exit', (code, signal) => {
      emit({ event: 'exited', code, signal })
      // the leader exited: whatever it left in its group goes too
      if (pgid === c.pid) killGroup()
    })
  } else if (msg.op === 'renew') {
    if (Number.isFinite(msg.leaseMs) && pgid != null) arm(msg.leaseMs)
  } else if (msg.op === 'stop') {
    if (pgid == null) { emit({ event: 'gone' }); return }
    try { process.kill(-pgid, 'SIGTERM') } catch {}
    stopping = setTimeout(() => { killGroup() }, Number.isFinite(msg.graceMs) ? msg.graceMs : 5000)
  }
}

const rl = createInterface({ input: process.stdin })
rl.on('line', line => {
  let msg: unknown
  try { msg = JSON.parse(line) } catch { emit({ event: 'error', message: 'not JSON' }); return }
  handle(msg)
})
// the supervisor is gone (killed, crashed): nothing may run without it
rl.on('close', () => {
  if (pgid != null) killGroup('supervisor gone')
  const exitWhenGone = (): void => { if (pgid == null) process.exit(0); else setTimeout(exitWhenGone, 5) }
  exitWhenGone()
})
// signals meant for the node's process group must not take the watchdog down before it fences
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})
emit({ event: 'ready' })
