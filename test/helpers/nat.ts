import { execFileSync } from 'node:child_process'
import { canUseNetns, type Host } from './netns.js'

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

  /** a veth pair: `a` named `aName` in `aNs` with `addr`, `b` in `bNs` (on the bridge when `bNs` is the hub) */
  private link (id: string, aNs: string, aName: string, addr: string, bNs: string, bName?: string, bAddr?: string): void {
    run('ip', ['link', 'add', `${this.p}${id}a`, 'type', 'veth', 'peer', 'name', `${this.p}${id}b`])
    run('ip', ['link', 'set', `${this.p}${id}a`, 'netns', aNs])
    run('ip', ['link', 'set', `${this.p}${id}b`, 'netns', bNs])
    run('ip', ['-n', aNs, 'link', 'set', `${this.p}${id}a`, 'name', aName])
    run('ip', ['-n', aNs, 'addr', 'add', addr, 'dev', aName])
    run('ip', ['-n', aNs, 'link', 'set', aName, 'up'])
    if (bNs === this.hub) {
      run('ip', ['-n', bNs, 'link', 'set', `${this.p}${id}b`, 'master', 'br0'])
      run('ip', ['-n', bNs, 'link', 'set', `${this.p}${id}b`, 'up'])
    } else {
      run('ip', ['-n', bNs, 'link', 'set', `${this.p}${id}b`, 'name', bName!])
      run('ip', ['-n', bNs, 'addr', 'add', bAddr!, 'dev', bName!])
      run('ip', ['-n', bNs, 'link', 'set', bName!, 'up'])
    }
  }

  /** a host with a public address on the WAN */
  publicHost (): Host {
    const i = ++this.wanHosts
    const ns = `${this.p}w${i}`
    this.ns(ns)
    const ip = `10.214.${this.n}.${i}`
    this.link(`w${i}`, ns, 'eth0', `${ip}/24`, this.hub)
    return { ns, ip }
  }

  /** a host behind a masquerading router of its own (a home or office NAT); returns the host */
  natHost (): Host {
    const k = ++this.sites
    const router = `${this.p}r${k}`
    const ns = `${this.p}s${k}`
    this.ns(router)
    this.ns(ns)
    this.link(`r${k}`, router, 'eth0', `10.214.${this.n}.${100 + k}/24`, this.hub)
    const lan = `10.${215 + k}.${this.n}`
    this.link(`s${k}`, ns, 'eth0', `${lan}.2/24`, router, 'eth1', `${lan}.1/24`)
    run('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${lan}.1`])
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    run('ip', ['netns', 'exec', router, 'nft', '-f', '-'], `table ip nat {
  chain postrouting { type nat hook postrouting priority 100; oifname "eth0" masquerade
  }
}
table ip filter {
  chain forwarding { type filter hook forward priority 0; policy drop; iifname "eth1" accept; ct state established,related accept
  }
}
`)
    return { ns, ip: `${lan}.2` }
  }

  wrap (host: Host): string[] {
    return ['ip', 'netns', 'exec', host.ns]
  }

  destroy (): void {
    for (const ns of this.namespaces.reverse()) { try { run('ip', ['netns', 'del', ns]) } catch {} }
  }
}
