import { Lifetime } from '../util/lifetime.js'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionTo, isCircuit } from '../libp2p/connections.js'
import { backoffDelay } from '../util/backoff.js'
import type { Logger } from '../util/logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Startable } from '../util/startable.js'

export interface MeshInit {
  /** connect to every live member (small fleets); otherwise only to peers that mDNS or the DHT offer */
  meshNetwork: boolean
  dialTimeoutMs: number
  /** stop dialling members when this many connections are open */
  maxConnections: number
  /** how long to wait before dialling the same unreachable peer again */
  retryMs?: number
  /** this node has the relay transport: a member it cannot dial is tried through the relays it is connected to */
  relayClient?: boolean
}

/** how long a member's known addresses are tried alone before the relays are asked for a circuit to it too */
const RELAY_HEAD_START_MS = 1000

/** longest pause between two tries at a direct connection to a peer reached through a relay */
const MAX_UPGRADE_PAUSE_MS = 5 * 60_000

export interface MeshDialer extends Startable {
}

/**
 * Connects this node to members it hears of, at the addresses their heartbeats announce (signed by the member
 * itself); a member with none, or whose addresses failed, is looked up in the DHT. Before heartbeats carried
 * addresses every node looked every new member up in the DHT: at 25 nodes that was hundreds of lookups and
 * relayed dials at once, and the network took minutes to settle (bench/scale.mjs).
 */
export interface MeshComponents {
  libp2p: Pick<Node, 'peerId' | 'dial' | 'getConnections' | 'peerRouting' | 'peerStore' | 'addEventListener' | 'removeEventListener'>
  membership: Pick<Membership, 'members' | 'onChange' | 'get'>
  logger: Logger
  metrics: Metrics
}

