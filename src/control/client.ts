import { connect, type Socket } from 'node:net'
import { CommandError, NotRunningError } from '../util/errors.js'
import type { ControlResponse } from './server.js'

/** Talks to a running daemon over its control socket. */
export class ControlClient {
  private nextId = 1
  private buffer = ''
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void, onEvent?: (e: unknown) => void }>()

  private constructor (private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffer += chunk
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const res = JSON.parse(this.buffer.slice(0, nl)) as ControlResponse
        this.buffer = this.buffer.slice(nl + 1)
        if ('event' in res) { this.pending.get(res.id)?.onEvent?.(res.event); continue }
        const p = this.pending.get(res.id)
        this.pending.delete(res.id)
        if (p == null) continue
        if (res.ok) p.resolve(res.result)
        else p.reject(new CommandError(res.error, res.code))
      }
    })
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new CommandError('the daemon closed the control connection'))
      this.pending.clear()
    })
  }

  /** Connects, or throws NotRunningError when no daemon answers at `path`. */
  static async connect (path: string, timeoutMs = 2000): Promise<ControlClient> {
    return await new Promise((resolve, reject) => {
      const socket = connect(path)
      const timer = setTimeout(() => { socket.destroy(); reject(new NotRunningError(`no answer on ${path}`)) }, timeoutMs)
      socket.once('connect', () => { clearTimeout(timer); socket.removeAllListeners('error'); socket.on('error', () => {}); resolve(new ControlClient(socket)) })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(new NotRunningError(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `no daemon is running (nothing listens on ${path})` : `cannot reach the daemon at ${path}: ${err.message}`))
      })
    })
  }

  /** `onEvent` gets what the command sends before its answer (a followed task's output) */
  async request (command: string, args: string[] = [], onEvent?: (e: unknown) => void): Promise<unknown> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent })
      this.socket.write(JSON.stringify({ id, command, args }) + '\n')
    })
  }

  close (): void {
    this.socket.end()
  }
}
