/**
 * What the node tells an operator about itself and the network (`status`, `peers`, `capabilities`, /healthz,
 * /readyz): read-only views over the subsystems the composition root (p2p-node.ts) built.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { countByRole } from '../membership/core.js'
import { VERSION } from '../util/version.js'
import { connectionTo, isCircuit, relaysOf } from '../libp2p/connections.js'
import type { ReachabilityView, Reachability } from '../discovery/reachability.js'
import type { Pinger } from '../discovery/pinger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Executor } from '../tasks/executor.js'
import type { Ledger } from '../tasks/ledger.js'
import type { Submitter } from '../tasks/submitter.js'
import type { NodeConfig } from '../config/types.js'
import type { Node } from '../libp2p/libp2p.js'
import type { NodeStatus } from '../util/startable.js'
import { isInternalType } from '../tasks/types.js'
import type { PeerView, StatusView, CapabilitiesView } from '../messages/api.js'
export type { PeerView, StatusView, CapabilitiesView } from '../messages/api.js'




export interface ViewComponents {
  libp2p: Pick<Node, 'peerId' | 'getConnections' | 'getMultiaddrs' | 'peerStore' | 'services'>
  membership: Pick<Membership, 'members' | 'topics'>
  pinger: Pick<Pinger, 'rtt'>
  reachability: Pick<Reachability, 'status'>
  submitter: Pick<Submitter, 'offeredTypes'>
  executor?: Executor
  ledger?: Ledger
  metrics: Metrics
}

export interface ViewInit {
  config: NodeConfig
  startedAt: number
  status: () => NodeStatus
  /** where this node serves /metrics: the daemon's HTTP server, once it is bound */
  metricsUrl: () => string | undefined
}

/** What the commands, the API and /healthz answer from. Owns p2p_peers_connected and p2p_node_healthy (read at scrape time). */
export class NodeViews {
  constructor (private readonly components: ViewComponents, private readonly init: ViewInit) {
    components.metrics.collectFrom('peersConnected', () => this.connectedPeerIds().size)
    components.metrics.collectFrom('ready', () => this.health().ready)
    components.metrics.collectFrom('draining', () => this.init.status() === 'draining')
  }

