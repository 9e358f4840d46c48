import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { pbStream } from '@libp2p/utils'
import { DialBackResponse } from '../messages/reachability.js'
import { isCircuit } from '../libp2p/connections.js'
import { openStream } from '../libp2p/streams.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { STREAM_LIMITS, streamProtocol } from '../messages/protocols.js'
import type { Startable } from '../util/startable.js'
import type { ReachabilityState, DialBackCheck, ReachabilityView } from '../messages/api.js'
export type { ReachabilityState, DialBackCheck, ReachabilityView } from '../messages/api.js'





export interface ReachabilityComponents {
  libp2p: Pick<Node, 'handle' | 'unhandle' | 'dial' | 'getConnections' | 'dialProtocol' | 'peerStore' | 'addEventListener' | 'removeEventListener'>
  logger: Logger
  metrics: Metrics
}

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

const MAX_MESSAGE = STREAM_LIMITS.dialback
const MAX_CANDIDATES = 4
const MAX_CHECKERS = 4

/**
 * Learns whether others can dial this node: an AutoNAT of our own. libp2p's AutoNAT (and DCUtR) refuse to work
 * on private addresses by design, and every network we run on is private (pod IPs, office LANs, the NAT lab's
 * 10.x): there it never answers. Here a worker asks a bootstrap or relay it is directly connected to; that peer
 * dials the worker back on a new connection, at each announced TCP port on the IP it sees the worker's
 * connection come from (the autonat rule: never an IP other than the asker's, so no one can aim the dials at a
 * third party). A dial that connects: public. All of them failing: private (a NAT or firewall in front of it).
 */
export class Reachability implements Startable {
  private readonly intervalMs: number
  private readonly dialTimeoutMs: number
  private readonly minRequestIntervalMs: number
  private readonly protocol: string
  private view: ReachabilityView & { at?: number } = { state: 'unknown', checks: [] }
  private timer?: NodeJS.Timeout
  private checking = false
  /** a bootstrap or relay that has not checked this node was identified during a check: check again soon */
  private recheck = false
  private shutdown = new AbortController()
  /** client side: when each peer was last asked (the server refuses a second request within its interval) */
  private readonly lastAsked = new Map<string, number>()
  /** server side: when each peer last asked (bounded: oldest dropped) */
  private readonly asked = new Map<string, number>()

  constructor (private readonly components: ReachabilityComponents, private readonly init: ReachabilityInit) {
    this.intervalMs = init.intervalMs ?? 5 * 60_000
    this.dialTimeoutMs = init.dialTimeoutMs ?? 5000
    this.minRequestIntervalMs = init.minRequestIntervalMs ?? 10_000
    this.protocol = streamProtocol('dialback', init.protocolVersion)
    this.publish()
  }

