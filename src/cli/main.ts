import { join } from 'node:path'
import { Command, CommanderError } from 'commander'
import { loadConfig } from '../config/load.js'
import { ControlClient } from '../control/client.js'
import { AlreadyRunningError, ConfigError, exitCodeOf, NotRunningError, UsageError } from '../util/errors.js'
import { createLogger, LogRing, resolveLogLevel } from '../util/logger.js'
import { VERSION } from '../util/version.js'
import { formatEvent, formatResult } from './format.js'
import { runRepl } from './repl.js'
import { withPayloadFile } from './payload-file.js'
import type { NodeConfig } from '../config/types.js'

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

interface GlobalOpts { config?: string, json?: boolean, wide?: boolean }

function configPath (opts: GlobalOpts): string {
  const path = opts.config ?? process.env.P2P_CONFIG_PATH
  if (path == null || path === '') throw new UsageError('no config file: pass --config <file> or set P2P_CONFIG_PATH')
  return path
}

function load (opts: GlobalOpts): NodeConfig {
  return loadConfig(configPath(opts), process.env)
}

function logger (config: NodeConfig, ring?: LogRing) {
  return createLogger({ level: resolveLogLevel(config.logging.level, process.env), pretty: process.stderr.isTTY === true, name: config.node.name, ring })
}

/** the libp2p stack loads only when this process becomes a node, so client commands start fast */
async function daemon (config: NodeConfig, repl: boolean): Promise<number> {
  const { runDaemon } = await import('./daemon.js')
  // set by whatever starts nodes for tests, benchmarks and the local network: they must not outlive it
  const exitWithParent = process.env.P2P_EXIT_WITH_PARENT != null && !['', '0', 'false'].includes(process.env.P2P_EXIT_WITH_PARENT)
  const logs = new LogRing()
  return await runDaemon(config, logger(config, logs), { repl, exitWithParent, logs })
}

async function tryAttach (config: NodeConfig): Promise<ControlClient | undefined> {
  try {
    return await ControlClient.connect(config.control.socket)
  } catch (err) {
    if (err instanceof NotRunningError) return undefined
    throw err
  }
}

/** Default action: attach a REPL to the daemon of this config if one runs, else start the daemon. */
async function startOrAttach (opts: GlobalOpts): Promise<number> {
  const config = load(opts)
  const client = await tryAttach(config)
  if (client != null) {
    const interactive = process.stdin.isTTY === true
    const code = await runRepl({
      exec: async (command, args, onEvent) => await client.request(command, args, onEvent),
      input: process.stdin, output: process.stdout, errors: process.stderr, interactive,
      prompt: `${config.node.name}> `, historyFile: join(config.node.dataDir, 'repl_history'),
      // what leaving does: an attached REPL leaves its node running, unless whoever started it says otherwise
      // (./start.sh: leaving stops the whole local network)
      banner: interactive ? `attached to the running ${config.node.role} ${config.node.name}; type help. ${process.env.P2P_REPL_LEAVING ?? 'quit, exit or Ctrl-D leaves; the node keeps running'}` : undefined
    })
    client.close()
    return code
  }
  // no daemon: become it. Only a terminal gets a REPL; a pod's empty stdin must never stop the node.
  return await daemon(config, process.stdin.isTTY === true)
}

async function oneShot (command: string, opts: GlobalOpts, args: string[] = []): Promise<number> {
  const config = load(opts)
  const client = await ControlClient.connect(config.control.socket)
  try {
    // a followed task's output as it comes (not with --json: that prints one document)
    let accepted: string | undefined
    const onEvent = (e: unknown): void => {
      accepted = (e as { accepted?: { id: string } }).accepted?.id ?? accepted
      if (opts.json === true) return
      const line = formatEvent(e)
      if (line != null) process.stdout.write(line + '\n')
    }
    // Ctrl-C on a one-shot task stops this command, not the task: say so (and how to stop the task)
    process.once('SIGINT', () => {
      process.stderr.write(accepted != null ? `\nstopped waiting; task ${accepted} goes on in the node (task cancel ${accepted} --config … stops it)\n` : '\ninterrupted\n')
      process.exit(130)
    })
    const result = await client.request(command, args, onEvent)
    process.stdout.write(formatResult(command, result, { json: opts.json === true, wide: opts.wide === true }) + '\n')
    // a task that ran and failed (or was cancelled) is a runtime failure
    const state = (result as { state?: string }).state
    return command === 'task' && (state === 'failed' || state === 'cancelled') && args[0] !== 'cancel' ? EXIT.failure : EXIT.ok
  } finally {
    client.close()
  }
}

