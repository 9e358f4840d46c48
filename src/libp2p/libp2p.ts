import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { preSharedKey } from '@libp2p/pnet'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { relaySearch, type RelaySearch } from './relay-search.js'
import { isCircuit } from './connections.js'
import { membershipTopics, stringifyTopic } from '../messages/topics.js'
import { pubsub, type PubSub } from './pubsub.js'
import type { NodeConfig } from '../config/types.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId, PrivateKey, TopologyFilter } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Ping } from '@libp2p/ping'
import type { Registry } from 'prom-client'
import { streamProtocol } from '../messages/protocols.js'

export interface Services {
  identify: Identify
  ping: Ping
  pubsub: PubSub
  dht: KadDHT
  /** workers with enable_relay: how the relay transport finds relays while it has no reservation */
  relaySearch?: RelaySearch
  [key: string]: unknown
}

export type Node = Libp2p<Services>

/** the longest delay a Node timer takes (about 24.8 days) */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface BuildOptions {
  /** a connection refused by network.allowed_peers */
  onDenied?: (what: string, peer: string) => void
  /** needed for the relay search (workers with enable_relay) */
  logger?: Logger
  metrics?: Metrics
}

/** Builds (does not start) the libp2p node for the configured role. */
export async function buildLibp2p (config: NodeConfig, privateKey: PrivateKey, registry: Registry, opts: BuildOptions = {}): Promise<Node> {
  const onDenied = opts.onDenied ?? (() => {})
  const { node, network } = config
  const worker = node.role === 'worker'
  const useRelayClient = worker && network.enableRelay
  const listen = [`/ip4/${node.listenHost}/tcp/${node.listenPort}`]
  // listening on /p2p-circuit asks the relay transport to reserve a slot on a relay it finds
  if (useRelayClient) listen.push('/p2p-circuit')

  const services: Record<string, (components: any) => unknown> = {
    identify: identify({ runOnLimitedConnection: true }),
    // tells connected peers when this node's addresses change: a relay reservation made after they connected
    // (the usual order) is otherwise never learned, and peers behind another NAT cannot dial its circuit address
    identifyPush: identifyPush({ runOnLimitedConnection: true }),
    ping: ping({ runOnLimitedConnection: true }),
    pubsub: pubsub(network.protocolVersion, [
      ...Object.values(membershipTopics(network.protocolVersion)),
      ...(worker ? config.failover.services.map(svc => stringifyTopic({ kind: 'failover', pv: network.protocolVersion, service: svc.name })) : [])
    ]),
    dht: kadDHT({
      // a private DHT per protocol_version, never the public IPFS one
      protocol: streamProtocol('kad', network.protocolVersion),
      clientMode: false,
      // our networks live on private addresses (pods, loopback): keep them in DHT answers
      peerInfoMapper: passthroughMapper,
      logPrefix: 'libp2p:kad-dht',
      metricsPrefix: 'libp2p_kad_dht'
    })
  }
  if (node.role === 'relay') {
    const r = config.relay
    const limited = r.circuitDurationMs > 0 || r.circuitDataBytes > 0
    services.relay = circuitRelayServer({
      maxInboundHopStreams: r.maxCircuits,
      maxOutboundStopStreams: r.maxCircuits,
      reservations: {
        maxReservations: r.maxReservations,
        reservationTtl: r.reservationTtlMs,
        // both 0: no limit at all; one 0: that one as large as a timer and a counter allow
        applyDefaultLimit: limited,
        defaultDurationLimit: r.circuitDurationMs > 0 ? Math.min(r.circuitDurationMs, MAX_TIMER_MS) : MAX_TIMER_MS,
        defaultDataLimit: r.circuitDataBytes > 0 ? BigInt(r.circuitDataBytes) : 2n ** 62n
      }
    })
  }
  if (useRelayClient) services.dcutr = opts.metrics != null ? countingDcutr(dcutr(), opts.metrics) : dcutr()
  if (useRelayClient && opts.logger != null && opts.metrics != null) {
    services.relaySearch = relaySearch({ logger: opts.logger.child({ c: 'relay-search' }), metrics: opts.metrics, maxDelayMs: network.bootstrapMaxBackoffMs })
  }
  const relayTransport = circuitRelayTransport(network.infrastructurePeers.length > 0 ? { discoveryFilter: onlyRelays(network.infrastructurePeers) } : {})

  const libp2p = await createLibp2p({
    privateKey,
    start: false,
    addresses: {
      listen,
      announce: node.announce.length > 0 ? node.announce : undefined,
      // node.announce wins over everything: what is configured is announced as it is
      announceFilter: node.announce.length > 0 ? (addrs: Multiaddr[]) => addrs : (addrs: Multiaddr[]) => withoutLocalAddresses(addrs)
    },
    transports: [tcp(), services.relaySearch != null ? withRelaySearch(relayTransport) : relayTransport],
    // a private network: every connection is encrypted with the swarm key first; without it nothing connects
    ...(network.psk != null ? { connectionProtector: preSharedKey({ psk: network.psk }) } : {}),
    connectionGater: allowlistGater(network.allowedPeers, onDenied),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: network.enableMdns ? [mdns({ serviceTag: mdnsServiceTag(network.protocolVersion), interval: 5000 })] : [],
    connectionManager: {
      maxConnections: node.maxConnections,
      dialTimeout: network.connectionTimeoutMs,
      // many nodes share one IP on a host or behind a Service: do not treat them as a flood
      inboundConnectionThreshold: Math.max(25, node.maxConnections),
      maxIncomingPendingConnections: Math.max(10, Math.ceil(node.maxConnections / 4))
    },
    // the node's own pinger measures RTT and closes dead connections (see pinger.ts)
    connectionMonitor: { enabled: false },
    // the event-loop lag metric samples with a timer: prom-client's 10 ms default woke every node 100 times a second,
    // ~0.3-0.5 % of a core idle (6 nodes, 5 s heartbeat: CPU p50 1.90 % -> 1.33-1.63 %); once a second it still
    // sees a stalled loop (the lateness of each sample), at a hundredth of the wake-ups
    metrics: prometheusMetrics({ registry, preserveExistingMetrics: true, collectDefaultMetrics: true, defaultMetrics: { eventLoopMonitoringPrecision: 1000 } }),
    services: services as any
  }) as Node
  if (opts.metrics != null) countRelayed(libp2p, registry, opts.metrics)
  return libp2p
}

