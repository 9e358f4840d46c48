import { join } from 'node:path'
import { commandHandler } from './handlers/command.js'
import { computeHandler, type ComputeHandler } from './handlers/compute.js'
import { echoHandler } from './handlers/echo.js'
import { moduleHandler, type ModuleHandler } from './handlers/module.js'
import { storageHandlers } from './handlers/storage.js'
import { Executor } from './executor.js'
import { Ledger } from './ledger.js'
import { TaskNetwork, type TaskNetworkComponents } from './network.js'
import { streamProtocol } from '../messages/protocols.js'
import { Submitter } from './submitter.js'
import { TaskJournal } from './journal.js'
import type { Handler, HandlerContext } from './handlers/handler.js'
import type { NodeConfig } from '../config/types.js'
import type { Logger } from '../util/logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PeerId, Startable } from '@libp2p/interface'

/** a worker's side of tasks: the handlers, the executor, the reward ledger */
export interface WorkerTasks extends Startable {
  executor: Executor
  ledger: Ledger
}

export interface WorkerTasksComponents {
  peerId: PeerId
  metrics: Metrics
  logger: Logger
  /** the node's task submission: handlers submit through it (storage replication); used only while a task runs */
  submission: () => Pick<TaskSubmission, 'submitter'>
}

export interface TaskInit {
  config: NodeConfig
  /** environment handed to configured handler commands */
  env: Record<string, string | undefined>
}

/** Which handlers a worker runs: built-ins by capability, configured ones whose capability it offers. */
export function buildHandlers (config: NodeConfig, compute: () => ComputeHandler): Handler[] {
  const caps = new Set(config.node.capabilities)
  const handlers: Handler[] = [echoHandler]
  if (caps.has('compute')) handlers.push(compute())
  if (caps.has('storage')) handlers.push(...storageHandlers(config.node.dataDir, config.tasks.storageReplicas, config.tasks.storageMaxBytes))
  return handlers
}

export function createWorkerTasks (components: WorkerTasksComponents, init: TaskInit): WorkerTasks {
  const { config } = init
  let compute: ComputeHandler | undefined
  const ledger = new Ledger(join(config.node.dataDir, 'rewards.json'))
  const handlers = buildHandlers(config, () => (compute = computeHandler(config.tasks.computeThreads)))
  const caps = new Set(config.node.capabilities)
  const modules: ModuleHandler[] = []
  for (const [type, h] of Object.entries(config.tasks.handlers)) {
    if (!caps.has(h.capability)) continue
    if (h.module != null) {
      const m = moduleHandler(type, { ...h, module: h.module }, init.env, components.logger)
      modules.push(m)
      handlers.push(m)
    } else if (h.command != null) {
      handlers.push(commandHandler(type, { ...h, command: h.command }, init.env))
    }
  }
  // handlers submit tasks too (storage replication)
  const submit: HandlerContext['submit'] = async spec => {
    try {
      const r = (await components.submission().submitter.submit(spec)).results[0]
      return { ok: r?.ok === true, worker: r?.worker, error: r?.error }
    } catch (err: any) {
      return { ok: false, error: err.message }
    }
  }
  const executor = new Executor({ metrics: components.metrics, logger: components.logger.child({ c: 'executor' }), ledger, submit }, {
    handlers,
    selfPeerId: components.peerId.toString(),
    selfPeerIdBytes: components.peerId.toMultihash().bytes,
    maxConcurrency: config.tasks.maxConcurrency,
    maxQueue: config.tasks.maxQueue,
    maxQueueBytes: config.tasks.maxQueueBytes,
    maxPayload: config.tasks.maxPayload,
    maxTimeoutMs: config.tasks.maxTimeoutMs,
    maxReward: config.tasks.maxReward,
    dedupTtlMs: config.tasks.dedupTtlMs,
    dedupMaxEntries: config.tasks.dedupMaxEntries,
    dedupMaxBytes: config.tasks.dedupMaxBytes,
    defaultTimeoutMs: config.tasks.defaultTimeoutMs
  })
  return {
    executor,
    ledger,
    async start () {
      const { keptAside } = await ledger.load()
      if (keptAside != null) components.logger.warn({ file: keptAside }, 'the reward ledger was not readable: kept aside, starting an empty one')
    },
    async stop () {
      executor.stop()
      await compute?.close()
      await Promise.all(modules.map(async m => { await m.close() }))
      await ledger.flush()
    }
  }
}

/**
 * Submitting tasks (every role), and serving them to others (workers). Starts by reading the task journal back
 * and serving the task protocol; takes up the journal's unfinished `wait: false` tasks once the whole node has
 * started (afterStart). A member declared gone has its in-flight tasks retried elsewhere at once.
 */
export interface TaskSubmission extends Startable {
  submitter: Submitter
}

export interface TaskSubmissionComponents {
  libp2p: TaskNetworkComponents['libp2p']
  membership: Pick<Membership, 'members' | 'get' | 'onChange'>
  /** this node's executor (workers): tasks run here too, and handlers submit through the submitter made here */
  executor?: Executor
  rtt: (peer: string) => number | undefined
  metrics: Metrics
  logger: Logger
}

export function createTaskSubmission (components: TaskSubmissionComponents, init: { config: NodeConfig }): TaskSubmission {
  const { config } = init
  const { libp2p, executor, metrics, logger } = components
  const pv = config.network.protocolVersion
  const network = new TaskNetwork({ libp2p, executor, metrics, logger: logger.child({ c: 'task-net' }) }, {
    protocol: streamProtocol('task', pv), maxPayload: config.tasks.maxPayload, rawEcho: config.tasks.rawEcho ? streamProtocol('raw-echo', pv) : undefined,
    allowedSubmitters: config.tasks.allowedSubmitters, rateLimit: config.tasks.rateLimit, rateBurst: config.tasks.rateBurst
  })
  // the records of the tasks this node takes (REPL, CLI, API), on disk: `tasks` answers after a restart
  const journal = new TaskJournal(join(config.node.dataDir, 'tasks.jsonl'))
  const submitterLog = logger.child({ c: 'submitter' })
  const submitter = new Submitter({ membership: components.membership, network, local: executor, journal, rtt: components.rtt, connected: peer => libp2p.getConnections(peer).some(c => c.status === 'open'), metrics, logger: submitterLog }, {
    selfPeerId: libp2p.peerId.toString(),
    selfName: config.node.name,
    selfCapabilities: config.node.capabilities,
    maxPayload: config.tasks.maxPayload,
    defaultTimeoutMs: config.tasks.defaultTimeoutMs,
    maxRetries: config.tasks.maxRetries,
    keep: config.tasks.recordsMax,
    keepBytes: config.tasks.recordsMaxBytes,
    resultTtlMs: config.tasks.resultTtlMs,
    maxPending: config.tasks.maxPending,
    maxPendingBytes: config.tasks.maxPendingBytes
  })
  let unwatch: (() => void) | undefined
  return {
    submitter,
    async start () {
      const loaded = submitter.load()
      if (loaded.kept + loaded.resumable + loaded.interrupted + loaded.unreadable > 0) submitterLog.info(loaded, 'task records read back from the journal')
      await network.start()
      unwatch = components.membership.onChange(e => {
        if (e.type === 'gone') void network.abandon(e.peerId, 'the worker missed its heartbeats (declared gone)')
      })
    },
    afterStart () { submitter.resume() },
    async stop () {
      unwatch?.()
      await network.stop()
      journal.close()
    }
  }
}