export function buildProgram (run: (p: Promise<number>) => void): Command {
  const program = new Command('p2p-node')
    .description('A peer-to-peer network node (bootstrap, relay or worker) on libp2p.\nWith no command: attach a REPL to the running node of --config, or start that node.')
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'node config file (default: $P2P_CONFIG_PATH)')
    .option('--json', 'machine-readable output for one-shot commands')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => { write(str) } })
    // a word that is no command reaches the default action: say so, instead of commander's "too many arguments"
    .argument('[command]')
    .usage('[options] [command]')
    .action((word?: string) => {
      if (word != null) {
        const names = program.commands.map(c => c.name())
        run(Promise.reject(new UsageError(`unknown command: ${word} (commands: ${names.join(', ')}; p2p-node --help describes them)`)))
        return
      }
      run(startOrAttach(program.opts()))
    })

  program.command('start')
    .description('start the node in the foreground as a daemon (never attaches, never reads stdin)')
    .action(() => {
      run((async () => {
        const config = load(program.opts())
        // a second daemon for the same config would fail on its listen address with libp2p's raw error
        const running = await tryAttach(config)
        if (running != null) {
          running.close()
          throw new AlreadyRunningError(`a node for this config already runs (its control socket ${config.control.socket} answers): attach with p2p-node --config ${config.file ?? '<file>'}, or stop it first`)
        }
        return await daemon(config, false)
      })())
    })
  for (const [name, description] of [
    ['peers', 'list every known node of the running daemon'],
    ['status', 'show the running daemon\'s own status'],
    ['capabilities', 'show capabilities of the daemon and of the network'],
    ['topology', 'who is connected to whom (the daemon asks the members it is connected to)'],
    ['drain', 'leave the network without losing a task, then stop: no new task, failover handed on, the running ones finished (scale-in; what SIGTERM does)']
  ] as const) {
    const cmd = program.command(name).description(description)
      .option('-c, --config <file>', 'node config file (default: $P2P_CONFIG_PATH)')
      .option('--json', 'print JSON')
    if (name === 'peers') cmd.option('--wide', 'whole peer ids and every address')
    cmd.action((cmdOpts: GlobalOpts & { wide?: boolean }) => { run(oneShot(name, { ...program.opts(), ...cmdOpts })) })
  }
  program.command('failover').description('failover services of the running daemon; failover handoff <service> moves one on')
    .argument('[words...]')
    .option('-c, --config <file>', 'node config file (default: $P2P_CONFIG_PATH)')
    .option('--json', 'print JSON')
    .action((words: string[], cmdOpts: GlobalOpts) => { run(oneShot('failover', { ...program.opts(), ...cmdOpts }, words)) })
  program.command('keygen')
    .description('write a swarm key (network.psk_file), a peer identity (node.identity_file) and an API token (metrics.api_token_file), mode 0600')
    .option('--out <dir>', 'directory to write swarm.key, peer.key and api.token into', '.')
    .option('--force', 'replace existing files')
    .option('--json', 'print JSON')
    .action((cmdOpts: { out: string, force?: boolean, json?: boolean }) => {
      run((async () => {
        const { keygen } = await import('./keygen.js')
        const r = await keygen(cmdOpts.out, cmdOpts.force === true)
        process.stdout.write(cmdOpts.json === true || program.opts().json === true
          ? JSON.stringify(r, null, 2) + '\n'
          : `peer id     ${r.peerId}\nidentity    ${r.identityFile}\nswarm key   ${r.swarmKeyFile}\napi token   ${r.tokenFile}\n`)
        return EXIT.ok
      })())
    })
  program.command('tasks').description('recent tasks submitted through the running daemon')
    .option('-c, --config <file>', 'node config file (default: $P2P_CONFIG_PATH)')
    .option('--json', 'print JSON')
    .action((cmdOpts: GlobalOpts) => { run(oneShot('tasks', { ...program.opts(), ...cmdOpts })) })
  program.command('task')
    .description('run a task through the running daemon: task <type> [payload | --payload-file PATH|-] [--timeout 5s] [--reward N] [--capability NAME] [--broadcast] [--retries N] [--cost N] [--param k=v] [--follow]; task cancel <id>')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action((_words: string[], _opts: unknown, cmd: Command) => {
      // everything but our own --config/--json goes to the task parser on the daemon
      const words: string[] = []
      const own: GlobalOpts = { ...program.opts() }
      for (let i = 0; i < cmd.args.length; i++) {
        const w = cmd.args[i]
        if (w === '--json') own.json = true
        else if (w === '--config' || w === '-c') own.config = cmd.args[++i]
        else if (w.startsWith('--config=')) own.config = w.slice('--config='.length)
        else words.push(w)
      }
      try {
        run(oneShot('task', own, withPayloadFile(words)))
      } catch (err) {
        run(Promise.reject(err))
      }
    })
  return program
}

export async function main (argv: string[]): Promise<void> {
  let pending: Promise<number> | undefined
  const program = buildProgram(p => { pending = p })
  try {
    program.parse(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage
      return
    }
    throw err
  }
  try {
    process.exitCode = await (pending ?? Promise.resolve(EXIT.ok))
  } catch (err: any) {
    const code = exitCodeOf(err)
    process.stderr.write(err instanceof ConfigError ? `config error:\n${err.message}\n` : `p2p-node: ${err.message}\n`)
    process.exitCode = code
  }
  // a daemon that stopped (or a client that finished) should not wait for stray timers
  if (pending != null) setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref()
}

// output piped into `head` and closed early is not an error of ours
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err })
}

process.on('unhandledRejection', (reason: any) => {
  process.stderr.write(`p2p-node: unhandled rejection: ${reason?.stack ?? reason}\n`)
})

await main(process.argv)