/** this node's relayed connections, and the relay role's reservations and carried bytes, read at scrape time */
function countRelayed (libp2p: Node, registry: Registry, metrics: Metrics): void {
  metrics.collectFrom('relayedConnections', () => libp2p.getConnections().filter(c => c.status === 'open' && isCircuit(c.remoteAddr)).length)
  const relayServer = libp2p.services.relay as { reservations?: { size: number } } | undefined
  if (relayServer?.reservations == null) return
  metrics.collectFrom('relayReservations', () => relayServer.reservations!.size)
  // libp2p counts every HOP stream's traffic, which is the circuit's whole data
  metrics.collectFrom('relayData', async () => {
    const metric = registry.getSingleMetric('libp2p_data_transfer_bytes_total')
    if (metric == null) return 0
    const { values } = await metric.get()
    return values.filter(v => String(v.labels.protocol ?? '').startsWith(RELAY_V2_HOP_CODEC)).reduce((sum, v) => sum + v.value, 0)
  })
}

/**
 * The relay transport looks for relays with `components.randomWalk` while it has no reservation; libp2p's
 * random walk runs DHT queries back to back until a relay turns up, which after a relay dies is never (the
 * relay-loss storm). Hand it our backed-off search instead; every other component stays as libp2p made it.
 */
function withRelaySearch<T> (factory: (components: any) => T): (components: any) => T {
  return components => {
    const transport: any = factory(new Proxy(components, {
      get: (target, prop, receiver) => prop === 'randomWalk' ? target.relaySearch : Reflect.get(target, prop, receiver)
    }))
    // the search is a service, made right after the transports in the same constructor: hand it the
    // reservation store once that has returned
    queueMicrotask(() => { components.relaySearch.watch(transport.reservationStore) })
    return transport
  }
}

/**
 * DCUtR (hole punching) as libp2p ships it, counted: its dials for a direct connection (the unilateral upgrade
 * and the punch itself are the only dials it forces) and its attempts that found no address to punch to. The
 * service reports neither; both are seen through the components it is handed.
 */
