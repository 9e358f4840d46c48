import { execFileSync } from 'node:child_process'
import { canUseNetns, type Host } from './netns.js'
import type { Cluster, NodeSpec, TestNode } from './cluster.js'

export interface NatOptions {
  /** a new random outside port for every connection (address-and-port-dependent mapping) */
  symmetric?: boolean
}

/** a LAN behind a NAT router: the router's WAN side and the LAN's hosts */
export interface Site { router: Host, hosts: Host[] }

/** True when this process can build NAT topologies: network namespaces and nftables. */
export function canUseNat (): boolean {
  if (!canUseNetns()) return false
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function run (cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { stdio: [input != null ? 'pipe' : 'ignore', 'ignore', 'pipe'], input })
}

/**
 * A small internet in network namespaces, nothing of it on the machine's own interfaces: a "WAN" bridge with
 * public hosts on 10.214.N.0/24, and sites behind masquerading routers (nftables), each site a LAN of its own
 * (10.215+K.N.0/24). A host behind a router can dial out; nothing can dial in (the router forwards only what a
 * LAN host started). The model is libp2p's hole-punch interop topology: two SNAT routers and a relay on the WAN.
 */
export class NatLab {
  private readonly p: string
  private readonly hub: string
  private readonly n: number
  private readonly namespaces: string[] = []
  private wanHosts = 0
  private sites = 0

  constructor (tag: string) {
    this.p = `p2pn${tag}${process.pid % 10000}`
    this.n = 20 + (process.pid % 200)
    this.hub = `${this.p}hub`
    this.ns(this.hub)
    run('ip', ['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge'])
    run('ip', ['-n', this.hub, 'link', 'set', 'br0', 'up'])
  }

  private ns (name: string): void {
    run('ip', ['netns', 'add', name])
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    this.namespaces.push(name)
  }

  /** a veth pair: `a` named `aName` in `aNs` with `addr`, `b` on the WAN bridge */
  private link (id: string, aNs: string, aName: string, addr: string): void {
    run('ip', ['link', 'add', `${this.p}${id}a`, 'type', 'veth', 'peer', 'name', `${this.p}${id}b`])
    run('ip', ['link', 'set', `${this.p}${id}a`, 'netns', aNs])
    run('ip', ['link', 'set', `${this.p}${id}b`, 'netns', this.hub])
    run('ip', ['-n', aNs, 'link', 'set', `${this.p}${id}a`, 'name', aName])
    run('ip', ['-n', aNs, 'addr', 'add', addr, 'dev', aName])
    run('ip', ['-n', aNs, 'link', 'set', aName, 'up'])
    run('ip', ['-n', this.hub, 'link', 'set', `${this.p}${id}b`, 'master', 'br0'])
    run('ip', ['-n', this.hub, 'link', 'set', `${this.p}${id}b`, 'up'])
  }

  /** a host with a public address on the WAN */
  publicHost (): Host {
    const i = ++this.wanHosts
    const ns = `${this.p}w${i}`
    this.ns(ns)
    const ip = `10.214.${this.n}.${i}`
    this.link(`w${i}`, ns, 'eth0', `${ip}/24`)
    return { ns, ip }
  }

  /** a host behind a masquerading router of its own (a home or office NAT); returns the host */
  natHost (opts: NatOptions = {}): Host {
    return this.site({ ...opts, hosts: 1 }).hosts[0]
  }

  /**
   * A LAN behind one masquerading router: `hosts` hosts on a bridge in the router's namespace (they reach each
   * other directly), the router on the WAN. `symmetric`: a new random outside port for every connection (an
   * address-and-port-dependent mapping, as carrier-grade and many corporate NATs do) instead of Linux's
   * port-preserving one. `forward`: WAN ports the router forwards to a LAN host (a LoadBalancer or NodePort in
   * front of a cluster), as [port, host index].
   */
  site (opts: NatOptions & { hosts?: number, forward?: Array<[number, number]> } = {}): Site {
    const k = ++this.sites
    const router = `${this.p}r${k}`
    this.ns(router)
    const wanIp = `10.214.${this.n}.${100 + k}`
    this.link(`r${k}`, router, 'eth0', `${wanIp}/24`)
    const lan = `10.${215 + k}.${this.n}`
    run('ip', ['-n', router, 'link', 'add', 'lan0', 'type', 'bridge'])
    run('ip', ['-n', router, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan0'])
    run('ip', ['-n', router, 'link', 'set', 'lan0', 'up'])
    const hosts: Host[] = []
    for (let i = 0; i < (opts.hosts ?? 1); i++) {
      const ns = `${this.p}s${k}h${i}`
      this.ns(ns)
      const id = `s${k}h${i}`
      run('ip', ['link', 'add', `${this.p}${id}a`, 'type', 'veth', 'peer', 'name', `${this.p}${id}b`])
      run('ip', ['link', 'set', `${this.p}${id}a`, 'netns', ns])
      run('ip', ['link', 'set', `${this.p}${id}b`, 'netns', router])
      run('ip', ['-n', ns, 'link', 'set', `${this.p}${id}a`, 'name', 'eth0'])
      run('ip', ['-n', ns, 'addr', 'add', `${lan}.${i + 2}/24`, 'dev', 'eth0'])
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
      run('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${lan}.1`])
      run('ip', ['-n', router, 'link', 'set', `${this.p}${id}b`, 'master', 'lan0'])
      run('ip', ['-n', router, 'link', 'set', `${this.p}${id}b`, 'up'])
      hosts.push({ ns, ip: `${lan}.${i + 2}` })
    }
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    const dnat = (opts.forward ?? []).map(([port, i]) => `iifname "eth0" tcp dport ${port} dnat to ${hosts[i].ip}:${port}`).join('\n    ')
    run('ip', ['netns', 'exec', router, 'nft', '-f', '-'], `table ip nat {
  chain prerouting { type nat hook prerouting priority -100;
    ${dnat}
  }
  chain postrouting { type nat hook postrouting priority 100; oifname "eth0" masquerade${opts.symmetric === true ? ' fully-random' : ''}
  }
}
table ip filter {
  chain forwarding { type filter hook forward priority 0; policy drop; iifname "lan0" accept; ct state established,related accept; ct status dnat accept
  }
}
`)
    return { router: { ns: router, ip: wanIp }, hosts }
  }

  wrap (host: Host): string[] {
    return ['ip', 'netns', 'exec', host.ns]
  }

  destroy (): void {
    for (const ns of this.namespaces.reverse()) { try { run('ip', ['netns', 'del', ns]) } catch {} }
  }
}

/**
 * A p2p-node in a lab host: workers with the relay client, listening on 0.0.0.0:4001 inside the host, the HTTP
 * API on 0.0.0.0:`apiPort` (reached from inside the host at 127.0.0.1). A bootstrap gets no bootstrap list.
 */
export function addLabNode (cluster: Cluster, lab: NatLab, host: Host, spec: Pick<NodeSpec, 'name' | 'role' | 'extra'> & { bootstrap: string[], apiPort?: number }): TestNode {
  const { bootstrap, apiPort, ...rest } = spec
  const n = cluster.add({ ...rest, listenHost: host.ip, relay: spec.role === 'worker', bootstrap: spec.role === 'bootstrap' ? [] : bootstrap }, lab.wrap(host))
  n.updateConfig(c => { c.node.listen_host = '0.0.0.0'; c.node.listen_port = 4001; c.metrics.host = '0.0.0.0'; c.metrics.port = apiPort ?? 9090 })
  return n
}

