import { appendFileSync, readFileSync } from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { formatEvent, formatResult } from './format.js'
import { parseLine } from './parse-line.js'
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
  { name: 'task', usage: 'task <type> <payload> [options] [--json]', help: 'run a task on the network and print its result; options: --timeout 5s --reward N --capability NAME --broadcast --retries N --cost N --param k=v --follow (print output as it comes); task cancel <id> stops one' },
  { name: 'tasks', usage: 'tasks [--json]', help: 'recent tasks submitted through this node, with their state' },
  { name: 'failover', usage: 'failover [handoff <service>] [--json]', help: 'each supervised service: this member\'s state, term, the active member, every member; handoff moves it on' },
  { name: 'quit', usage: 'quit', help: 'leave the REPL (an attached REPL leaves the daemon running)' }
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

/** Runs one REPL line. Returns false when the line failed. */
export async function runLine (line: string, exec: Exec, out: (s: string) => void, err: (s: string) => void): Promise<boolean | 'quit'> {
  const parsed = parseLine(line)
  if (!parsed.ok) { err(`error: ${parsed.error}`); return false }
  const [command, ...rest] = parsed.words
  if (command == null) return true
  const json = rest.includes('--json')
  const args = rest.filter(a => a !== '--json' && a !== '--wide')
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
    task: ['--json', '--timeout', '--reward', '--capability', '--broadcast', '--retries', '--cost', '--param', '--follow']
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
  rl.prompt()
  return await new Promise<number>(resolve => {
    let busy = Promise.resolve()
    rl.on('line', line => {
      // a cancel does not wait its turn: it is how a task being followed (which holds the prompt) is stopped
      if (/^\s*task\s+cancel\s/.test(line)) {
        saveHistory(opts.historyFile, line)
        void runLine(line, opts.exec, write, writeErr)
        return
      }
      busy = busy.then(async () => {
        if (line.trim() !== '') saveHistory(opts.historyFile, line)
        const r = await runLine(line, opts.exec, write, writeErr)
        if (r === 'quit') { rl.close(); return }
        rl.prompt()
      })
    })
    rl.on('SIGINT', () => { rl.close() })
    rl.on('close', () => { void busy.then(() => { resolve(0) }) })
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