function countingDcutr<T> (factory: (components: any) => T, metrics: Metrics): (components: any) => T {
  const count = (outcome: 'direct' | 'failed' | 'no_address'): void => { metrics.dcutrUpgrades.inc({ outcome }) }
  return components => {
    const connectionManager = new Proxy(components.connectionManager, {
      get: (target, prop, receiver) => prop !== 'openConnection'
        ? Reflect.get(target, prop, receiver)
        : async (peer: unknown, options: { force?: boolean } = {}) => {
          if (options.force !== true) return await target.openConnection(peer, options)
          try {
            const conn = await target.openConnection(peer, options)
            count(isCircuit(conn.remoteAddr) ? 'failed' : 'direct')
            return conn
          } catch (err) {
            count('failed')
            throw err
          }
        }
    })
    const registrar = new Proxy(components.registrar, {
      get: (target, prop, receiver) => prop !== 'handle'
        ? Reflect.get(target, prop, receiver)
        : async (protocol: string, handler: (...args: any[]) => Promise<void>, options: unknown) => await target.handle(protocol, async (...args: any[]) => {
          try {
            await handler(...args)
          } catch (err: any) {
            // libp2p's DCUtR keeps to public addresses: between peers on private ones it stops here
            if (err?.name === 'InvalidMessageError' && /multiaddrs/.test(String(err.message))) count('no_address')
            throw err
          }
        }, options)
    })
    return factory(new Proxy(components, {
      get: (target, prop, receiver) => prop === 'connectionManager' ? connectionManager : prop === 'registrar' ? registrar : Reflect.get(target, prop, receiver)
    }))
  }
}

/**
 * With `network.allowed_peers`, only those peers connect: inbound connections are refused right after the
 * handshake proves the remote's identity, dials to others are never made. Private addresses stay allowed
 * (libp2p's default gater would refuse them; our networks live on them).
 */
function allowlistGater (allowed: string[], onDenied: (what: string, peer: string) => void): Record<string, (...args: any[]) => boolean | Promise<boolean>> {
  const set = new Set(allowed)
  const deny = (peer: PeerId, what: string): boolean => {
    if (set.size === 0 || set.has(peer.toString())) return false
    onDenied(what, peer.toString())
    return true
  }
  return {
    denyDialMultiaddr: () => false,
    denyDialPeer: (peer: PeerId) => deny(peer, 'dial'),
    denyInboundEncryptedConnection: (peer: PeerId) => deny(peer, 'inbound'),
    denyOutboundEncryptedConnection: (peer: PeerId) => deny(peer, 'outbound')
  }
}

/**
 * With `network.infrastructure_peers`, reservations go only to relays on that list: the relay transport skips
 * a discovered peer its filter says it has already seen, so every other relay looks "seen" from the start.
 */
function onlyRelays (trusted: string[]): TopologyFilter {
  const allowed = new Set(trusted)
  const seen = new Set<string>()
  return {
    has: (peer: PeerId) => !allowed.has(peer.toString()) || seen.has(peer.toString()),
    add: (peer: PeerId) => { seen.add(peer.toString()) },
    remove: (peer: PeerId) => { seen.delete(peer.toString()) }
  }
}

/** mDNS service name for a network, so two networks on one LAN ignore each other. */
export function mdnsServiceTag (pv: string): string {
  return `_${pv.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}._udp.local`
}

/** loopback (127/8, ::1) or link-local (169.254/16, fe80::/10): the first address of a multiaddr */
function isLocal (addr: Multiaddr): boolean {
  const first = addr.getComponents()[0]
  if (first == null) return false
  if (first.name === 'ip4') return first.value?.startsWith('127.') === true || first.value?.startsWith('169.254.') === true
  if (first.name === 'ip6') return first.value === '::1' || /^fe[89ab]/i.test(first.value ?? '')
  return false
}

/**
 * What a node tells others about itself: never its loopback or link-local addresses when it has any other (a
 * remote peer would dial its own loopback); a node that has only those (a network on one machine) keeps them.
 * A relayed address counts by the relay's address, so a relay reached on loopback is dropped the same way.
 */
export function withoutLocalAddresses (addrs: Multiaddr[]): Multiaddr[] {
  const kept = addrs.filter(a => !isLocal(a))
  return kept.length > 0 ? kept : addrs
}
