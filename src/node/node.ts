import { peerIdFromString } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { createBootstrapper, type Bootstrapper } from '../discovery/bootstrap.js'
import { createMeshDialer, type MeshDialer } from '../discovery/mesh.js'
import { createMembership, type Membership } from '../membership/service.js'
import { countByRole } from '../membership/core.js'
import { createMetrics, type Metrics } from '../metrics/metrics.js'
import { VERSION } from '../version.js'
import { loadOrCreateIdentity } from './identity.js'
import { buildLibp2p, type Node } from './libp2p.js'
import { connectionTo, isCircuit, relaysOf } from './connections.js'
import { createPinger, type Pinger } from './pinger.js'
import { createReachability, type Reachability, type ReachabilityView } from './reachability.js'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { createTasks, type Tasks } from '../tasks/service.js'
import { createFailoverBeats, type FailoverBeats } from '../failover/beats.js'
import { FailoverSupervisor } from '../failover/supervisor.js'
import type { LedgerEntry } from '../tasks/ledger.js'
import type { NodeConfig } from '../config/types.js'
import type { Logger } from '../logger.js'

export interface PeerView {
  peerId: string
  name?: string
  role?: string
  capabilities: string[]
  addresses: string[]
  /** stale: a connection is open but the member missed its heartbeats (frozen, or cut off) */
  connection: 'direct' | 'relayed' | 'stale' | 'none'
  /** relayed: the relay(s) the connection goes through (peer id) */
  via?: string[]
  rttMs?: number
  lastHeartbeatAgeMs?: number
  state: 'alive' | 'gone' | 'unknown'
}

export interface StatusView {
  peerId: string
  /** the process id: the local network's launcher stops, by it, nodes of the network that are not its children */
  pid: number
  name: string
  role: string
  version: string
  protocolVersion: string
  listenAddresses: string[]
  /** what this node tells others about itself (identify, DHT): node.announce when set */
  announceAddresses: string[]
  /** workers: whether others can dial this node, from a bootstrap's or relay's dial back */
  reachability?: ReachabilityView
  uptimeSeconds: number
  connectedPeers: number
  members: { bootstrap: number, relay: number, worker: number, gone: number }
  topics: string[]
  capabilities: string[]
  health: { healthy: boolean, ready: boolean, reasons: string[] }
  /** where this node serves /metrics, /healthz, /readyz (when enabled) */
  metricsUrl?: string
  /** workers with enable_relay: the relays this node holds a reservation on, and the search for one */
  relay?: { reservations: string[], searching: boolean, searchRounds: number, nextSearchInMs?: number }
  /** workers: tasks queued and running, and the reward ledger per task type */
  tasks?: { load: number, maxConcurrency: number, queueCapacity: number }
  rewards?: { total: LedgerEntry, byType: Record<string, LedgerEntry> }
}

export interface CapabilitiesView {
  self: { capabilities: string[], taskTypes: string[] }
  network: Record<string, string[]>
  /** task types offered in the network, with how many live workers offer each */
  taskTypes: Record<string, number>
}

export interface CreateOptions {
  registry?: Registry
  /** environment for configured task handler commands */
  env?: Record<string, string | undefined>
}

/** One running p2p-node: libp2p plus membership, discovery and RTT measurement, for one role. */
export class P2PNode {
  readonly metrics: Metrics
  private readonly startedAt = Date.now()
  private running = false
  /** set by the daemon once its HTTP server is bound */
  metricsUrl?: string

  private constructor (
    readonly config: NodeConfig,
    readonly libp2p: Node,
    readonly membership: Membership,
    private readonly bootstrapper: Bootstrapper,
    private readonly mesh: MeshDialer,
    private readonly pinger: Pinger,
    private readonly reachability: Reachability,
    readonly tasks: Tasks,
    private readonly beats: FailoverBeats,
    readonly failover: FailoverSupervisor[],
    metrics: Metrics,
    private readonly logger: Logger
  ) {
    this.metrics = metrics
  }

