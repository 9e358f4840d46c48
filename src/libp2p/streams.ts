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
