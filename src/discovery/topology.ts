/**
 * Who is connected to whom (`GET /api/topology`, the console's network graph). A node knows only its own
 * connections, so it asks each connected member for theirs over `/<pv>/links/1.0.0` — only when someone asks
 * for the graph, each answer kept for a few seconds — and joins the answers into one graph. Nothing is sent
 * while nobody looks.
 */
import { pbStream } from '@libp2p/utils'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { Links } from '../messages/topology.js'
import { isCircuit } from '../libp2p/connections.js'
import { AnswerLimit, isMalformed, openStream } from '../libp2p/streams.js'
import type { Logger } from '../util/logger.js'
import type { Membership } from '../membership/service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { STREAM_LIMITS, streamProtocol } from '../messages/protocols.js'
import type { Startable } from '../util/startable.js'
import type { TopologyNode, TopologyLink, TopologyView } from '../messages/api.js'
export type { TopologyNode, TopologyLink, TopologyView } from '../messages/api.js'


const MAX_MESSAGE = STREAM_LIMITS.links


export interface TopologyComponents {
  libp2p: Pick<Node, 'peerId' | 'handle' | 'unhandle' | 'getConnections' | 'dialProtocol'>
  membership: Pick<Membership, 'members'>
  metrics: Pick<Metrics, 'invalidMessages'>
  logger: Logger
}

export interface TopologyInit {
  protocolVersion: string
  /** this node's name and role, for its own place in the graph */
  name?: string
  role?: string
  /** how long a peer's answer is kept (default 5 s) */
  cacheMs?: number
  /** how long one peer may take to answer (default 3 s) */
  timeoutMs?: number
}

interface Known { at: number, links: Array<{ peer: string, relayed: boolean }> }

export class Topology implements Startable {
  private readonly protocol: string
  private readonly cacheMs: number
  private readonly timeoutMs: number
  private readonly known = new Map<string, Known>()
  /** one answer per peer per second */
  private readonly limit = new AnswerLimit()
  private shutdown = new AbortController()
  private asking?: Promise<void>
  private readonly self: { name?: string, role?: string }

  constructor (private readonly components: TopologyComponents, init: TopologyInit) {
    this.protocol = streamProtocol('links', init.protocolVersion)
    this.cacheMs = init.cacheMs ?? 5000
    this.timeoutMs = init.timeoutMs ?? 3000
    this.self = { name: init.name, role: init.role }
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.components.libp2p.handle(this.protocol, (stream, connection) => { void this.answer(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 4, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    await this.components.libp2p.unhandle(this.protocol).catch(() => {})
  }

  /** this node's open connections, one entry per peer (a direct one wins over a relayed one) */
  private ownLinks (): Array<{ peer: PeerId, relayed: boolean }> {
    const byPeer = new Map<string, { peer: PeerId, relayed: boolean }>()
    for (const c of this.components.libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const id = c.remotePeer.toString()
      byPeer.set(id, { peer: c.remotePeer, relayed: (byPeer.get(id)?.relayed ?? true) && isCircuit(c.remoteAddr) })
    }
    return [...byPeer.values()]
  }

  /** the graph: every member and every connection this node and the members it is connected to report */
  async graph (): Promise<TopologyView> {
    this.asking ??= this.refresh().finally(() => { this.asking = undefined })
    await this.asking
    const self = this.components.libp2p.peerId.toString()
    const members = this.components.membership.members()
    const nodes = new Map<string, TopologyNode>([[self, { peerId: self, ...this.self, state: 'alive', self: true }]])
    for (const m of members) nodes.set(m.peerId, { peerId: m.peerId, name: m.name, role: m.role, state: m.state.phase })
    const links = new Map<string, TopologyLink>()
    const add = (a: string, b: string, relayed: boolean): void => {
      const [from, to] = a < b ? [a, b] : [b, a]
      const key = `${from} ${to}`
      const had = links.get(key)
      links.set(key, { from, to, relayed: (had?.relayed ?? true) && relayed })
      if (!nodes.has(b)) nodes.set(b, { peerId: b })
    }
    for (const l of this.ownLinks()) add(self, l.peer.toString(), l.relayed)
    const unanswered: string[] = []
    for (const m of members) {
      if (m.state.phase !== 'alive') continue
      const k = this.known.get(m.peerId)
      if (k == null) { unanswered.push(m.peerId); continue }
      for (const l of k.links) add(m.peerId, l.peer, l.relayed)
    }
    return { nodes: [...nodes.values()], links: [...links.values()], unanswered }
  }

  /** asks the connected members whose answer is older than the cache, a few at a time */
  private async refresh (): Promise<void> {
    const now = Date.now()
    for (const [id, k] of this.known) if (now - k.at > this.cacheMs * 6) this.known.delete(id)
    const connected = new Set(this.ownLinks().map(l => l.peer.toString()))
    const due = this.components.membership.members()
      .filter(m => m.state.phase === 'alive' && connected.has(m.peerId) && now - (this.known.get(m.peerId)?.at ?? 0) >= this.cacheMs)
      .map(m => m.peerId)
    const next = async (): Promise<void> => {
      for (let id = due.shift(); id != null; id = due.shift()) await this.ask(id)
    }
    await Promise.all(Array.from({ length: Math.min(8, due.length) }, next))
  }

  private async ask (id: string): Promise<void> {
    const conn = this.components.libp2p.getConnections().find(c => c.remotePeer.toString() === id && c.status === 'open')
    if (conn == null) return
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
    let msg: Links
    try {
      const stream = await openStream(this.components.libp2p, conn.remotePeer, this.protocol, { signal })
      msg = await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(Links).read({ signal })
      await stream.close().catch(() => {})
    } catch (err: any) {
      // an older node without the protocol, a timeout, or a malformed answer
      if (isMalformed(err)) this.components.metrics.invalidMessages.inc({ reason: 'decode' })
      this.components.logger.debug({ peer: id, err: err.message }, 'links request failed')
      return
    }
    const links: Known['links'] = []
    for (const l of msg.links) {
      try {
        links.push({ peer: peerIdFromMultihash(Digest.decode(l.peer)).toString(), relayed: l.relayed })
      } catch {
        this.components.metrics.invalidMessages.inc({ reason: 'bad_field' })
      }
    }
    this.known.set(id, { at: Date.now(), links })
  }

  /** server side: this node's connections, at most once a second per asking peer */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    if (!this.limit.allow(connection.remotePeer.toString())) { stream.abort(new Error('asked too often')); return }
    const links = this.ownLinks().slice(0, 512).map(l => ({ peer: l.peer.toMultihash().bytes, relayed: l.relayed }))
    try {
      await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(Links).write({ links }, { signal: AbortSignal.timeout(5000) })
      await stream.close()
    } catch {
      stream.abort(new Error('could not answer'))
    }
  }
}

export function createTopology (components: TopologyComponents, init: TopologyInit): Topology {
  return new Topology({ ...components, logger: components.logger.child({ c: 'topology' }) }, init)
}
