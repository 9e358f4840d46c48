import { spawn } from 'node:child_process'

export interface RunResult {
  ok: boolean
  /** exit code, or the signal name, or why it did not run */
  outcome: string
  ms: number
  stderr: string
}

/**
 * Runs a hook or a health check once, in a process group of its own: on timeout (or when `signal` aborts) the
 * whole group is killed, and whatever the command left in its group goes when it exits, so neither can leave
 * children behind.
 */
export async function runOnce (argv: string[], opts: { timeoutMs: number, env: Record<string, string | undefined>, cwd?: string, signal?: AbortSignal }): Promise<RunResult> {
  const started = performance.now()
  return await new Promise(resolve => {
    let stderr = ''
    let why: string | undefined
    const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
    const killGroup = (reason: string): void => {
      why ??= reason
      if (child.pid != null) { try { process.kill(-child.pid, 'SIGKILL') } catch {} }
    }
    const timer = setTimeout(() => { killGroup(`timed out after ${opts.timeoutMs}ms`) }, opts.timeoutMs)
    const onAbort = (): void => { killGroup('aborted') }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
    const done = (ok: boolean, outcome: string): void => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      resolve({ ok, outcome, ms: Math.round(performance.now() - started), stderr: stderr.trim() })
    }
    child.once('error', err => { done(false, `cannot run ${argv[0]}: ${err.message}`) })
    child.once('exit', (code, signal) => {
      // the leader is gone: so is anything it started in its group
      if (child.pid != null) { try { process.kill(-child.pid, 'SIGKILL') } catch {} }
      if (why != null) done(false, why)
      else done(code === 0, code != null ? `exit ${code}` : `signal ${signal}`)
    })
  })
}
