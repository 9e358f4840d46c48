import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** an address through a relay (/p2p-circuit): a relayed connection's remote address, or a circuit address to dial */
export function isCircuit (addr: Multiaddr | string): boolean {
  return addr.toString().includes('/p2p-circuit')
}

/** how this node is connected to `peer` now: direct when any open connection is, else relayed, else none */
export function connectionTo (conns: Connection[], peer: string): 'direct' | 'relayed' | 'none' {
  const open = conns.filter(c => c.remotePeer.toString() === peer && c.status === 'open')
  return open.some(c => !isCircuit(c.remoteAddr)) ? 'direct' : open.length > 0 ? 'relayed' : 'none'
}

/** the relays `peer`'s open relayed connections go through: the /p2p/ before /p2p-circuit in each address */
export function relaysOf (conns: Connection[], peer: string): string[] {
  const relays = conns.filter(c => c.status === 'open' && c.remotePeer.toString() === peer && isCircuit(c.remoteAddr))
    .map(c => /\/p2p\/([^/]+)\/p2p-circuit/.exec(c.remoteAddr.toString())?.[1])
    .filter((r): r is string => r != null)
  return [...new Set(relays)].sort()
}
