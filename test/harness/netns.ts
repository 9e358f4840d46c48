import { execFileSync } from 'node:child_process'

/** True when this process may create network namespaces (root with iproute2). */
export function canUseNetns (): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

export interface Host { ns: string, ip: string }

/**
 * Test hosts, each a network namespace with its own IP, on a private bridge that lives in a namespace of
 * its own: nothing they send (multicast included) reaches the machine's real interfaces.
 */
export class Hosts {
  private readonly prefix: string
  private readonly hub: string
  readonly hosts: Host[] = []
  private readonly subnet: string

  constructor (tag: string, subnetIndex = Math.floor(Math.random() * 200) + 20) {
    this.prefix = `p2pt${tag}${process.pid % 10000}`
    this.hub = `${this.prefix}hub`
    this.subnet = `10.213.${subnetIndex}`
    ip('netns', 'add', this.hub)
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', this.hub, 'link', 'set', 'br0', 'up')
  }

  /** Adds a host; its namespace gets lo, one veth into the bridge, and a multicast route. */
  add (): Host {
    const i = this.hosts.length + 1
    const ns = `${this.prefix}h${i}`
    const addr = `${this.subnet}.${i}`
    ip('netns', 'add', ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('link', 'add', `${this.prefix}a${i}`, 'type', 'veth', 'peer', 'name', `${this.prefix}b${i}`)
    ip('link', 'set', `${this.prefix}a${i}`, 'netns', ns)
    ip('link', 'set', `${this.prefix}b${i}`, 'netns', this.hub)
    ip('-n', ns, 'link', 'set', `${this.prefix}a${i}`, 'name', 'eth0')
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'multicast', 'on', 'up')
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
    ip('-n', this.hub, 'link', 'set', `${this.prefix}b${i}`, 'master', 'br0')
    ip('-n', this.hub, 'link', 'set', `${this.prefix}b${i}`, 'up')
    const host = { ns, ip: addr }
    this.hosts.push(host)
    return host
  }

  /** cuts a host off the bridge (a partition), or puts it back */
  setLink (host: Host, up: boolean): void {
    ip('-n', host.ns, 'link', 'set', 'eth0', up ? 'up' : 'down')
    if (up) {
      try { ip('-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0') } catch {}
    }
  }

  /** the command prefix that runs a program inside a host */
  wrap (host: Host): string[] {
    return ['ip', 'netns', 'exec', host.ns]
  }

  destroy (): void {
    for (const h of this.hosts) { try { ip('netns', 'del', h.ns) } catch {} }
    try { ip('netns', 'del', this.hub) } catch {}
  }
}
