import { appendFileSync, readFileSync } from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { formatEvent, formatResult } from './format.js'
import { parseLine } from './parse-line.js'
import { withPayloadFile } from './payload-file.js'
import type { Readable, Writable } from 'node:stream'

/** runs a command on the daemon; `onEvent` gets what it sends before its answer (a followed task's output) */
export type Exec = (command: string, args: string[], onEvent?: (e: unknown) => void) => Promise<unknown>

export interface ReplCommand { name: string, usage: string, help: string }

/** Commands every REPL knows; later subsystems add theirs to the daemon and this list. */
export const REPL_COMMANDS: ReplCommand[] = [
  { name: 'help', usage: 'help [command]', help: 'list commands, or describe one' },
  { name: 'peers', usage: 'peers [--json] [--wide]', help: 'every known node: id, name, role, capabilities, addresses, connection, RTT, last heartbeat' },
  { name: 'status', usage: 'status [--json]', help: 'this node: id, name, role, version, addresses, uptime, peers, members by role, topics, health' },
  { name: 'capabilities', usage: 'capabilities [--json]', help: 'this node\'s capabilities and task types, and who offers what in the network' },
  { name: 'topology', usage: 'topology [--json]', help: 'who is connected to whom: this node\'s connections and those of the members it is connected to, direct or relayed' },
  { name: 'task', usage: 'task <type> [payload] [options] [--json]', help: 'run a task on the network and print its result (an empty payload when none is given; --payload-file PATH sends a file); options: --timeout 5s --reward N --capability NAME --broadcast --retries N --cost N --param k=v --follow (print output as it comes); task cancel <id> stops one. Ctrl-C while it runs cancels it (a second Ctrl-C stops waiting)' },
  { name: 'tasks', usage: 'tasks [--json]', help: 'recent tasks submitted through this node, with their state' },
  { name: 'failover', usage: 'failover [handoff <service>] [--json]', help: 'each supervised service: this member\'s state, term, the active member, every member; handoff moves it on' },
  { name: 'drain', usage: 'drain', help: 'leave the network without losing a task: take no new task, hand failover services on, finish the running tasks (node.drain_timeout at most), then stop the node' },
  { name: 'quit', usage: 'quit | exit', help: 'leave the REPL, as Ctrl-D does (what that does to the node: see the banner)' }
]

export interface ReplOptions {
  exec: Exec
  input: Readable
  output: Writable
  errors?: Writable
  /** interactive: prompt, completion, history; otherwise read commands line by line until EOF */
  interactive: boolean
  prompt?: string
  historyFile?: string
  banner?: string
}

/** the REPL stopped waiting for a command (Ctrl-C, Ctrl-D): not a failure of the command */
class Detached extends Error {
  override name = 'Detached'
}

/** Runs one REPL line. Returns false when the line failed. */
export async function runLine (line: string, exec: Exec, out: (s: string) => void, err: (s: string) => void): Promise<boolean | 'quit'> {
  const parsed = parseLine(line)
  if (!parsed.ok) { err(`error: ${parsed.error}`); return false }
  const [command, ...rest] = parsed.words
  if (command == null) return true
  const json = rest.includes('--json')
  let args = rest.filter(a => a !== '--json' && a !== '--wide')
  if (command === 'task') {
    try {
      // standard input is where the REPL reads its commands: a file only
      args = withPayloadFile(args, () => { throw new Error('standard input holds the commands here; give a file') })
    } catch (e: any) {
      err(`error: ${e.message}`)
      return false
    }
  }
  if (command === 'quit' || command === 'exit') return 'quit'
  if (command === 'help') {
    const one = REPL_COMMANDS.find(c => c.name === args[0])
    out(one != null ? `${one.usage}\n  ${one.help}` : REPL_COMMANDS.map(c => `  ${c.usage.padEnd(28)} ${c.help}`).join('\n'))
    return true
  }
  if (!REPL_COMMANDS.some(c => c.name === command)) {
    err(`unknown command: ${command} (type help for the list)`)
    return false
  }
  try {
    const onEvent = json ? undefined : (e: unknown) => { const line = formatEvent(e); if (line != null) out(line) }
    const result = await exec(command, args, onEvent)
    out(formatResult(command, result, { json, wide: rest.includes('--wide') }))
    return true
  } catch (e: any) {
    if (e instanceof Detached) return true
    err(`error: ${e.message}`)
    return false
  }
}

export function completer (line: string): [string[], string] {
  const words = line.split(/\s+/)
  if (words.length <= 1) {
    const hits = REPL_COMMANDS.map(c => c.name).filter(n => n.startsWith(line))
    return [hits, line]
  }
  const last = words.at(-1) ?? ''
  const flagsOf: Record<string, string[]> = {
    peers: ['--json', '--wide'],
    task: ['--json', '--timeout', '--reward', '--capability', '--broadcast', '--retries', '--cost', '--param', '--follow', '--payload-file']
  }
  const flags = (flagsOf[words[0]] ?? ['--json']).filter(f => f.startsWith(last))
  if (words[0] === 'help') return [REPL_COMMANDS.map(c => c.name).filter(n => n.startsWith(last)), last]
  return [flags, last]
}

