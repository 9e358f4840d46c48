/**
 * The composition root: builds every subsystem of one p2p-node in dependency order — libp2p, then the task side,
 * membership, failover, discovery, and the views and commands over them — as an ordered list of Startable parts.
 * Nothing in src imports it but the daemon (cli/daemon.ts) that runs it.
 */
import { Registry } from 'prom-client'
import { CODE_P2P } from '@multiformats/multiaddr'
import { createCommands, summarize, type CommandHandler } from './control/commands.js'
import { createEventHub, type EventHub } from './control/events.js'
import { createHistory, type History } from './control/history.js'
import { NodeViews } from './control/views.js'
import { createBootstrapper } from './discovery/bootstrap.js'
import { createMeshDialer } from './discovery/mesh.js'
import { createPinger } from './discovery/pinger.js'
import { createReachability } from './discovery/reachability.js'
import { createTopology } from './discovery/topology.js'
import { createFailoverBeats } from './failover/beats.js'
import { createFailoverSupervisor } from './failover/supervisor.js'
import { loadOrCreateIdentity } from './libp2p/identity.js'
import { buildLibp2p, type Node } from './libp2p/libp2p.js'
import { createMembership } from './membership/service.js'
import { createMemberSnapshots } from './membership/snapshot.js'
import { createMetrics, type Metrics } from './metrics/metrics.js'
import { createTaskSubmission, createWorkerTasks, type TaskSubmission } from './tasks/service.js'
import { isInternalType } from './tasks/types.js'
import { startAll, stopAll, type NodeStatus, type Part } from './util/startable.js'
import { VERSION } from './util/version.js'
import type { NodeConfig } from './config/types.js'
import type { Logger } from './util/logger.js'
import type { Submitter } from './tasks/submitter.js'
import type { Executor } from './tasks/executor.js'
import type { Membership } from './membership/service.js'
import type { FailoverSupervisor } from './failover/supervisor.js'

export interface CreateOptions {
  registry?: Registry
  /** environment for configured task handler commands and supervised programs */
  env?: Record<string, string | undefined>
  /** where this node serves /metrics (the daemon's HTTP server, once bound), for `status` */
  metricsUrl?: () => string | undefined
}

/** the parts of a node a caller may read, and those drain acts on */
interface Parts {
  libp2p: Node
  metrics: Metrics
  logger: Logger
  submitter: Submitter
  events: EventHub
  history: History
  executor?: Executor
  membership: Membership
  failover: FailoverSupervisor[]
}

/**
 * One running p2p-node: libp2p plus membership, discovery, tasks and failover, for one role. Its subsystems are
 * an ordered list of Startable parts (`parts` below): started in that order, stopped in reverse, each phase over
 * the whole list first, so every failover supervisor's beforeStop (stop the program, tell the group) runs while
 * gossip still works.
 */
export class P2PNode {
  private state: NodeStatus = 'stopped'
  /** the command table the control socket, the HTTP API and the REPL answer from */
  readonly commands: Record<string, CommandHandler>
  private readonly nodeViews: NodeViews

  private constructor (readonly config: NodeConfig, private readonly p: Parts, private readonly parts: Part[], views: (status: () => NodeStatus) => NodeViews, commands: (views: NodeViews) => Record<string, CommandHandler>) {
    this.nodeViews = views(() => this.state)
    this.commands = commands(this.nodeViews)
  }

