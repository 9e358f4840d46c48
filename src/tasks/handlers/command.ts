import { spawn } from 'node:child_process'
import { HandlerError, type Handler } from './handler.js'
import type { HandlerConfig } from '../../config/types.js'

/**
 * A configured handler: runs `command` (an argv list, never through a shell) with the payload on stdin and
 * returns its stdout. A non-zero exit, a timeout or output over `maxOutput` is a task error, and the whole
 * process group is killed, so a handler cannot leave children behind.
 */
export function commandHandler (type: string, cfg: HandlerConfig & { command: string[] }, baseEnv: Record<string, string | undefined>): Handler {
  return {
    type,
    capability: cfg.capability,
    timeoutMs: cfg.timeoutMs,
    run: async ctx => await new Promise<Uint8Array>((resolve, reject) => {
      const child = spawn(cfg.command[0], cfg.command.slice(1), {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        env: { ...baseEnv, ...cfg.env, P2P_TASK_ID: ctx.id, P2P_TASK_TYPE: type }
      })
      const chunks: Buffer[] = []
      let size = 0
      let stderr = ''
      let failure: string | undefined
      const killGroup = (why: string): void => {
        failure ??= why
        try { process.kill(-child.pid!, 'SIGKILL') } catch {}
      }
      // the signal says why: the attempt's time is up, its submitter cancelled it, or the node stops
      const onAbort = (): void => { killGroup((ctx.signal.reason as Error | undefined)?.message ?? 'aborted') }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
      const lines = ctx.followed ? new LineSplitter(ctx.progress) : undefined
      child.stdout.on('data', (d: Buffer) => {
        size += d.length
        if (size > cfg.maxOutput) { killGroup(`output larger than ${cfg.maxOutput} bytes`); return }
        chunks.push(d)
        lines?.push(d)
      })
      child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
      child.stdin.on('error', () => {})
      child.on('error', err => {
        ctx.signal.removeEventListener('abort', onAbort)
        reject(new HandlerError(`cannot run ${cfg.command[0]}: ${err.message}`))
      })
      child.on('close', (code, signal) => {
        ctx.signal.removeEventListener('abort', onAbort)
        lines?.end()
        if (failure != null) return reject(new HandlerError(failure))
        if (code !== 0) return reject(new HandlerError(`${cfg.command[0]} exited with ${code ?? signal}${stderr !== '' ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`))
        resolve(new Uint8Array(Buffer.concat(chunks)))
      })
      child.stdin.end(ctx.payload)
    })
  }
}

/** a line longer than this goes out in pieces (a follower sees output even from a program that never ends a line) */
const MAX_LINE = 8 * 1024

/** stdout as lines, each handed to `emit` as soon as it is complete (the newline kept) */
class LineSplitter {
  private partial: Buffer[] = []
  private partialSize = 0
  constructor (private readonly emit: (line: Uint8Array) => void) {}

  push (d: Buffer): void {
    let start = 0
    for (let nl = d.indexOf(10); nl >= 0; nl = d.indexOf(10, start)) {
      this.add(d.subarray(start, nl + 1))
      this.flush()
      start = nl + 1
    }
    if (start < d.length) this.add(d.subarray(start))
  }

  end (): void { this.flush() }

  private add (piece: Buffer): void {
    this.partial.push(piece)
    this.partialSize += piece.length
    if (this.partialSize >= MAX_LINE) this.flush()
  }

  private flush (): void {
    if (this.partialSize === 0) return
    this.emit(new Uint8Array(Buffer.concat(this.partial)))
    this.partial = []
    this.partialSize = 0
  }
}
