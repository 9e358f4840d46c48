import { Lifetime } from '../util/lifetime.js'
import { backoffDelay } from '../util/backoff.js'
import { parseTarget, resolveTarget, systemLookup, type BootstrapTarget, type Lookup } from './resolve.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { PeerId } from '@libp2p/interface'
import type { Startable } from '../util/startable.js'

export interface BootstrapInit {
  addresses: string[]
  dialTimeoutMs: number
  maxBackoffMs: number
  /** while connected, re-dial the list this often to pick up new pods behind a DNS name */
  refreshMs?: number
  lookup?: Lookup
}

export interface Bootstrapper extends Startable {
  /** dial every bootstrap address now */
  dialAll(): Promise<number>
  targets(): BootstrapTarget[]
}

/**
 * Keeps the node attached to its bootstrap list: dials every address at start, retries with backoff (from 1 s)
 * while the node has no peers at all or has lost the peer it reached through one of the addresses (a restarted
 * bootstrap is found again within seconds, not at the next refresh), and re-resolves DNS names on every round.
 */
export interface BootstrapComponents {
  libp2p: Pick<Node, 'peerId' | 'dial' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
  logger: Logger
  metrics: Metrics
}

export function createBootstrapper (components: BootstrapComponents, init: BootstrapInit): Bootstrapper {
  const { libp2p, metrics } = components
  const logger = components.logger.child({ c: 'bootstrap' })
  // a dial or ping under way ends with the component
  const lifetime = new Lifetime()
  const targets = init.addresses.map(parseTarget)
  const lookup = init.lookup ?? systemLookup
  const refreshMs = init.refreshMs ?? Math.max(init.maxBackoffMs, 30_000)
  let timer: NodeJS.Timeout | undefined
  let failures = 0
  let running = false
  let round: Promise<number> | undefined
  /** the peer each address last led to, and the addresses whose peer has since gone away */
  const reached = new Map<string, string>()
  const lost = new Set<string>()

  const connected = (): boolean => libp2p.getConnections().length > 0
  const attached = (): boolean => connected() && lost.size === 0
  const reach = (target: BootstrapTarget, peer: string): void => {
    reached.set(target.text, peer)
    lost.delete(target.text)
  }

  async function dialOne (target: BootstrapTarget): Promise<number> {
    let addrs
    try {
      addrs = await resolveTarget(target, lookup)
    } catch (err: any) {
      metrics.bootstrapDials.inc({ outcome: 'dns_error' })
      logger.warn({ addr: target.text, err: err.code ?? err.message }, 'bootstrap address does not resolve')
      return 0
    }
    let ok = 0
    await Promise.all(addrs.map(async addr => {
      if (target.peerId != null && target.peerId === libp2p.peerId.toString()) {
        lost.delete(target.text)
        return
      }
      if (target.peerId != null && libp2p.getConnections().some(c => c.remotePeer.toString() === target.peerId)) {
        reach(target, target.peerId)
        ok++
        return
      }
      try {
        const conn = await libp2p.dial(addr, { signal: lifetime.signal(init.dialTimeoutMs) })
        reach(target, conn.remotePeer.toString())
        ok++
        metrics.bootstrapDials.inc({ outcome: 'ok' })
        logger.debug({ addr: addr.toString(), peer: conn.remotePeer.toString() }, 'bootstrap dial ok')
      } catch (err: any) {
        // a Service that resolves to this node itself is expected for bootstrap replicas
        const self = /dial self|self/i.test(String(err.message)) || err.name === 'InvalidPeerIdError'
        if (self) lost.delete(target.text)
        metrics.bootstrapDials.inc({ outcome: self ? 'self' : 'error' })
        if (!self) logger.debug({ addr: addr.toString(), err: err.message }, 'bootstrap dial failed')
      }
    }))
    return ok
  }

  async function dialAll (): Promise<number> {
    round ??= Promise.all(targets.map(dialOne)).then(counts => counts.reduce((a, b) => a + b, 0)).finally(() => { round = undefined })
    return await round
  }

  function schedule (): void {
    if (!running) return
    clearTimeout(timer)
    const delay = attached() ? refreshMs : backoffDelay(failures, 1000, init.maxBackoffMs)
    timer = setTimeout(() => { void run() }, delay)
  }

  async function run (): Promise<void> {
    if (!running) return
    const ok = await dialAll()
    if (attached()) {
      failures = 0
    } else {
      failures++
      if (ok === 0 && !connected()) logger.warn({ attempt: failures, targets: targets.map(t => t.text) }, 'no bootstrap peer reachable; retrying with backoff')
      else logger.debug({ attempt: failures, lost: [...lost] }, 'a bootstrap peer went away; re-dialling with backoff')
    }
    schedule()
  }

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (!running) return
    const peer = evt.detail.toString()
    const before = lost.size
    for (const [text, id] of reached) if (id === peer) lost.add(text)
    // lost a bootstrap peer, or every peer: start the backoff loop again at once instead of waiting for the refresh
    if (lost.size > before || !connected()) {
      failures = 0
      clearTimeout(timer)
      timer = setTimeout(() => { void run() }, backoffDelay(0, 1000, init.maxBackoffMs))
    }
  }

  return {
    start () {
      lifetime.start()
      if (running || targets.length === 0) return
      running = true
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      void run()
    },
    stop () {
      lifetime.stop()
      running = false
      clearTimeout(timer)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
    },
    dialAll,
    targets: () => targets
  }
}