  static async create (config: NodeConfig, logger: Logger, opts: CreateOptions = {}): Promise<P2PNode> {
    const registry = opts.registry ?? new Registry()
    const env = opts.env ?? {}
    const { node: nc, network: net } = config
    const pv = net.protocolVersion
    const worker = nc.role === 'worker'
    const { key, created } = await loadOrCreateIdentity(nc.identityFile)
    const metrics = createMetrics(registry)
    metrics.nodeInfo.set({ role: nc.role, version: VERSION, name: nc.name }, 1)
    const deniedLog = logger.child({ c: 'access' })
    const libp2p = await buildLibp2p(config, key, registry, {
      onDenied: (what, peer) => {
        metrics.accessDenied.inc({ what: `connection_${what}` })
        deniedLog.debug({ peer, what }, 'connection refused: peer not in network.allowed_peers')
      },
      logger,
      metrics
    })
    logger.info({ peerId: libp2p.peerId.toString(), identity: nc.identityFile, created }, created ? 'created a new peer identity' : 'loaded peer identity')
    const events = createEventHub({ onDropped: () => { metrics.eventClientsDropped.inc() } })
    const pinger = createPinger({ libp2p, logger, metrics }, { intervalMs: net.pingIntervalMs })
    // handlers submit through the node's submitter, made below: a declared component, read only while a task runs
    let submission: TaskSubmission | undefined
    const workerTasks = worker
      ? createWorkerTasks({ peerId: libp2p.peerId, metrics, logger, submission: () => submission! }, { config, env })
      : undefined
    const membership = createMembership({
      peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, addresses: () => libp2p.getMultiaddrs().map(a => a.decapsulateCode(CODE_P2P)), work: workerTasks?.executor, logger, metrics
    }, {
      protocolVersion: pv,
      name: nc.name,
      role: nc.role,
      version: VERSION,
      capabilities: worker ? nc.capabilities : [],
      intervalMs: nc.heartbeatIntervalMs,
      misses: nc.heartbeatMisses,
      expiryMs: nc.memberExpiryMs,
      infrastructurePeers: new Set(net.infrastructurePeers),
      allowedPeers: new Set(net.allowedPeers)
    })
    const tasks = submission = createTaskSubmission({ libp2p, membership, executor: workerTasks?.executor, rtt: pinger.settledRtt, metrics, logger }, { config })
    const beats = createFailoverBeats({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, streams: libp2p, metrics, logger }, { protocolVersion: pv })
    // workers supervise the configured programs (one supervisor each)
    const failover = !worker
      ? []
      : config.failover.services.map(service => createFailoverSupervisor({ beats, logger, metrics, onPhase: change => { events.publish('failover', change) } },
        { service, self: libp2p.peerId.toString(), env, dataDir: nc.dataDir, nodeName: nc.name }))
    const mesh = createMeshDialer({ libp2p, membership, logger, metrics }, {
      meshNetwork: net.meshNetwork, dialTimeoutMs: net.connectionTimeoutMs, maxConnections: nc.maxConnections, relayClient: worker && net.enableRelay
    })
    const reachability = createReachability({ libp2p, logger, metrics }, { protocolVersion: pv, serve: !worker, check: worker })
    const topology = createTopology({ libp2p, membership, metrics, logger }, { protocolVersion: pv, name: nc.name, role: nc.role })
    const snapshots = createMemberSnapshots({ libp2p, membership, metrics, logger }, { protocolVersion: pv })
    const bootstrapper = createBootstrapper({ libp2p, logger, metrics }, {
      addresses: net.bootstrap, dialTimeoutMs: net.connectionTimeoutMs, maxBackoffMs: net.bootstrapMaxBackoffMs
    })
    // the node's own history (GET /api/history) and events (GET /api/events)
    let gossipMessages = 0
    libp2p.services.pubsub.addEventListener('message', () => { gossipMessages++ })
    const history = createHistory({ connections: () => libp2p.getConnections().length, messages: () => gossipMessages, onSample: s => { events.publish('sample', s) } }, { intervalMs: config.metrics.historyIntervalMs })
    membership.onChange(e => { events.publish('member', { change: e.type, peerId: e.peerId, name: membership.get(e.peerId)?.name }) })
    tasks.submitter.onChange(r => {
      if (isInternalType(r.type)) return
      if (r.state === 'done' || r.state === 'failed' || r.state === 'cancelled') history.taskFinished(Date.now() - r.submittedAt, r.state === 'done')
      events.publish('task', summarize(r))
    })

    // the start order; stopped in reverse
    const parts: Part[] = [
      { name: 'libp2p', part: libp2p },
      { name: 'events', part: events },
      ...(workerTasks != null ? [{ name: 'worker tasks', part: workerTasks }] : []),
      { name: 'tasks', part: tasks },
      { name: 'membership', part: membership },
      { name: 'failover beats', part: beats },
      ...failover.map(f => ({ name: `failover ${f.name}`, part: f })),
      { name: 'mesh', part: mesh },
      { name: 'pinger', part: pinger },
      { name: 'reachability', part: reachability },
      { name: 'topology', part: topology },
      { name: 'member snapshots', part: snapshots },
      { name: 'bootstrap', part: bootstrapper },
      { name: 'history', part: history }
    ]
    return new P2PNode(config, { libp2p, metrics, logger, submitter: tasks.submitter, events, history, executor: workerTasks?.executor, membership, failover }, parts,
      status => new NodeViews({
        libp2p, membership, pinger, reachability, submitter: tasks.submitter, executor: workerTasks?.executor, ledger: workerTasks?.ledger, metrics
      }, { config, startedAt: Date.now(), status, metricsUrl: opts.metricsUrl ?? (() => undefined) }),
      views => createCommands({ views, submitter: tasks.submitter, failover, topology: async () => await topology.graph() }))
  }

