import { lookup } from 'node:dns/promises'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

export interface BootstrapTarget {
  /** the configured address, as written */
  text: string
  /** peer id from a /p2p/ component, when given */
  peerId?: string
  /** host name to resolve on every attempt (dns, dns4, dns6), or undefined for an IP address */
  host?: string
  family?: 4 | 6
  port?: number
  addr: Multiaddr
}

export function parseTarget (text: string): BootstrapTarget {
  const addr = multiaddr(text)
  const parts = addr.getComponents()
  const target: BootstrapTarget = { text, addr }
  for (const c of parts) {
    if (c.name === 'p2p') target.peerId = c.value
    if (c.name === 'dns4' || c.name === 'dns6' || c.name === 'dns') {
      target.host = c.value
      target.family = c.name === 'dns6' ? 6 : c.name === 'dns4' ? 4 : undefined
    }
    if (c.name === 'tcp') target.port = Number(c.value)
  }
  return target
}

export type Lookup = (host: string, family?: 4 | 6) => Promise<string[]>

export const systemLookup: Lookup = async (host, family) => {
  const answers = await lookup(host, { all: true, family: family ?? 0 })
  return answers.map(a => a.address)
}

/**
 * Turns a target into dialable addresses. DNS names are looked up on every call (never cached), so a
 * Kubernetes Service that moves, or a headless Service with many pods, yields its current addresses.
 */
export async function resolveTarget (target: BootstrapTarget, resolver: Lookup = systemLookup): Promise<Multiaddr[]> {
  if (target.host == null || target.port == null) return [target.addr]
  const ips = [...new Set(await resolver(target.host, target.family))]
  const suffix = target.peerId != null ? `/p2p/${target.peerId}` : ''
  return ips.map(ip => multiaddr(`/${ip.includes(':') ? 'ip6' : 'ip4'}/${ip}/tcp/${target.port}${suffix}`))
}
