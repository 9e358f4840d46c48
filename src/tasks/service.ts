import { join } from 'node:path'
import { TaskError } from './types.js'
import { commandHandler } from './handlers/command.js'
import { computeHandler, type ComputeHandler } from './handlers/compute.js'
import { echoHandler } from './handlers/echo.js'
import { storageHandlers } from './handlers/storage.js'
import { Executor } from './executor.js'
import { Ledger } from './ledger.js'
import { rawEchoProtocol, TaskNetwork, taskProtocol } from './network.js'
import { Submitter } from './submitter.js'
import type { Handler } from './handlers/handler.js'
import type { NodeConfig } from '../config/types.js'
import type { Logger } from '../logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../node/libp2p.js'

export interface Tasks {
  submitter: Submitter
  /** present on workers */
  executor?: Executor
  ledger?: Ledger
  /** a member was declared gone: its in-flight tasks are retried elsewhere at once */
  memberGone(peer: string): void
  start(): Promise<void>
  stop(): Promise<void>
}

export interface TasksDeps {
  libp2p: Node
  membership: () => Membership
  rtt: (peer: string) => number | undefined
  metrics: Metrics
  logger: Logger
  /** environment handed to configured handler commands */
  env: Record<string, string | undefined>
}

/** Which handlers a worker runs: built-ins by capability, configured ones whose capability it offers. */
export function buildHandlers (config: NodeConfig, compute: () => ComputeHandler): Handler[] {
  const caps = new Set(config.node.capabilities)
  const handlers: Handler[] = [echoHandler]
  if (caps.has('compute')) handlers.push(compute())
  if (caps.has('storage')) handlers.push(...storageHandlers(config.node.dataDir, config.tasks.storageReplicas))
  return handlers
}

export function createTasks (config: NodeConfig, deps: TasksDeps): Tasks {
  const log = deps.logger
  const worker = config.node.role === 'worker'
  let compute: ComputeHandler | undefined
  let executor: Executor | undefined
  let ledger: Ledger | undefined
  // handlers submit tasks too (storage replication): through the submitter made below
  const submit = async (spec: Parameters<Submitter['submit']>[0]): Promise<{ ok: boolean, worker?: string, error?: string }> => {
    try {
      const r = (await submitter.submit(spec)).results[0]
      return { ok: r?.ok === true, worker: r?.worker, error: r?.error }
    } catch (err: any) {
      return { ok: false, error: err.message }
    }
  }
  if (worker) {
    ledger = new Ledger(join(config.node.dataDir, 'rewards.json'))
    const handlers = buildHandlers(config, () => (compute = computeHandler(config.tasks.computeThreads)))
    const caps = new Set(config.node.capabilities)
    for (const [type, h] of Object.entries(config.tasks.handlers)) {
      if (caps.has(h.capability)) handlers.push(commandHandler(type, h, deps.env))
    }
    executor = new Executor(handlers, {
      maxConcurrency: config.tasks.maxConcurrency,
      maxQueue: config.tasks.maxQueue,
      maxPayload: config.tasks.maxPayload,
      dedupTtlMs: config.tasks.dedupTtlMs,
      dedupMaxEntries: config.tasks.dedupMaxEntries,
      dedupMaxBytes: config.tasks.dedupMaxBytes,
      defaultTimeoutMs: config.tasks.defaultTimeoutMs
    }, {
      selfPeerId: deps.libp2p.peerId.toString(),
      selfPeerIdBytes: deps.libp2p.peerId.toMultihash().bytes,
      metrics: deps.metrics,
      logger: log.child({ c: 'executor' }),
      ledger,
      submit
    })
  }
  const pv = config.network.protocolVersion
  const network = new TaskNetwork(deps.libp2p, executor, {
    protocol: taskProtocol(pv), maxPayload: config.tasks.maxPayload, rawEcho: config.tasks.rawEcho ? rawEchoProtocol(pv) : undefined,
    allowedSubmitters: config.tasks.allowedSubmitters, rateLimit: config.tasks.rateLimit, rateBurst: config.tasks.rateBurst
  }, deps.metrics, log.child({ c: 'task-net' }))
  // membership is built after the executor (it advertises the executor's types): read it late
  const submitter = new Submitter({ maxPayload: config.tasks.maxPayload, defaultTimeoutMs: config.tasks.defaultTimeoutMs, maxRetries: config.tasks.maxRetries }, {
    selfPeerId: deps.libp2p.peerId.toString(),
    selfName: config.node.name,
    selfCapabilities: config.node.capabilities,
    membership: { members: () => deps.membership().members(), get: id => deps.membership().get(id) },
    network,
    local: executor,
    rtt: deps.rtt,
    metrics: deps.metrics,
    logger: log.child({ c: 'submitter' })
  })
  return {
    submitter,
    executor,
    ledger,
    memberGone (peer) {
      void network.abandon(peer, 'the worker missed its heartbeats (declared gone)')
    },
    async start () {
      await ledger?.load()
      await network.start()
    },
    async stop () {
      executor?.stop()
      await network.stop()
      await compute?.close()
      await ledger?.flush()
    }
  }
}

export { TaskError }
