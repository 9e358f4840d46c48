import { InstallationError, ProgramStartError } from '../util/errors.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export type WatchdogEvent =
  | { event: 'ready' } | { event: 'started', pid: number } | { event: 'exited', code: number | null, signal: string | null }
  | { event: 'fenced', reason: string } | { event: 'gone' } | { event: 'error', message: string }

/** the watchdog's file next to this module (tsc output), or under failover/ beside the bundle */
export function watchdogFile (): string {
  for (const rel of ['./watchdog.js', './failover/watchdog.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new InstallationError('watchdog.js not found next to the program; run npm run build')
}

/**
 * The supervisor's handle on one watchdog process. If the watchdog itself dies, the program's process group
 * is killed from here, so the program never runs without one of the two watching it.
 */
export class WatchdogClient {
  private readonly proc: ChildProcess
  private readonly listeners = new Set<(e: WatchdogEvent) => void>()
  private pgid?: number
  readonly ready: Promise<void>

  /** `programStdout`: where the program's stdout goes (default: ours) */
  constructor (nodePath: string = process.execPath, file: string = watchdogFile(), programStdout: 'inherit' | 'ignore' = 'inherit') {
    // fd 3 carries the program's stdout; the watchdog's own stdout carries only its events
    // (a number is an fd of ours: 1, our stdout; 'inherit' would pass our own fd 3, which is libuv's)
    this.proc = spawn(nodePath, [file, '--out-fd=3'], { stdio: ['pipe', 'pipe', 'inherit', programStdout === 'inherit' ? 1 : 'ignore'] })
    const rl = createInterface({ input: this.proc.stdout! })
    rl.on('line', line => {
      let e: WatchdogEvent
      try { e = JSON.parse(line) } catch { return }
      if (e.event === 'started') this.pgid = e.pid
      if (e.event === 'gone') this.pgid = undefined
      for (const l of this.listeners) l(e)
    })
    this.proc.once('exit', () => {
      if (this.pgid != null) { try { process.kill(-this.pgid, 'SIGKILL') } catch {} }
      for (const l of this.listeners) l({ event: 'error', message: 'watchdog exited' })
    })
    this.proc.stdin!.on('error', () => {})
    this.ready = this.next(e => e.event === 'ready').then(() => {})
  }

  get pid (): number | undefined { return this.proc.pid }

  on (listener: (e: WatchdogEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** resolves with the first event that matches */
  async next (match: (e: WatchdogEvent) => boolean): Promise<WatchdogEvent> {
    return await new Promise(resolve => {
      const off = this.on(e => { if (match(e)) { off(); resolve(e) } })
    })
  }

  private send (msg: Record<string, unknown>): void {
    this.proc.stdin!.write(JSON.stringify(msg) + '\n')
  }

  async start (argv: string[], leaseMs: number, env?: Record<string, string | undefined>, cwd?: string): Promise<number> {
    const started = this.next(e => e.event === 'started' || e.event === 'error')
    this.send({ op: 'start', argv, env, cwd, leaseMs })
    const e = await started
    if (e.event !== 'started') throw new ProgramStartError(e.event === 'error' ? e.message : 'not started')
    return e.pid
  }

  renew (leaseMs: number): void { this.send({ op: 'renew', leaseMs }) }

  /** SIGTERM the program's group, SIGKILL after graceMs; resolves when nothing of the group is left */
  async stop (graceMs: number): Promise<void> {
    const gone = this.next(e => e.event === 'gone')
    this.send({ op: 'stop', graceMs })
    await gone
  }

  /** ends the watchdog (it kills the program's group first) */
  close (): void { this.proc.stdin!.end() }
}
