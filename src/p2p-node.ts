/**
 * The composition root: builds every subsystem of one p2p-node in dependency order — libp2p, then membership,
 * the executor, the submitter, discovery, failover, and the views and commands over them — and starts and
 * stops them in order. Nothing in src imports it but the daemon (cli/daemon.ts) that runs it.
 */
import { Registry } from 'prom-client'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { createCommands, summarize, type CommandHandler } from './control/commands.js'
import { EventHub } from './control/events.js'
import { History } from './control/history.js'
import { NodeViews } from './control/views.js'
import { createBootstrapper, type Bootstrapper } from './discovery/bootstrap.js'
import { createMeshDialer, type MeshDialer } from './discovery/mesh.js'
import { createPinger, type Pinger } from './discovery/pinger.js'
import { createReachability, type Reachability } from './discovery/reachability.js'
import { createTopology, type Topology } from './discovery/topology.js'
import { createFailoverBeats, type FailoverBeats } from './failover/beats.js'
import { FailoverSupervisor } from './failover/supervisor.js'
import { CODE_P2P } from '@multiformats/multiaddr'
import { isCircuit } from './libp2p/connections.js'
import { loadOrCreateIdentity } from './libp2p/identity.js'
import { buildLibp2p, type Node } from './libp2p/libp2p.js'
import { createMembership, type Membership } from './membership/service.js'
import { createMemberSnapshots, type MemberSnapshots } from './membership/snapshot.js'
import { createMetrics, type Metrics } from './metrics/metrics.js'
import { createTaskSubmission, createWorkerTasks, type TaskSubmission, type WorkerTasks } from './tasks/service.js'
import { VERSION } from './util/version.js'
import type { NodeConfig } from './config/types.js'
import type { Logger } from './util/logger.js'
import type { Submitter } from './tasks/submitter.js'

export interface CreateOptions {
  registry?: Registry
  /** environment for configured task handler commands and supervised programs */
  env?: Record<string, string | undefined>
}

interface Parts {
  libp2p: Node
  metrics: Metrics
  logger: Logger
  pinger: Pinger
  membership: Membership
  worker?: WorkerTasks
  tasks: TaskSubmission
  bootstrapper: Bootstrapper
  mesh: MeshDialer
  reachability: Reachability
  topology: Topology
  snapshots: MemberSnapshots
  beats: FailoverBeats
  failover: FailoverSupervisor[]
  events: EventHub
  history: History
}

/** One running p2p-node: libp2p plus membership, discovery, tasks and failover, for one role. */
export class P2PNode {
  private running = false
  /** set by the daemon once its HTTP server is bound */
  metricsUrl?: string
  /** the command table the control socket, the HTTP API and the REPL answer from */
  readonly commands: Record<string, CommandHandler>
  private unwatchMembers?: () => void

  private readonly nodeViews: NodeViews

  private constructor (readonly config: NodeConfig, private readonly p: Parts) {
    this.nodeViews = new NodeViews({
      libp2p: p.libp2p, membership: p.membership, pinger: p.pinger, reachability: p.reachability, submitter: p.tasks.submitter,
      executor: p.worker?.executor, ledger: p.worker?.ledger, metrics: p.metrics
    }, { config, startedAt: Date.now(), running: () => this.running, metricsUrl: () => this.metricsUrl })
    this.commands = createCommands({ views: this.nodeViews, submitter: p.tasks.submitter, failover: p.failover, topology: async () => await p.topology.graph() })
  }

