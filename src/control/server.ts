import { chmod, lstat, mkdir, unlink } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { InstallationError } from '../util/errors.js'
import { dirname } from 'node:path'
import type { CommandHandler } from './commands.js'
import type { Logger } from '../util/logger.js'

/** Longest request line accepted on the control socket, unless told otherwise (a task's payload rides in it). */
export const MAX_REQUEST_BYTES = 64 * 1024

export interface ControlRequest { id: number, command: string, args?: string[] }
export type ControlResponse = { id: number, ok: true, result: unknown } | { id: number, ok: false, error: string, code: string } | { id: number, event: unknown }

/**
 * Serves the daemon's commands on a unix socket (mode 0600): one JSON request per line, one JSON response
 * per line. `p2p-node --config` attaches its REPL here when a daemon for that config already runs.
 */
export class ControlServer {
  private server?: Server
  private readonly sockets = new Set<Socket>()

  private readonly path: string
  private readonly commands: Record<string, CommandHandler>
  private readonly logger: Logger
  private readonly maxRequestBytes: number

  constructor (components: { commands: Record<string, CommandHandler>, logger: Logger }, init: { path: string, maxRequestBytes?: number }) {
    this.commands = components.commands
    this.logger = components.logger
    this.path = init.path
    this.maxRequestBytes = init.maxRequestBytes ?? MAX_REQUEST_BYTES
  }

  async start (): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    await removeStaleSocket(this.path)
    const server = createServer(socket => { this.serve(socket) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => { server.off('error', reject); resolve() })
    })
    await chmod(this.path, 0o600)
    this.server = server
    this.logger.debug({ path: this.path }, 'control socket listening')
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    // answers already written still reach their clients (the drain command's, say); a client that keeps its
    // socket open is cut a second later
    for (const s of this.sockets) {
      s.end()
      setTimeout(() => { s.destroy() }, 1000).unref()
    }
    await new Promise<void>(resolve => server.close(() => { resolve() }))
    await unlink(this.path).catch(() => {})
  }

  private serve (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => {})
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > this.maxRequestBytes && !buffer.includes('\n')) {
        this.reply(socket, { id: 0, ok: false, error: 'request too large', code: 'TooLarge' })
        socket.destroy()
        return
      }
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() !== '') void this.handle(socket, line)
      }
    })
  }

  private async handle (socket: Socket, line: string): Promise<void> {
    let req: ControlRequest
    try {
      req = JSON.parse(line)
      if (typeof req !== 'object' || req == null || typeof req.command !== 'string') throw new Error('missing command')
      if (req.args != null && (!Array.isArray(req.args) || !req.args.every(a => typeof a === 'string'))) throw new Error('args must be strings')
    } catch (err: any) {
      this.reply(socket, { id: 0, ok: false, error: `malformed request: ${err.message}`, code: 'BadRequest' })
      return
    }
    const handler = Object.hasOwn(this.commands, req.command) ? this.commands[req.command] : undefined
    if (handler == null) {
      this.reply(socket, { id: req.id, ok: false, error: `unknown command: ${req.command}`, code: 'UnknownCommand' })
      return
    }
    try {
      // events before the answer (a followed task's output), each a line of its own with the request's id
      const emit = (event: unknown): void => { this.reply(socket, { id: req.id, event }) }
      this.reply(socket, { id: req.id, ok: true, result: await handler(req.args ?? [], { emit }) })
    } catch (err: any) {
      this.reply(socket, { id: req.id, ok: false, error: err.message, code: err.name ?? 'Error' })
    }
  }

  private reply (socket: Socket, res: ControlResponse): void {
    if (!socket.destroyed) socket.write(JSON.stringify(res, (_k, v) => typeof v === 'bigint' ? v.toString() : v) + '\n')
  }
}

/**
 * Removes what a killed daemon left at `path`: a socket nothing answers on. Anything else there (a file, a link,
 * a folder, or a socket a live daemon answers on) is not ours to remove: InstallationError, naming it.
 */
export async function removeStaleSocket (path: string): Promise<void> {
  let st
  try { st = await lstat(path) } catch (err: any) {
    if (err.code === 'ENOENT') return
    throw err
  }
  if (!st.isSocket()) throw new InstallationError(`${path} exists and is not a socket: refusing to replace it (control.socket names the control socket)`)
  const answers = await new Promise<boolean>(resolve => {
    const s = connect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { resolve(false) })
  })
  if (answers) throw new InstallationError(`a daemon already answers on ${path}`)
  await unlink(path)
}
