import { spawn } from 'node:child_process'
import { HandlerError, type Handler } from './handler.js'
import type { HandlerConfig } from '../../config/types.js'

/**
 * A configured handler: runs `command` (an argv list, never through a shell) with the payload on stdin and
 * returns its stdout. A non-zero exit, a timeout or output over `maxOutput` is a task error, and the whole
 * process group is killed, so a handler cannot leave children behind.
 */
export function commandHandler (type: string, cfg: HandlerConfig, baseEnv: Record<string, string | undefined>): Handler {
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
      const onAbort = (): void => { killGroup(`timed out after ${cfg.timeoutMs}ms`) }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
      child.stdout.on('data', (d: Buffer) => {
        size += d.length
        if (size > cfg.maxOutput) { killGroup(`output larger than ${cfg.maxOutput} bytes`); return }
        chunks.push(d)
      })
      child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
      child.stdin.on('error', () => {})
      child.on('error', err => {
        ctx.signal.removeEventListener('abort', onAbort)
        reject(new HandlerError(`cannot run ${cfg.command[0]}: ${err.message}`))
      })
      child.on('close', (code, signal) => {
        ctx.signal.removeEventListener('abort', onAbort)
        if (failure != null) return reject(new HandlerError(failure))
        if (code !== 0) return reject(new HandlerError(`${cfg.command[0]} exited with ${code ?? signal}${stderr !== '' ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`))
        resolve(new Uint8Array(Buffer.concat(chunks)))
      })
      child.stdin.end(ctx.payload)
    })
  }
}