  get peerId (): string { return this.p.libp2p.peerId.toString() }
  get libp2p (): Node { return this.p.libp2p }
  get metrics (): Metrics { return this.p.metrics }
  get submitter (): Submitter { return this.p.submitter }
  get events (): EventHub { return this.p.events }
  get history (): History { return this.p.history }
  get status (): NodeStatus { return this.state }
  health (): ReturnType<NodeViews['health']> { return this.nodeViews.health() }

  async start (): Promise<void> {
    if (this.state !== 'stopped') return
    this.state = 'starting'
    try {
      await startAll(this.parts)
    } catch (err) {
      this.state = 'stopped'
      throw err
    }
    this.state = 'running'
    this.p.logger.info({ peerId: this.peerId, role: this.config.node.role, addrs: this.p.libp2p.getMultiaddrs().map(String) }, 'node started')
  }

  /**
   * Leaves the network without losing a task (scale-in, SIGTERM, `p2p-node drain`): the node takes no new task
   * (answered BUSY, so submitters place it elsewhere at once) and hands its queued ones back the same way; its
   * next heartbeat, sent now, says so, and schedulers pass it over; its failover services are handed on; the
   * tasks it is running, and those it took, run to their end — for `node.drain_timeout` at most — and then it
   * stops. Returns what was still running or pending when it stopped.
   */
  async drain (timeoutMs = this.config.node.drainTimeoutMs): Promise<{ drainedMs: number, running: number, pending: number }> {
    if (this.state !== 'running') return { drainedMs: 0, running: 0, pending: 0 }
    const started = Date.now()
    const p = this.p
    this.state = 'draining'
    p.logger.info({ timeoutMs, running: p.executor?.runningCount ?? 0 }, 'draining: taking no new task, finishing the running ones')
    const signal = AbortSignal.timeout(timeoutMs)
    const working = p.executor?.drain(signal)
    await p.membership.publishHeartbeat().catch(() => {})
    const [, running, pending] = await Promise.all([
      Promise.all(p.failover.map(async f => { await f.stop() })),
      working ?? 0,
      p.submitter.drain(signal)
    ])
    const drainedMs = Date.now() - started
    if (running + pending > 0) p.logger.warn({ running, pending, drainedMs }, 'drain timed out (node.drain_timeout): stopping with tasks unfinished; their submitters retry them elsewhere')
    else p.logger.info({ drainedMs }, 'drained')
    await this.stop()
    return { drainedMs, running, pending }
  }

  async stop (): Promise<void> {
    if (this.state !== 'running' && this.state !== 'draining') return
    this.state = 'stopping'
    try {
      await stopAll(this.parts)
    } finally {
      this.state = 'stopped'
      this.p.logger.info('node stopped')
    }
  }
}
