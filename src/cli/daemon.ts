import { childEnv } from '../config/child-env.js'
import { UsageError } from '../util/errors.js'
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { formatByteSize } from '../config/schema.js'
import { createTaskApi } from '../control/commands.js'
import { ControlServer } from '../control/server.js'
import { consoleDir, loadConsole } from '../control/console.js'
import { HttpServer } from '../control/http.js'
import { P2PNode } from '../p2p-node.js'
import { runRepl } from './repl.js'
import type { NodeConfig } from '../config/types.js'
import type { Logger, LogRing } from '../util/logger.js'

export interface DaemonOptions {
  /** open a REPL on this process's terminal */
  repl: boolean
  /** stop when the process that started this one dies, however it dies (P2P_EXIT_WITH_PARENT) */
  exitWithParent?: boolean
  /** the latest log lines, served as GET /api/logs */
  logs?: LogRing
}

/**
 * Runs a node until SIGTERM/SIGINT (or `quit` in its own REPL). The first signal stops it gracefully;
 * a second one, or a stop that takes longer than the grace period, exits at once.
 */
export async function runDaemon (config: NodeConfig, logger: Logger, opts: DaemonOptions): Promise<number> {
  for (const w of config.warnings ?? []) logger.warn({ file: config.file }, w)
  privateDataDir(config.node.dataDir, logger)
  // the programs it starts get an allowlisted environment, not the node's whole one (docs/guides/security.md, "Local")
  // declared before the node: `status` reads where it serves /metrics once it is bound
  let http: HttpServer | undefined
  const metricsUrl = (): string | undefined => http?.listening === true ? `http://${config.metrics.host === '0.0.0.0' ? '127.0.0.1' : config.metrics.host}:${http.port}` : undefined
  const node = await P2PNode.create(config, logger, { env: childEnv(process.env, config.node.passEnv), metricsUrl })
  const commands = node.commands
  http = config.metrics.enabled
    ? new HttpServer({
      logger: logger.child({ c: 'http' }),
      registry: node.metrics.registry,
      health: () => node.health(),
      api: { status: async args => withoutPid(await commands.status(args)), peers: commands.peers, capabilities: commands.capabilities, tasks: commands.tasks, failover: async () => await commands.failover([]), topology: commands.topology, history: () => node.history.samples(), ...(opts.logs != null ? { logs: (args: string[]) => opts.logs!.read(args[0]) } : {}) },
      tasks: createTaskApi({ submitter: node.submitter }),
      handoff: async service => await commands.failover(['handoff', service]) as string,
      events: node.events,
      console: loadConsole(consoleDir(import.meta.url)),
      onDenied: reason => { node.metrics.accessDenied.inc({ what: `api_${reason}` }) },
      onSlowReader: () => { node.metrics.eventClientsDropped.inc() }
    }, { host: config.metrics.host, port: config.metrics.port, apiToken: config.metrics.apiToken, allowedHosts: config.metrics.allowedHosts, ...taskBodyLimit(config.tasks.maxPayload) })
    : undefined
  // a task's payload travels in its request line (as base64 from --payload-file): room for one well over
  // tasks.max_payload, so that the daemon itself answers "payload too large" (exit 2) instead of a cut connection
  const control = new ControlServer({ commands, logger: logger.child({ c: 'control' }) }, { path: config.control.socket, maxRequestBytes: 4 * taskBodyLimit(config.tasks.maxPayload).maxBodyBytes })

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      await control.stop().catch(() => {})
      await http?.stop().catch(() => {})
      await node.stop()
    })()
    await stopping
  }
  // SIGTERM, SIGINT and `p2p-node drain` leave the same way: the node drains (no task lost: node.drain), then the
  // servers close and the process exits 0
  let finish: (code: number) => void = () => {}
  let leaving: Promise<Awaited<ReturnType<P2PNode['drain']>>> | undefined
  const leave = async (): Promise<Awaited<ReturnType<P2PNode['drain']>>> => {
    if (leaving == null) {
      const force = setTimeout(() => { logger.error('graceful stop took too long; exiting'); process.exit(1) }, config.node.drainTimeoutMs + 10_000)
      force.unref()
      leaving = node.drain()
    }
    return await leaving
  }
  const shutdown = async (): Promise<void> => {
    try {
      await stop()
      finish(0)
    } catch (err: any) {
      logger.error({ err: err.message }, 'stop failed')
      finish(1)
    }
  }
  // the answer goes out first, then the servers close
  commands.drain = async () => { const r = await leave(); setImmediate(() => { void shutdown() }); return r }

  await node.start()
  await control.start()
  await http?.start()

  const done = new Promise<number>(resolve => {
    finish = resolve
    let signals = 0
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting now')
        process.exit(1)
      }
      logger.info({ signal: sig }, 'leaving: draining, then stopping')
      void leave().then(shutdown, async err => { logger.error({ err: err.message }, 'drain failed'); await shutdown() })
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    // an orphan is re-parented (to init or a subreaper): a parent that died without stopping us is gone
    if (opts.exitWithParent === true) {
      const parent = process.ppid
      const watch = setInterval(() => {
        if (process.ppid === parent) return
        clearInterval(watch)
        logger.warn({ parent }, 'the process that started this node is gone (P2P_EXIT_WITH_PARENT): stopping')
        onSignal('SIGTERM')
      }, 500)
      watch.unref()
    }
  })

  if (opts.repl) {
    const exec = async (command: string, args: string[], onEvent?: (e: unknown) => void): Promise<unknown> => {
      const handler = commands[command]
      if (handler == null) throw new UsageError(`unknown command: ${command}`)
      return await handler(args, { emit: onEvent })
    }
    const code = await Promise.race([
      runRepl({
        exec, input: process.stdin, output: process.stdout, interactive: true,
        prompt: `${config.node.name}> `, historyFile: join(config.node.dataDir, 'repl_history'),
        banner: `p2p-node ${config.node.role} ${config.node.name} (${node.peerId}); type help. This REPL runs the node: quit, exit or Ctrl-D stops it`
      }),
      done
    ])
    await stop()
    return code
  }
  return await done
}

/** POST /api/tasks carries the payload as base64 (4/3 of its size) inside JSON: room for that and the other fields */
export function taskBodyLimit (maxPayload: number): { maxBodyBytes: number, maxBodyReason: string } {
  return {
    maxBodyBytes: Math.ceil(maxPayload * 4 / 3) + 4 + 16384,
    maxBodyReason: `the limit follows tasks.max_payload (${formatByteSize(maxPayload)}): a payload of that size as base64, plus 16 KiB for the other fields`
  }
}

/** the status as HTTP serves it: the process id is for the local launcher (over the control socket), not for the network */
function withoutPid (status: unknown): unknown {
  if (typeof status !== 'object' || status == null) return status
  const { pid: _pid, ...rest } = status as Record<string, unknown>
  return rest
}

/**
 * The data dir holds the node's key, its journal, state files and blobs: private to its user (0700). Made so when
 * new; an existing one that others may read is tightened, or warned about when it is not ours to change.
 */
function privateDataDir (dir: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const mode = statSync(dir).mode & 0o777
  if ((mode & 0o077) === 0) return
  try {
    chmodSync(dir, mode & 0o700)
    logger.info({ dir, was: mode.toString(8) }, 'data dir made private (0700)')
  } catch (err: any) {
    logger.warn({ dir, mode: mode.toString(8), err: err.message }, 'the data dir is readable by others and cannot be changed')
  }
}