  static async create (config: NodeConfig, logger: Logger, opts: CreateOptions = {}): Promise<P2PNode> {
    const registry = opts.registry ?? new Registry()
    const env = opts.env ?? {}
    const { node: nc, network: net } = config
    const worker = nc.role === 'worker'
    const { key, created } = await loadOrCreateIdentity(nc.identityFile)
    const metrics = createMetrics(registry)
    const deniedLog = logger.child({ c: 'access' })
    const libp2p = await buildLibp2p(config, key, registry, {
      onDenied: (what, peer) => {
        metrics.accessDenied.inc({ what: `connection_${what}` })
        deniedLog.debug({ peer, what }, 'connection refused: peer not in network.allowed_peers')
      },
      logger: logger.child({ c: 'relay-search' }),
      metrics
    })
    logger.info({ peerId: libp2p.peerId.toString(), identity: nc.identityFile, created }, created ? 'created a new peer identity' : 'loaded peer identity')
    const pinger = createPinger({ libp2p, logger: logger.child({ c: 'ping' }), metrics }, { intervalMs: net.pingIntervalMs })
    const membership = createMembership({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, addresses: () => libp2p.getMultiaddrs().map(a => a.decapsulateCode(CODE_P2P)), logger: logger.child({ c: 'membership' }), metrics }, {
      protocolVersion: net.protocolVersion,
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
    const workerTasks = worker ? createWorkerTasks({ peerId: libp2p.peerId, metrics, logger }, { config, env }) : undefined
    if (workerTasks != null) membership.advertise(workerTasks.executor)
    const tasks = createTaskSubmission({ libp2p, membership, executor: workerTasks?.executor, rtt: pinger.settledRtt, metrics, logger }, { config })
    const bootstrapper = createBootstrapper({ libp2p, logger: logger.child({ c: 'bootstrap' }), metrics }, {
      addresses: net.bootstrap,
      dialTimeoutMs: net.connectionTimeoutMs,
      maxBackoffMs: net.bootstrapMaxBackoffMs
    })
    const mesh = createMeshDialer({ libp2p, membership, logger: logger.child({ c: 'mesh' }), metrics }, {
      meshNetwork: net.meshNetwork,
      dialTimeoutMs: net.connectionTimeoutMs,
      maxConnections: nc.maxConnections,
      relayClient: worker && net.enableRelay
    })
    const reachability = createReachability({ libp2p, logger: logger.child({ c: 'reachability' }), metrics }, {
      protocolVersion: net.protocolVersion,
      serve: !worker,
      check: worker
    })
    const snapshots = createMemberSnapshots({ libp2p, membership, metrics, logger: logger.child({ c: 'membership' }) }, { protocolVersion: net.protocolVersion })
    const topology = createTopology({ libp2p, membership, metrics, logger: logger.child({ c: 'topology' }) }, { protocolVersion: net.protocolVersion, name: nc.name, role: nc.role })
    // the node's own events, for GET /api/events
    const events = new EventHub({ onDropped: () => { metrics.eventClientsDropped.inc() } })
    membership.onChange(e => { events.publish('member', { change: e.type, peerId: e.peerId, name: membership.get(e.peerId)?.name }) })
    let gossipMessages = 0
    libp2p.services.pubsub.addEventListener('message', () => { gossipMessages++ })
    const history = new History({ connections: () => libp2p.getConnections().length, messages: () => gossipMessages, onSample: s => { events.publish('sample', s) } }, { intervalMs: config.metrics.historyIntervalMs })
    tasks.submitter.onChange(r => {
      if (r.type.endsWith('.replicate')) return
      if (r.state === 'done' || r.state === 'failed' || r.state === 'cancelled') history.taskFinished(Date.now() - r.submittedAt, r.state === 'done')
      events.publish('task', summarize(r))
    })
    // workers supervise the configured programs (one supervisor each)
    const beats = createFailoverBeats({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, streams: libp2p, metrics, logger: logger.child({ c: 'failover' }) },
      { protocolVersion: net.protocolVersion })
    const failover = !worker
      ? []
      // every failover log line names its service itself
      : config.failover.services.map(service => new FailoverSupervisor({ beats, logger: logger.child({ c: 'failover' }), metrics, onPhase: change => { events.publish('failover', change) } },
        { service, self: libp2p.peerId.toString(), env, dataDir: nc.dataDir, nodeName: nc.name }))
    metrics.nodeInfo.set({ role: nc.role, version: VERSION, name: nc.name }, 1)
    metrics.nodeHealthy.set(0)
    metrics.sources.relayedConnections = () => libp2p.getConnections().filter(c => c.status === 'open' && isCircuit(c.remoteAddr)).length
    const relayServer = libp2p.services.relay as { reservations?: { size: number } } | undefined
    if (relayServer?.reservations != null) {
      metrics.sources.relayReservations = () => relayServer.reservations!.size
      metrics.sources.relayData = async () => await relayedBytes(registry)
    }
    return new P2PNode(config, { libp2p, metrics, logger, pinger, membership, worker: workerTasks, tasks, bootstrapper, mesh, reachability, topology, snapshots, beats, failover, events, history })
  }

  get peerId (): string { return this.p.libp2p.peerId.toString() }
  get libp2p (): Node { return this.p.libp2p }
  get metrics (): Metrics { return this.p.metrics }
  get submitter (): Submitter { return this.p.tasks.submitter }
  get events (): EventHub { return this.p.events }
  get history (): History { return this.p.history }
  health (): ReturnType<NodeViews['health']> { return this.nodeViews.health() }

  async start (): Promise<void> {
    if (this.running) return
    const p = this.p
    await p.libp2p.start()
    await p.worker?.start()
    await p.tasks.start()
    this.running = true
    p.membership.start()
    this.unwatchMembers = p.membership.onChange(e => { if (e.type === 'gone') p.tasks.memberGone(e.peerId) })
    // state files from the group's active (one snapshot per stream; the supervisor decides whether to keep it)
    await p.beats.start()
    for (const f of p.failover) f.start()
    p.mesh.start()
    p.pinger.start()
    await p.reachability.start()
    await p.topology.start()
    await p.snapshots.start()
    p.bootstrapper.start()
    p.history.start()
    p.libp2p.addEventListener('connection:open', this.onConnectionChange)
    p.libp2p.addEventListener('connection:close', this.onConnectionChange)
    this.onConnectionChange()
    p.tasks.resume()
    p.logger.info({ peerId: this.peerId, role: this.config.node.role, addrs: p.libp2p.getMultiaddrs().map(String) }, 'node started')
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    const p = this.p
    // first: a supervised program stops here and the group hears it at once, while gossip still works
    await Promise.all(p.failover.map(async f => { await f.stop() }))
    await p.beats.stop()
    p.bootstrapper.stop()
    p.pinger.stop()
    await p.reachability.stop()
    await p.topology.stop()
    await p.snapshots.stop()
    p.mesh.stop()
    this.unwatchMembers?.()
    p.membership.stop()
    p.libp2p.removeEventListener('connection:open', this.onConnectionChange)
    p.libp2p.removeEventListener('connection:close', this.onConnectionChange)
    p.metrics.nodeHealthy.set(0)
    await p.tasks.stop()
    await p.worker?.stop()
    p.events.close()
    p.history.stop()
    await p.libp2p.stop()
    p.logger.info('node stopped')
  }

  private readonly onConnectionChange = (): void => {
    this.p.metrics.peersConnected.set(this.nodeViews.connectedPeerIds().size)
    this.p.metrics.nodeHealthy.set(this.health().healthy ? 1 : 0)
  }
}

/** bytes through this relay's circuits: libp2p counts every HOP stream's traffic (the circuit's whole data) */
async function relayedBytes (registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('libp2p_data_transfer_bytes_total')
  if (metric == null) return 0
  const { values } = await metric.get()
  return values.filter(v => String(v.labels.protocol ?? '').startsWith(RELAY_V2_HOP_CODEC)).reduce((sum, v) => sum + v.value, 0)
}
