import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { pbStream } from '@libp2p/utils'
import { DialBackResponse } from '../messages/reachability.js'
import { openStream } from './streams.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from './libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

/** the stream protocol a bootstrap or relay answers: "dial me back" (docs/adr/0004-across-networks.md) */
export function dialBackProtocol (pv: string): string {
  return `/${pv}/dialback/1.0.0`
}

export type ReachabilityState = 'public' | 'private' | 'unknown'

export interface ReachabilityView {
  state: ReachabilityState
  /** public: the address a dial back reached */
  address?: string
  /** this node's address as the asked peer saw it (after any NAT) */
  observed?: string
  /** who answered the last check (peer id) */
  checkedBy?: string
  checkedAgoMs?: number
}

export type ReachabilityComponents = Pick<Node, 'peerId' | 'handle' | 'unhandle' | 'dial' | 'getConnections' | 'dialProtocol' | 'peerStore' | 'addEventListener' | 'removeEventListener'>

export interface ReachabilityInit {
  protocolVersion: string
  /** answer others' requests (bootstrap and relay roles: the nodes meant to be reachable) */
  serve: boolean
  /** ask others (workers) */
  check: boolean
  /** time between two checks once one has answered */
  intervalMs?: number
  /** how long one dial back may take */
  dialTimeoutMs?: number
  /** one request per peer this often at most (server side) */
  minRequestIntervalMs?: number
}

const MAX_MESSAGE = 1024
const MAX_CANDIDATES = 4

/**
 * Learns whether others can dial this node: an AutoNAT of our own. libp2p's AutoNAT (and DCUtR) refuse to work
 * on private addresses by design, and every network we run on is private (pod IPs, office LANs, the NAT lab's
 * 10.x): there it never answers. Here a worker asks a bootstrap or relay it is directly connected to; that peer
 * dials the worker back on a new connection, at each announced TCP port on the IP it sees the worker's
 * connection come from (the autonat rule: never an IP other than the asker's, so no one can aim the dials at a
 * third party). A dial that connects: public. All of them failing: private (a NAT or firewall in front of it).
 */
export class Reachability {
  private readonly intervalMs: number
  private readonly dialTimeoutMs: number
  private readonly minRequestIntervalMs: number
  private readonly protocol: string
  private view: ReachabilityView & { at?: number } = { state: 'unknown' }
  private timer?: NodeJS.Timeout
  private checking = false
  private shutdown = new AbortController()
  /** server side: when each peer last asked (bounded: oldest dropped) */
  private readonly asked = new Map<string, number>()

  constructor (private readonly components: ReachabilityComponents & { logger: Logger, metrics: Metrics }, private readonly init: ReachabilityInit) {
    this.intervalMs = init.intervalMs ?? 5 * 60_000
    this.dialTimeoutMs = init.dialTimeoutMs ?? 5000
    this.minRequestIntervalMs = init.minRequestIntervalMs ?? 10_000
    this.protocol = dialBackProtocol(init.protocolVersion)
    this.publish()
  }

  async start (): Promise<void> {
    if (!this.shutdown.signal.aborted && this.timer != null) return
    this.shutdown = new AbortController()
    if (this.init.serve) {
      await this.components.handle(this.protocol, (stream, connection) => { void this.answer(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    }
    if (this.init.check) {
      this.components.addEventListener('peer:identify', this.onIdentify)
      this.schedule(2000)
    }
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    clearTimeout(this.timer)
    this.timer = undefined
    this.components.removeEventListener('peer:identify', this.onIdentify)
    if (this.init.serve) await this.components.unhandle(this.protocol).catch(() => {})
  }

  status (): ReachabilityView {
    const { at, ...view } = this.view
    return at != null ? { ...view, checkedAgoMs: Date.now() - at } : view
  }

  /** a peer that answers the dial-back protocol has just been identified: check now if nothing has answered yet */
  private readonly onIdentify = (evt: CustomEvent<{ protocols: string[] }>): void => {
    if (this.view.at == null && evt.detail.protocols.includes(this.protocol)) this.schedule(0)
  }

  private schedule (ms: number): void {
    if (this.shutdown.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.check() }, ms)
    this.timer.unref()
  }

  private async check (): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      const answer = await this.ask()
      if (answer != null) {
        const state: ReachabilityState = answer.res.status === DialBackResponse.Status.REACHABLE ? 'public' : answer.res.status === DialBackResponse.Status.REFUSED ? this.view.state : 'private'
        if (state !== this.view.state) this.components.logger.info({ state, by: answer.by, observed: answer.res.observed, address: answer.res.address || undefined }, `reachability: ${state}`)
        this.view = { state, address: answer.res.address || undefined, observed: answer.res.observed || undefined, checkedBy: answer.by, at: Date.now() }
        this.publish()
      }
      this.schedule(answer != null ? this.intervalMs : 30_000)
    } finally {
      this.checking = false
    }
  }

