import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { backoffDelay } from '../util/backoff.js'
import { sleep } from '../util/lifetime.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { AbortOptions, PeerId, PeerInfo, PeerStore } from '@libp2p/interface'

export interface RelaySearchComponents {
  peerId: PeerId
  peerStore: PeerStore
}

export interface RelaySearchInit {
  logger: Logger
  metrics: Metrics
  /** first pause between two search rounds; it doubles each round */
  baseDelayMs?: number
  /** longest pause between two rounds */
  maxDelayMs?: number
}

export interface RelaySearchStatus {
  /** a search is running: this node wants a relay reservation and has none */
  searching: boolean
  /** rounds in the current search */
  rounds: number
  /** when the next round starts (epoch ms), while searching */
  nextRoundAt?: number
}

/**
 * What the relay transport uses to find relays while it holds no reservation, in place of libp2p's random
 * walk. The random walk runs DHT queries back to back for as long as no relay is found: after a relay dies,
 * ~150 FIND_NODE requests and ~19 failed dials a second on every node, forever, in silence. This search offers
 * the relays this node has learned of (peers that speak the relay HOP protocol) one round at a time, with
 * exponential backoff between rounds, and says so in logs and metrics. Relays it has never heard of arrive
 * through membership and the mesh dialer (a connection to a relay makes the transport reserve on it).
 */
export class RelaySearch {
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly log: Logger
  private shutdown = new AbortController()
  private walkers = 0
  private rounds = 0
  private nextRoundAt?: number
  /** relays this node holds a reservation on, from the relay transport's own events (see `watch`) */
  private readonly reserved = new Set<string>()

  constructor (private readonly components: RelaySearchComponents, private readonly init: RelaySearchInit) {
    this.baseDelayMs = init.baseDelayMs ?? 1000
    this.maxDelayMs = Math.max(this.baseDelayMs, init.maxDelayMs ?? 30_000)
    this.log = init.logger
  }

  readonly [Symbol.toStringTag] = 'p2p-network/relay-search'

  start (): void {
    if (this.shutdown.signal.aborted) this.shutdown = new AbortController()
  }

  stop (): void {
    this.shutdown.abort()
  }

  status (): RelaySearchStatus {
    return { searching: this.walkers > 0, rounds: this.rounds, nextRoundAt: this.walkers > 0 ? this.nextRoundAt : undefined }
  }

  /** the relays this node holds a reservation on, whatever it announces (node.announce replaces every address) */
  reservations (): string[] {
    return [...this.reserved].sort()
  }

  /** follows the relay transport's reservation store: reservations made and removed, logged and counted */
  watch (store: EventTarget): void {
    const update = (relay: string, held: boolean): void => {
      if (held === this.reserved.has(relay)) return
      if (held) this.reserved.add(relay)
      else this.reserved.delete(relay)
      this.init.metrics.relayReservationsHeld.set(this.reserved.size)
      if (held) this.log.info({ relay }, 'relay reservation made')
      else this.log.warn({ relay, left: this.reserved.size }, 'relay reservation lost')
    }
    store.addEventListener('relay:created-reservation', evt => { update(String((evt as CustomEvent).detail.relay), true) })
    store.addEventListener('relay:removed', evt => { update(String((evt as CustomEvent).detail.relay), false) })
  }

  /** the relay transport's discovery iterates this while it needs a relay, and aborts it once it has one */
  async * walk (options: AbortOptions = {}): AsyncGenerator<PeerInfo> {
    const signal = options.signal != null ? AbortSignal.any([options.signal, this.shutdown.signal]) : this.shutdown.signal
    this.walkers++
    this.rounds = 0
    this.init.metrics.relaySearching.set(1)
    this.log.info('no relay reservation: searching for a relay')
    try {
      for (;;) {
        // the transport has just tried every known relay before it started walking: wait first
        const delay = backoffDelay(this.rounds, this.baseDelayMs, this.maxDelayMs)
        this.nextRoundAt = Date.now() + delay
        await sleep(delay, signal)
        signal.throwIfAborted()
        this.rounds++
        const relays = await this.knownRelays()
        this.init.metrics.relaySearches.inc({ outcome: relays.length > 0 ? 'candidates' : 'none' })
        const level = this.rounds % 10 === 0 ? 'warn' : 'debug'
        this.log[level]({ round: this.rounds, candidates: relays.map(r => r.id.toString()) }, relays.length > 0 ? 'still no relay reservation; trying known relays' : 'still no relay reservation; no relay known yet')
        for (const relay of relays) yield relay
      }
    } finally {
      this.walkers--
      if (this.walkers === 0) {
        this.init.metrics.relaySearching.set(0)
        this.nextRoundAt = undefined
        if (!this.shutdown.signal.aborted) this.log.info({ rounds: this.rounds }, 'relay search ended')
      }
    }
  }

  private async knownRelays (): Promise<PeerInfo[]> {
    const self = this.components.peerId
    const peers = await this.components.peerStore.all({ filters: [p => p.protocols.includes(RELAY_V2_HOP_CODEC) && !p.id.equals(self)] })
    return peers.map(p => ({ id: p.id, multiaddrs: p.addresses.map(a => a.multiaddr) }))
  }
}

/** a libp2p service factory: `services.relaySearch = relaySearch({...})` */
export function relaySearch (init: RelaySearchInit): (components: RelaySearchComponents) => RelaySearch {
  return components => new RelaySearch(components, init)
}