export function createMeshDialer (components: MeshComponents, init: MeshInit): MeshDialer {
  const { libp2p, membership, metrics } = components
  const logger = components.logger.child({ c: 'mesh' })
  // a dial or ping under way ends with the component
  const lifetime = new Lifetime()
  const retryMs = init.retryMs ?? 5000
  const lastTry = new Map<string, number>()
  const inFlight = new Set<string>()
  /** members whose peer-store addresses failed on the last try: the next try looks them up in the DHT */
  const failedFromStore = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let unsubscribe: (() => void) | undefined
  let running = false

  /** relayed peers: failed tries at a direct connection in a row (the pause between tries doubles with each) */
  const upgradeFailures = new Map<string, number>()
  const connection = (peer: string): 'direct' | 'relayed' | 'none' => connectionTo(libp2p.getConnections(), peer)

  async function connect (peer: PeerId, reason: string): Promise<void> {
    const key = peer.toString()
    if (!running || key === libp2p.peerId.toString() || inFlight.has(key)) return
    const now = connection(key)
    if (now === 'direct') return
    const last = lastTry.get(key)
    const wait = now === 'relayed' ? backoffDelay(upgradeFailures.get(key) ?? 0, retryMs, MAX_UPGRADE_PAUSE_MS) : retryMs
    if (last != null && Date.now() - last < wait) return
    if (libp2p.getConnections().length >= init.maxConnections) return
    lastTry.set(key, Date.now())
    inFlight.add(key)
    if (now === 'relayed') {
      await upgrade(peer).finally(() => inFlight.delete(key))
      return
    }
    const known = dialKnown(peer, reason)
    // a member behind a NAT: its known addresses fail slowly (a DHT lookup that hangs for seconds, a LAN
    // address out of reach), while a relay it holds a reservation on answers within milliseconds. Give the
    // direct path a head start, then ask the relays too; whichever connects first serves
    if (init.relayClient === true) {
      // both sides of a pair learn of each other at about the same time: the one with the lower peer id asks
      // first, the other later, so that they rarely build two circuits
      const headStart = libp2p.peerId.toString() < key ? RELAY_HEAD_START_MS : 4 * RELAY_HEAD_START_MS
      await Promise.race([known, new Promise(resolve => setTimeout(resolve, headStart).unref())])
      if (running && connection(key) === 'none') await throughRelays(peer)
    }
    await known.finally(() => inFlight.delete(key))
  }

  /** dials a member at the addresses the peer store has, or the DHT finds */
  async function dialKnown (peer: PeerId, reason: string): Promise<void> {
    const key = peer.toString()
    let source = 'peerstore'
    try {
      let known = await libp2p.peerStore.get(peer).then(p => p.addresses.length > 0, () => false)
      const announced = membership.get(key)?.addresses ?? []
      if (!known && announced.length > 0 && !failedFromStore.has(key)) {
        await libp2p.peerStore.merge(peer, { multiaddrs: announced.map(a => multiaddr(a)) })
        source = 'heartbeat'
        known = true
      }
      // addresses that failed last time may be stale (a relay reservation made after we learned them): ask the DHT
      if (!known || failedFromStore.has(key)) {
        source = 'dht'
        await libp2p.peerRouting.findPeer(peer, { signal: lifetime.signal(init.dialTimeoutMs), useCache: false })
      }
      // reached through a relay meanwhile: a plain dial would open a second circuit (see `upgrade`)
      if (connection(key) === 'relayed') {
        await upgrade(peer)
        return
      }
      await libp2p.dial(peer, { signal: lifetime.signal(init.dialTimeoutMs) })
      failedFromStore.delete(key)
      metrics.meshDials.inc({ source, outcome: 'ok' })
      logger.debug({ peer: key, source, reason }, 'connected to member')
      closeRelayed(key)
    } catch (err: any) {
      if (source !== 'dht') failedFromStore.add(key)
      else failedFromStore.delete(key)
      metrics.meshDials.inc({ source, outcome: 'error' })
      logger.debug({ peer: key, source, reason, err: err.message }, 'could not connect to member')
    }
  }

  /**
   * The member's known addresses failed or are slow (behind a NAT, its circuit address not learned yet: the DHT
   * often has only its LAN address for the first seconds, and the lookup can take the whole dial timeout): ask
   * each relay this node is connected to for a circuit to it. A member behind a NAT holds a reservation on a
   * relay it reaches, usually the same one; a relay where it holds none refuses at once.
   */
  async function throughRelays (peer: PeerId): Promise<void> {
    const key = peer.toString()
    const relays = new Map<string, string>()
    for (const c of libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      if (c.status !== 'open' || id === key || relays.has(id) || isCircuit(c.remoteAddr)) continue
      const protocols = await libp2p.peerStore.get(c.remotePeer).then(p => p.protocols, () => [] as string[])
      if (protocols.includes(RELAY_V2_HOP_CODEC)) relays.set(id, c.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, ''))
    }
    for (const [id, addr] of relays) {
      try {
        // straight to the transport: libp2p's dial queue would fold this into the dial of the member already
        // under way (its known addresses, a peer lookup that can take the whole timeout) and wait for it
        const target = multiaddr(`${addr}/p2p/${id}/p2p-circuit/p2p/${key}`)
        const transports = (libp2p as unknown as { components?: { transportManager?: { dial: (ma: typeof target, o: object) => Promise<unknown> } } }).components?.transportManager
        await (transports != null ? transports.dial(target, { signal: lifetime.signal(init.dialTimeoutMs) }) : libp2p.dial(target, { signal: lifetime.signal(init.dialTimeoutMs) }))
        metrics.meshDials.inc({ source: 'relay', outcome: 'ok' })
        logger.debug({ peer: key, relay: id }, 'connected to member through a relay')
        return
      } catch (err: any) {
        metrics.meshDials.inc({ source: 'relay', outcome: 'error' })
        logger.debug({ peer: key, relay: id, err: err.message }, 'could not reach member through a relay')
      }
    }
  }

  /**
   * Connected through a relay only: try the peer's direct addresses (a NATed node can always dial out to a public
   * one). Never a plain dial: libp2p does not count a limited connection as one, dials a second circuit, and
   * the duplicate is closed, taking the working one with it at times.
   */
  async function upgrade (peer: PeerId): Promise<void> {
    const key = peer.toString()
    const direct = await libp2p.peerStore.get(peer).then(p => p.addresses.map(a => a.multiaddr).filter(a => !isCircuit(a)), () => [])
    if (direct.length === 0) return
    try {
      const conn = await libp2p.dial(direct.map(a => a.encapsulate(`/p2p/${key}`)), { signal: lifetime.signal(init.dialTimeoutMs) })
      // libp2p folds a dial into one already under way for the same peer, which may end on a circuit
      if (isCircuit(conn.remoteAddr)) throw new Error('the dial ended on a relayed connection')
      upgradeFailures.delete(key)
      metrics.meshDials.inc({ source: 'direct_upgrade', outcome: 'ok' })
      logger.debug({ peer: key }, 'relayed member: now connected directly')
      closeRelayed(key)
    } catch (err: any) {
      upgradeFailures.set(key, (upgradeFailures.get(key) ?? 0) + 1)
      metrics.meshDials.inc({ source: 'direct_upgrade', outcome: 'error' })
      logger.debug({ peer: key, failures: upgradeFailures.get(key), err: err.message }, 'relayed member: no direct connection')
    }
  }

  /**
   * A direct connection to `peer` exists now: its relayed ones go (as DCUtR does after an upgrade), so the relay
   * does not carry traffic between peers that reach each other; a task stream on one is retried on the direct
   * connection with the same id.
   */
  function closeRelayed (peer: string): void {
    if (connection(peer) !== 'direct') return
    for (const c of libp2p.getConnections()) {
      if (c.remotePeer.toString() === peer && c.status === 'open' && isCircuit(c.remoteAddr)) void c.close().catch(() => {})
    }
  }

  function connectMembers (): void {
    if (!init.meshNetwork) return
    for (const m of membership.members()) {
      if (m.state.phase === 'alive') void connect(peerIdFromString(m.peerId), 'member')
    }
  }

  const onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    metrics.discoveredPeers.inc({ source: evt.detail.multiaddrs.length > 0 ? 'addresses' : 'id_only' })
    // without a full mesh, still connect to what discovery offers while this node is short of peers
    if (init.meshNetwork || libp2p.getConnections().length < 4) void connect(evt.detail.id, 'discovery')
  }

  return {
    start () {
      lifetime.start()
      if (running) return
      running = true
      libp2p.addEventListener('peer:discovery', onDiscovery)
      unsubscribe = membership.onChange(e => {
        if ((e.type === 'joined' || e.type === 'returned') && init.meshNetwork) void connect(peerIdFromString(e.peerId), 'member')
        if (e.type === 'removed') { lastTry.delete(e.peerId); failedFromStore.delete(e.peerId); upgradeFailures.delete(e.peerId) }
      })
      timer = setInterval(connectMembers, retryMs)
    },
    stop () {
      lifetime.stop()
      running = false
      clearInterval(timer)
      unsubscribe?.()
      libp2p.removeEventListener('peer:discovery', onDiscovery)
    }
  }
}