  /** asks directly connected peers that answer the protocol, one after another, until one answers */
  private async ask (): Promise<{ by: string, res: DialBackResponse } | undefined> {
    const seen = new Set<string>()
    for (const conn of this.components.getConnections()) {
      const peer = conn.remotePeer
      if (conn.status !== 'open' || isRelayed(conn.remoteAddr) || seen.has(peer.toString())) continue
      seen.add(peer.toString())
      const protocols = await this.components.peerStore.get(peer).then(p => p.protocols, () => [] as string[])
      if (!protocols.includes(this.protocol)) continue
      try {
        const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.dialTimeoutMs * MAX_CANDIDATES + 5000)])
        const stream = await openStream(this.components, peer, this.protocol, { signal })
        const res = await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(DialBackResponse).read({ signal })
        await stream.close().catch(() => {})
        this.components.metrics.reachabilityChecks.inc({ outcome: res.status.toLowerCase() })
        if (res.status !== DialBackResponse.Status.REFUSED) return { by: peer.toString(), res }
      } catch (err: any) {
        this.components.metrics.reachabilityChecks.inc({ outcome: 'error' })
        this.components.logger.debug({ peer: peer.toString(), err: err.message }, 'dial-back request failed')
      }
    }
    return undefined
  }

  /** server side: dial the asker back on a new connection, then say how it went */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const res = await this.dialBack(peer, connection.remoteAddr).catch(() => ({ status: DialBackResponse.Status.UNREACHABLE, address: '' }))
    try {
      await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(DialBackResponse).write({ ...res, observed: connection.remoteAddr.toString() }, { signal: AbortSignal.timeout(5000) })
      await stream.close()
    } catch {
      stream.abort(new Error('could not answer'))
    }
  }

  private async dialBack (peer: PeerId, from: Multiaddr): Promise<{ status: DialBackResponse.Status, address: string }> {
    const id = peer.toString()
    const last = this.asked.get(id)
    if (isRelayed(from) || (last != null && Date.now() - last < this.minRequestIntervalMs)) return { status: DialBackResponse.Status.REFUSED, address: '' }
    this.asked.delete(id)
    this.asked.set(id, Date.now())
    if (this.asked.size > 1000) this.asked.delete(this.asked.keys().next().value!)
    const known = await this.components.peerStore.get(peer).then(p => p.addresses.map(a => a.multiaddr), () => [] as Multiaddr[])
    const candidates = dialBackCandidates(from, known).slice(0, MAX_CANDIDATES)
    if (candidates.length === 0) return { status: DialBackResponse.Status.NO_ADDRESS, address: '' }
    for (const addr of candidates) {
      try {
        const conn = await this.components.dial(addr.encapsulate(`/p2p/${id}`), { force: true, signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.dialTimeoutMs)]) })
        // the proof is made (a new connection, forced): the asker keeps the one it asked on
        await conn.close().catch(() => {})
        return { status: DialBackResponse.Status.REACHABLE, address: addr.toString() }
      } catch {}
    }
    return { status: DialBackResponse.Status.UNREACHABLE, address: '' }
  }

  private publish (): void {
    for (const state of ['public', 'private', 'unknown'] as const) this.components.metrics.reachability.set({ state }, state === this.view.state ? 1 : 0)
  }
}

export function createReachability (components: ReachabilityComponents & { logger: Logger, metrics: Metrics }, init: ReachabilityInit): Reachability {
  return new Reachability(components, init)
}

function isRelayed (addr: Multiaddr): boolean {
  return addr.toString().includes('/p2p-circuit')
}

/**
 * Where to dial a peer back: its announced TCP ports, on the IP its connection comes from and nowhere else.
 * Behind a NAT that is the router's address (the announced port is not forwarded there: the dial fails, as
 * anyone else's would); in the open it is the peer's own address.
 */
export function dialBackCandidates (from: Multiaddr, announced: Multiaddr[]): Multiaddr[] {
  const ip = from.getComponents()[0]
  if (ip == null || (ip.name !== 'ip4' && ip.name !== 'ip6')) return []
  const ports = new Set<string>()
  for (const a of announced) {
    if (isRelayed(a)) continue
    const tcp = a.getComponents().find(c => c.name === 'tcp')?.value
    if (tcp != null && tcp !== '0') ports.add(tcp)
  }
  return [...ports].map(port => multiaddr(`/${ip.name}/${ip.value ?? ''}/tcp/${port}`))
}