  connectedPeerIds (): Set<string> {
    return new Set(this.components.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
  }

  /** healthy: the process runs and libp2p is started; ready: it has joined the network */
  health (): { healthy: boolean, ready: boolean, reasons: string[] } {
    const reasons: string[] = []
    const status = this.init.status()
    // a draining node is alive (its running tasks finish) but not ready: a Service sends it nothing new
    const running = status === 'running' || status === 'draining'
    if (status !== 'running') reasons.push(status === 'stopped' ? 'not started' : status)
    const subscribed = this.components.libp2p.services.pubsub.getTopics()
    for (const t of this.components.membership.topics()) if (!subscribed.includes(t)) reasons.push(`not subscribed to ${t}`)
    // a bootstrap with no peer is not ready either: nobody could have found the network through it yet
    if (this.connectedPeerIds().size === 0) reasons.push('no connected peers')
    if (this.init.config.network.requireRelay && (this.components.libp2p.services.relaySearch?.reservations().length ?? 0) === 0) reasons.push('no relay reservation (network.require_relay)')
    return { healthy: running, ready: running && reasons.length === 0, reasons }
  }

  /** addresses bound locally: the configured listen address with the port the OS gave */
  private listenAddresses (): string[] {
    const { listenHost, listenPort } = this.init.config.node
    const bound = this.components.libp2p.getMultiaddrs().flatMap(a => a.getComponents()).find(c => c.name === 'tcp')?.value
    return [`/ip4/${listenHost}/tcp/${listenPort === 0 ? bound ?? 0 : listenPort}`]
  }

  status (): StatusView {
    const members = this.components.membership.members()
    const byRole = countByRole(members)
    const addrs = this.components.libp2p.getMultiaddrs().map(String)
    const health = this.health()
    return {
      peerId: this.components.libp2p.peerId.toString(),
      pid: process.pid,
      name: this.init.config.node.name,
      role: this.init.config.node.role,
      version: VERSION,
      protocolVersion: this.init.config.network.protocolVersion,
      listenAddresses: this.listenAddresses(),
      announceAddresses: addrs,
      reachability: this.init.config.node.role === 'worker' ? this.reachabilityStatus(members) : undefined,
      uptimeSeconds: Math.round((Date.now() - this.init.startedAt) / 1000),
      connectedPeers: this.connectedPeerIds().size,
      members: { ...byRole, gone: members.filter(m => m.state.phase === 'gone').length },
      topics: this.components.libp2p.services.pubsub.getTopics(),
      capabilities: this.init.config.node.role === 'worker' ? this.init.config.node.capabilities : [],
      health,
      ...(this.init.status() === 'draining' ? { draining: true } : {}),
      metricsUrl: this.init.metricsUrl(),
      relay: this.relayStatus(),
      tasks: this.components.executor != null ? { load: this.components.executor.load(), maxConcurrency: this.components.executor.maxConcurrency, queueCapacity: this.components.executor.queueCapacity, queued: this.components.executor.queueDepth() } : undefined,
      rewards: this.components.ledger != null ? { total: this.components.ledger.total(), byType: this.components.ledger.snapshot() } : undefined
    }
  }

  private reachabilityStatus (members: ReturnType<Membership['members']>): ReachabilityView {
    const view = this.components.reachability.status()
    const names = new Map(members.map(m => [m.peerId, m.name]))
    return { ...view, checks: view.checks.map(c => ({ ...c, byName: names.get(c.by) })) }
  }

  private relayStatus (): StatusView['relay'] {
    const search = this.components.libp2p.services.relaySearch
    if (search == null) return undefined
    const s = search.status()
    return { reservations: search.reservations(), searching: s.searching, searchRounds: s.rounds, nextSearchInMs: s.nextRoundAt != null ? Math.max(0, s.nextRoundAt - Date.now()) : undefined }
  }

  async peers (): Promise<PeerView[]> {
    const now = Date.now()
    const conns = this.components.libp2p.getConnections()
    const views = new Map<string, PeerView>()
    const connectionOf = (peer: string): PeerView['connection'] => connectionTo(conns, peer)
    for (const m of this.components.membership.members()) {
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
        rttMs: gone ? undefined : this.components.pinger.rtt(m.peerId),
        lastHeartbeatAgeMs: m.seq >= 0n ? now - m.lastSeen : undefined,
        state: m.state.phase,
        version: m.version !== '' ? m.version : undefined,
        ...(m.role === 'worker' ? { load: m.load, maxConcurrency: m.maxConcurrency, queueCapacity: m.queueCapacity, ...(m.state.phase === 'alive' && !m.healthy ? { draining: true } : {}) } : {})
      })
    }
    for (const c of conns) {
      const id = c.remotePeer.toString()
      if (views.has(id)) continue
      const connection = connectionOf(id)
      views.set(id, { peerId: id, capabilities: [], addresses: [], connection, via: connection === 'relayed' ? relaysOf(conns, id) : undefined, rttMs: this.components.pinger.rtt(id), state: 'unknown' })
    }
    await Promise.all([...views.values()].map(async v => {
      try {
        const p = await this.components.libp2p.peerStore.get(peerIdFromString(v.peerId))
        // one address once: the peer store may hold it with and without the peer's own /p2p/ suffix
        const own = `/p2p/${v.peerId}`
        v.addresses = [...new Set(p.addresses.map(a => { const s = a.multiaddr.toString(); return s.endsWith(own) ? s.slice(0, -own.length) : s }))]
      } catch {}
      // direct addresses first, relayed (p2p-circuit) ones after
      v.addresses.sort((a, b) => Number(isCircuit(a)) - Number(isCircuit(b)))
      if (v.addresses.length === 0) v.addresses = conns.filter(c => c.remotePeer.toString() === v.peerId).map(c => c.remoteAddr.toString())
    }))
    return [...views.values()].sort((a, b) => (a.role ?? '~').localeCompare(b.role ?? '~') || (a.name ?? a.peerId).localeCompare(b.name ?? b.peerId))
  }

  capabilities (): CapabilitiesView {
    const network: Record<string, string[]> = {}
    for (const m of this.components.membership.members()) {
      if (m.state.phase !== 'alive') continue
      for (const c of m.capabilities) (network[c] ??= []).push(m.name)
    }
    if (this.init.config.node.role === 'worker') for (const c of this.init.config.node.capabilities) (network[c] ??= []).push(`${this.init.config.node.name} (self)`)
    for (const list of Object.values(network)) list.sort()
    const taskTypes = Object.fromEntries(Object.entries(this.components.submitter.offeredTypes()).filter(([t]) => !isInternalType(t)))
    return {
      self: { capabilities: this.init.config.node.role === 'worker' ? this.init.config.node.capabilities : [], taskTypes: this.components.executor?.publicTypes() ?? [] },
      network,
      taskTypes
    }
  }
}