  async start (): Promise<void> {
    if (!this.shutdown.signal.aborted && this.timer != null) return
    this.shutdown = new AbortController()
    if (this.init.serve) {
      await this.components.libp2p.handle(this.protocol, (stream, connection) => { void this.answer(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2 })
    }
    if (this.init.check) {
      this.components.libp2p.addEventListener('peer:identify', this.onIdentify)
      this.schedule(2000)
    }
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    clearTimeout(this.timer)
    this.timer = undefined
    this.components.libp2p.removeEventListener('peer:identify', this.onIdentify)
    if (this.init.serve) await this.components.libp2p.unhandle(this.protocol).catch(() => {})
  }

  status (): ReachabilityView {
    const { at, ...view } = this.view
    return at != null ? { ...view, checkedAgoMs: Date.now() - at } : view
  }

  /** a bootstrap or relay that has not checked this node yet was identified: check soon (it may see it otherwise) */
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = evt.detail
    if (!protocols.includes(this.protocol) || this.view.checks.length >= MAX_CHECKERS || this.view.checks.some(c => c.by === peerId.toString())) return
    // the dial back itself is identified during a check (a new connection from the checker): look again after it
    if (this.checking) this.recheck = true
    else this.schedule(1000)
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
    this.recheck = false
    try {
      const fresh = await this.ask()
      // a recheck asks only those that have not answered lately: keep the others' answers while they are connected
      const connected = new Set(this.components.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString()))
      const merged = new Map(this.view.checks.filter(c => connected.has(c.by)).map(c => [c.by, c]))
      for (const c of fresh) merged.set(c.by, c)
      const checks = [...merged.values()].slice(0, MAX_CHECKERS)
      if (fresh.length > 0) {
        const state: ReachabilityState = checks.every(c => c.result === 'reachable') ? 'public' : 'private'
        if (state !== this.view.state) this.components.logger.info({ state, checks }, `reachability: ${state}`)
        this.view = { state, checks, at: Date.now() }
        this.publish()
      }
      this.schedule(this.recheck && checks.length < MAX_CHECKERS ? 1000 : checks.length > 0 ? this.intervalMs : 30_000)
    } finally {
      this.checking = false
    }
  }

  /**
   * asks every directly connected peer that answers the protocol (a few at most), one after another: a node
   * can be reachable from its own cluster's bootstrap and not from the relay outside, and that is private
   */
  private async ask (): Promise<DialBackCheck[]> {
    const checks: DialBackCheck[] = []
    const seen = new Set<string>()
    if (this.lastAsked.size > 64) for (const [id, at] of this.lastAsked) if (Date.now() - at > this.minRequestIntervalMs) this.lastAsked.delete(id)
    for (const conn of this.components.libp2p.getConnections()) {
      const peer = conn.remotePeer
      if (checks.length >= MAX_CHECKERS) break
      if (conn.status !== 'open' || isCircuit(conn.remoteAddr) || seen.has(peer.toString())) continue
      seen.add(peer.toString())
      const asked = this.lastAsked.get(peer.toString())
      if (asked != null && Date.now() - asked < this.minRequestIntervalMs) continue
      const protocols = await this.components.libp2p.peerStore.get(peer).then(p => p.protocols, () => [] as string[])
      if (!protocols.includes(this.protocol)) continue
      try {
        const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.dialTimeoutMs * MAX_CANDIDATES + 5000)])
        this.lastAsked.set(peer.toString(), Date.now())
        const stream = await openStream(this.components.libp2p, peer, this.protocol, { signal })
        const res = await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(DialBackResponse).read({ signal })
        await stream.close().catch(() => {})
        this.components.metrics.reachabilityChecks.inc({ outcome: res.status.toLowerCase() })
        if (res.status === DialBackResponse.Status.REFUSED) continue
        checks.push({
          by: peer.toString(),
          result: res.status === DialBackResponse.Status.REACHABLE ? 'reachable' : res.status === DialBackResponse.Status.NO_ADDRESS ? 'no_address' : 'unreachable',
          address: res.address !== '' ? res.address : undefined,
          observed: res.observed !== '' ? res.observed : undefined
        })
      } catch (err: any) {
        this.components.metrics.reachabilityChecks.inc({ outcome: 'error' })
        this.components.logger.debug({ peer: peer.toString(), err: err.message }, 'dial-back request failed')
      }
    }
    return checks
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
    if (isCircuit(from) || (last != null && Date.now() - last < this.minRequestIntervalMs)) return { status: DialBackResponse.Status.REFUSED, address: '' }
    this.asked.delete(id)
    this.asked.set(id, Date.now())
    if (this.asked.size > 1000) this.asked.delete(this.asked.keys().next().value!)
    const known = await this.components.libp2p.peerStore.get(peer).then(p => p.addresses.map(a => a.multiaddr), () => [] as Multiaddr[])
    const candidates = dialBackCandidates(from, known).slice(0, MAX_CANDIDATES)
    if (candidates.length === 0) return { status: DialBackResponse.Status.NO_ADDRESS, address: '' }
    for (const addr of candidates) {
      try {
        const conn = await this.components.libp2p.dial(addr.encapsulate(`/p2p/${id}`), { force: true, signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.dialTimeoutMs)]) })
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

export function createReachability (components: ReachabilityComponents, init: ReachabilityInit): Reachability {
  return new Reachability({ ...components, logger: components.logger.child({ c: 'reachability' }) }, init)
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
    if (isCircuit(a)) continue
    const tcp = a.getComponents().find(c => c.name === 'tcp')?.value
    if (tcp != null && tcp !== '0') ports.add(tcp)
  }
  return [...ports].map(port => multiaddr(`/${ip.name}/${ip.value ?? ''}/tcp/${port}`))
}
