import type { Node } from './libp2p.js'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

/**
 * Opens a stream of `protocol` to `peer`, on a connection we already have when there is one (an unlimited one
 * first), else by dialling. libp2p's own dial never reuses a limited (relayed) connection: it dials again, and
 * the second circuit to the same peer is closed as a duplicate ("Remote closed connection during opening"),
 * so between two workers behind NAT no stream could ever be opened.
 */
export async function openStream (libp2p: Pick<Node, 'getConnections' | 'dialProtocol'>, peer: PeerId, protocol: string, options: AbortOptions = {}): Promise<Stream> {
  const open = libp2p.getConnections(peer).filter(c => c.status === 'open')
  const conn = open.find(c => c.limits == null) ?? open[0]
  if (conn != null) return await conn.newStream(protocol, { ...options, runOnLimitedConnection: true })
  return await libp2p.dialProtocol(peer, protocol, { ...options, runOnLimitedConnection: true })
}

/**
 * One answer per asking peer per `intervalMs` for a request-answer protocol (a faster request is refused),
 * remembering at most `max` peers (the oldest is forgotten first).
 */
export class AnswerLimit {
  private readonly answered = new Map<string, number>()

  constructor (private readonly intervalMs = 1000, private readonly max = 1000) {}

  /** true when `peer` may be answered now (and counts this answer) */
  allow (peer: string): boolean {
    const last = this.answered.get(peer)
    if (last != null && Date.now() - last < this.intervalMs) return false
    this.answered.delete(peer)
    this.answered.set(peer, Date.now())
    if (this.answered.size > this.max) this.answered.delete(this.answered.keys().next().value!)
    return true
  }
}

/** true when reading a length-prefixed protobuf answer failed on its content (too long, undecodable), not the stream */
export function isMalformed (err: any): boolean {
  return err?.name === 'InvalidDataLengthError' || /decode|length|wire type/i.test(String(err?.message))
}