/** Runs the REPL until quit or end of input. Resolves with the exit code (0, or 1 if a piped command failed). */
export async function runRepl (opts: ReplOptions): Promise<number> {
  const write = (s: string): void => { opts.output.write(s + '\n') }
  const writeErr = (s: string): void => { (opts.errors ?? opts.output).write(s + '\n') }
  let failed = false

  if (!opts.interactive) {
    const rl = createInterface({ input: opts.input, terminal: false })
    for await (const line of rl) {
      const r = await runLine(line, opts.exec, write, writeErr)
      if (r === 'quit') break
      if (r === false) failed = true
    }
    rl.close()
    return failed ? 1 : 0
  }

  const history = loadHistory(opts.historyFile)
  const rl: Interface = createInterface({
    input: opts.input, output: opts.output, terminal: true, completer, history, historySize: 1000, removeHistoryDuplicates: true, prompt: opts.prompt ?? 'p2p> '
  })
  if (opts.banner != null) write(opts.banner)
  let closed = false
  const prompt = (): void => { if (!closed) rl.prompt() }
  /** the command holding the prompt: what Ctrl-C stops */
  let fg: { task?: { id: string, follow: boolean }, cancelling: boolean, detach: () => void } | undefined

  /** runs one line in the foreground: its events and answer printed until it ends or the REPL stops waiting */
  const foreground = async (line: string): Promise<boolean | 'quit'> => {
    let detach!: () => void
    const detached = new Promise<never>((_resolve, reject) => { detach = () => { reject(new Detached('stopped waiting')) } })
    detached.catch(() => {})
    const me: NonNullable<typeof fg> = { cancelling: false, detach }
    fg = me
    let gone = false
    const exec: Exec = async (command, args, onEvent) => await Promise.race([
      opts.exec(command, args, e => {
        if (gone) return
        const accepted = (e as { accepted?: { id: string, follow?: boolean } }).accepted
        if (accepted != null) me.task = { id: accepted.id, follow: accepted.follow === true }
        onEvent?.(e)
      }),
      detached
    ])
    try {
      return await runLine(line, exec, write, writeErr)
    } finally {
      gone = true
      if (fg === me) fg = undefined
    }
  }

  prompt()
  return await new Promise<number>(resolve => {
    let busy = Promise.resolve()
    rl.on('line', line => {
      // a cancel does not wait its turn: it is how a task being followed (which holds the prompt) is stopped
      const cancel = /^\s*task\s+cancel\s+(\S+)\s*$/.exec(line)
      if (cancel != null) {
        saveHistory(opts.historyFile, line)
        // the task in the foreground prints its own end (cancelled): one record, not two
        const ours = fg?.task?.id === cancel[1]
        if (ours) { fg!.cancelling = true; write(`cancelling task ${cancel[1]}…`) }
        void runLine(line, opts.exec, ours ? () => {} : write, writeErr)
        return
      }
      busy = busy.then(async () => {
        if (closed) return
        if (line.trim() !== '') saveHistory(opts.historyFile, line)
        const r = await foreground(line)
        if (r === 'quit') { rl.close(); return }
        prompt()
      }).catch((err: Error) => { writeErr(`error: ${err.message}`); prompt() })
    })
    // Ctrl-C: cancels the task in the foreground (again: stops waiting for it), stops waiting for any other
    // command, and at the prompt clears the line
    rl.on('SIGINT', () => {
      const now = fg
      if (now == null) {
        // the line typed so far stays on the screen, as a shell leaves it; the new prompt starts empty
        opts.output.write(rl.line === '' ? '^C (quit, exit or Ctrl-D leaves)\n' : '^C\n')
        rl.write(null, { ctrl: true, name: 'e' })
        rl.write(null, { ctrl: true, name: 'u' })
        prompt()
        return
      }
      const task = now.task
      if (task != null && !now.cancelling) {
        now.cancelling = true
        write(`^C cancelling task ${task.id}… (Ctrl-C again stops waiting; the cancel goes on)`)
        void opts.exec('task', ['cancel', task.id]).catch((err: Error) => { writeErr(`error: ${err.message}`) })
        return
      }
      write(task != null
        ? `^C stopped waiting for task ${task.id}; it goes on in the node (tasks shows it, task cancel ${task.id} stops it)`
        : '^C stopped waiting; the command goes on in the node')
      now.detach()
    })
    // Ctrl-D or quit: leave now, whatever holds the prompt
    rl.on('close', () => {
      closed = true
      const task = fg?.task
      if (task != null && !fg!.cancelling) write(`\nleaving; task ${task.id} goes on (task cancel ${task.id} stops it)`)
      fg?.detach()
      resolve(0)
    })
  })
}

function loadHistory (file: string | undefined): string[] {
  if (file == null) return []
  try {
    return readFileSync(file, 'utf8').split('\n').filter(l => l !== '').reverse().slice(0, 1000)
  } catch {
    return []
  }
}

function saveHistory (file: string | undefined, line: string): void {
  if (file == null) return
  try { appendFileSync(file, line.replace(/\n/g, ' ') + '\n', { mode: 0o600 }) } catch {}
}