  static async create (config: NodeConfig, logger: Logger, opts: CreateOptions = {}): Promise<P2PNode> {
    const registry = opts.registry ?? new Registry()
    const { key, created } = await loadOrCreateIdentity(config.node.identityFile)
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
    logger.info({ peerId: libp2p.peerId.toString(), identity: config.node.identityFile, created }, created ? 'created a new peer identity' : 'loaded peer identity')
    const pinger = createPinger(libp2p, logger.child({ c: 'ping' }), metrics, { intervalMs: config.network.pingIntervalMs })
    let membership: Membership | undefined
    const tasks = createTasks(config, { libp2p, membership: () => membership!, rtt: pinger.rtt, metrics, logger, env: opts.env ?? {} })
    const executor = tasks.executor
    membership = createMembership({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, logger: logger.child({ c: 'membership' }), metrics }, {
      protocolVersion: config.network.protocolVersion,
      name: config.node.name,
      role: config.node.role,
      version: VERSION,
      capabilities: config.node.role === 'worker' ? config.node.capabilities : [],
      intervalMs: config.node.heartbeatIntervalMs,
      misses: config.node.heartbeatMisses,
      expiryMs: config.node.memberExpiryMs,
      infrastructurePeers: new Set(config.network.infrastructurePeers),
      getLoad: () => executor?.load() ?? 0,
      taskTypes: () => executor?.types() ?? [],
      maxConcurrency: () => executor?.maxConcurrency ?? 0,
      queueCapacity: () => executor?.queueCapacity ?? 0
    })
    const bootstrapper = createBootstrapper(libp2p, logger.child({ c: 'bootstrap' }), metrics, {
      addresses: config.network.bootstrap,
      dialTimeoutMs: config.network.connectionTimeoutMs,
      maxBackoffMs: config.network.bootstrapMaxBackoffMs
    })
    const mesh = createMeshDialer(libp2p, membership, logger.child({ c: 'mesh' }), metrics, {
      meshNetwork: config.network.meshNetwork,
      dialTimeoutMs: config.network.connectionTimeoutMs,
      maxConnections: config.node.maxConnections,
      relayClient: config.node.role === 'worker' && config.network.enableRelay
    })
    metrics.nodeInfo.set({ role: config.node.role, version: VERSION, name: config.node.name }, 1)
    metrics.sources.relayedConnections = () => libp2p.getConnections().filter(c => c.status === 'open' && isCircuit(c.remoteAddr)).length
    const relayServer = libp2p.services.relay as { reservations?: { size: number } } | undefined
    if (relayServer?.reservations != null) {
      metrics.sources.relayReservations = () => relayServer.reservations!.size
      metrics.sources.relayData = async () => await relayedBytes(registry)
    }
    const reachability = createReachability({ libp2p, logger: logger.child({ c: 'reachability' }), metrics }, {
      protocolVersion: config.network.protocolVersion,
      serve: config.node.role !== 'worker',
      check: config.node.role === 'worker'
    })
    metrics.nodeHealthy.set(0)
    // workers supervise the configured programs (one supervisor each)
    const beats = createFailoverBeats({ peerId: libp2p.peerId, pubsub: libp2p.services.pubsub, streams: libp2p, metrics, logger: logger.child({ c: 'failover' }) },
      { protocolVersion: config.network.protocolVersion })
    const failover = config.node.role !== 'worker'
      ? []
      : config.failover.services.map(service => new FailoverSupervisor({ beats, logger: logger.child({ c: 'failover', service: service.name }), metrics },
        { service, self: libp2p.peerId.toString(), env: opts.env ?? {}, dataDir: config.node.dataDir, nodeName: config.node.name }))
    return new P2PNode(config, libp2p, membership, bootstrapper, mesh, pinger, reachability, tasks, beats, failover, metrics, logger)
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  async start (): Promise<void> {
    if (this.running) return
    await this.libp2p.start()
    await this.tasks.start()
    this.running = true
    this.membership.start()
    this.unwatchMembers = this.membership.onChange(e => { if (e.type === 'gone') this.tasks.memberGone(e.peerId) })
    // state files from the group's active (one snapshot per stream; the supervisor decides whether to keep it)
    await this.beats.start()
    for (const f of this.failover) f.start()
    this.mesh.start()
    this.pinger.start()
    await this.reachability.start()
    this.bootstrapper.start()
    this.libp2p.addEventListener('connection:open', this.onConnectionChange)
    this.libp2p.addEventListener('connection:close', this.onConnectionChange)
    this.onConnectionChange()
    this.logger.info({ peerId: this.peerId, role: this.config.node.role, name: this.config.node.name, addrs: this.libp2p.getMultiaddrs().map(String) }, 'node started')
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    // first: a supervised program stops here and the group hears it at once, while gossip still works
    await Promise.all(this.failover.map(async f => { await f.stop() }))
    await this.beats.stop()
    this.bootstrapper.stop()
    this.pinger.stop()
    await this.reachability.stop()
    this.mesh.stop()
    this.unwatchMembers?.()
    this.membership.stop()
    this.libp2p.removeEventListener('connection:open', this.onConnectionChange)
    this.libp2p.removeEventListener('connection:close', this.onConnectionChange)
    this.metrics.nodeHealthy.set(0)
    await this.tasks.stop()
    await this.libp2p.stop()
    this.logger.info('node stopped')
  }

  private readonly onConnectionChange = (): void => {
    this.metrics.peersConnected.set(this.connectedPeerIds().size)
    this.metrics.nodeHealthy.set(this.health().healthy ? 1 : 0)
  }

  private unwatchMembers?: () => void
  private connectedPeerIds (): Set<string> {
    return new Set(this.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
  }

  /** healthy: the process runs and libp2p is started; ready: it has joined the network */
  health (): { healthy: boolean, ready: boolean, reasons: string[] } {
    const reasons: string[] = []
    if (!this.running) reasons.push('not started')
    const subscribed = this.libp2p.services.pubsub.getTopics()
    for (const t of this.membership.topics()) if (!subscribed.includes(t)) reasons.push(`not subscribed to ${t}`)
    // a bootstrap with no peer is not ready either: nobody could have found the network through it yet
    if (this.connectedPeerIds().size === 0) reasons.push('no connected peers')
    if (this.config.network.requireRelay && (this.libp2p.services.relaySearch?.reservations().length ?? 0) === 0) reasons.push('no relay reservation (network.require_relay)')
    const healthy = this.running
    return { healthy, ready: healthy && reasons.length === 0, reasons }
  }

  /** addresses bound locally: the configured listen address with the port the OS gave */
  private listenAddresses (): string[] {
    const { listenHost, listenPort } = this.config.node
    const bound = this.libp2p.getMultiaddrs().flatMap(a => a.getComponents()).find(c => c.name === 'tcp')?.value
    return [`/ip4/${listenHost}/tcp/${listenPort === 0 ? bound ?? 0 : listenPort}`]
  }

  status (): StatusView {
    const members = this.membership.members()
    const byRole = countByRole(members)
    const addrs = this.libp2p.getMultiaddrs().map(String)
    const health = this.health()
    this.metrics.nodeHealthy.set(health.ready ? 1 : 0)
    return {
      peerId: this.peerId,
      pid: process.pid,
      name: this.config.node.name,
      role: this.config.node.role,
      version: VERSION,
      protocolVersion: this.config.network.protocolVersion,
      listenAddresses: this.listenAddresses(),
      announceAddresses: addrs,
      reachability: this.config.node.role === 'worker' ? this.reachabilityStatus(members) : undefined,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      connectedPeers: this.connectedPeerIds().size,
      members: { ...byRole, gone: members.filter(m => m.state.phase === 'gone').length },
      topics: this.libp2p.services.pubsub.getTopics(),
      capabilities: this.config.node.role === 'worker' ? this.config.node.capabilities : [],
      health,
      metricsUrl: this.metricsUrl,
      relay: this.relayStatus(),
      tasks: this.tasks.executor != null ? { load: this.tasks.executor.load(), maxConcurrency: this.tasks.executor.maxConcurrency, queueCapacity: this.tasks.executor.queueCapacity } : undefined,
      rewards: this.tasks.ledger != null ? { total: this.tasks.ledger.total(), byType: this.tasks.ledger.snapshot() } : undefined
    }
  }

  private reachabilityStatus (members: ReturnType<Membership['members']>): ReachabilityView {
    const view = this.reachability.status()
    const names = new Map(members.map(m => [m.peerId, m.name]))
    return { ...view, checks: view.checks.map(c => ({ ...c, byName: names.get(c.by) })) }
  }

  private relayStatus (): StatusView['relay'] {
    const search = this.libp2p.services.relaySearch
    if (search == null) return undefined
    const s = search.status()
    return { reservations: search.reservations(), searching: s.searching, searchRounds: s.rounds, nextSearchInMs: s.nextRoundAt != null ? Math.max(0, s.nextRoundAt - Date.now()) : undefined }
  }

  async peers (): Promise<PeerView[]> {
    const now = Date.now()
    const conns = this.libp2p.getConnections()
    const views = new Map<string, PeerView>()
    const connectionOf = (peer: string): PeerView['connection'] => connectionTo(conns, peer)
    for (const m of this.membership.members()) {
      // a gone member's last RTT and open connection say nothing about it now
      const gone = m.state.phase === 'gone'
      const connection = connectionOf(m.peerId)
      views.set(m.peerId, {
        peerId: m.peerId,
        name: m.name,
        role: m.role,
        capabilities: m.capabilities,
        addresses: [],
        connection: gone && connection !== 'none' ? 'stale' : connection,
        via: connection === 'relayed' ? relaysOf(conns, m.peerId) : undefined,
        rttMs: gone ? undefined : this.pinger.rtt(m.peerId),
        lastHeartbeatAgeMs: m.seq >= 0n ? now - m.lastSeen : undefined,
        state: m.state.phase
      })
    }
    for (const c of conns) {
      const id = c.remotePeer.toString()
      if (views.has(id)) continue
      const connection = connectionOf(id)
      views.set(id, { peerId: id, capabilities: [], addresses: [], connection, via: connection === 'relayed' ? relaysOf(conns, id) : undefined, rttMs: this.pinger.rtt(id), state: 'unknown' })
    }
    await Promise.all([...views.values()].map(async v => {
      try {
        const p = await this.libp2p.peerStore.get(peerIdFromString(v.peerId))
        v.addresses = p.addresses.map(a => a.multiaddr.toString())
      } catch {}
      // direct addresses first, relayed (p2p-circuit) ones after
      v.addresses.sort((a, b) => Number(isCircuit(a)) - Number(isCircuit(b)))
      if (v.addresses.length === 0) v.addresses = conns.filter(c => c.remotePeer.toString() === v.peerId).map(c => c.remoteAddr.toString())
    }))
    return [...views.values()].sort((a, b) => (a.role ?? '~').localeCompare(b.role ?? '~') || (a.name ?? a.peerId).localeCompare(b.name ?? b.peerId))
  }

  capabilities (): CapabilitiesView {
    const network: Record<string, string[]> = {}
    for (const m of this.membership.members()) {
      if (m.state.phase !== 'alive') continue
      for (const c of m.capabilities) (network[c] ??= []).push(m.name)
    }
    if (this.config.node.role === 'worker') for (const c of this.config.node.capabilities) (network[c] ??= []).push(`${this.config.node.name} (self)`)
    for (const list of Object.values(network)) list.sort()
    const taskTypes = Object.fromEntries(Object.entries(this.tasks.submitter.offeredTypes()).filter(([t]) => !t.endsWith('.replicate')))
    return {
      self: { capabilities: this.config.node.role === 'worker' ? this.config.node.capabilities : [], taskTypes: this.tasks.executor?.publicTypes() ?? [] },
      network,
      taskTypes
    }
  }
}

/** bytes through this relay's circuits: libp2p counts every HOP stream's traffic (the circuit's whole data) */
async function relayedBytes (registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('libp2p_data_transfer_bytes_total')
  if (metric == null) return 0
  const { values } = await metric.get()
  return values.filter(v => String(v.labels.protocol ?? '').startsWith(RELAY_V2_HOP_CODEC)).reduce((sum, v) => sum + v.value, 0)
}
