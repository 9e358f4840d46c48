import { backoffDelay } from './backoff.js'
import { parseTarget, resolveTarget, systemLookup, type BootstrapTarget, type Lookup } from './resolve.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../node/libp2p.js'

export interface BootstrapInit {
  addresses: string[]
  dialTimeoutMs: number
  maxBackoffMs: number
  /** while connected, re-dial the list this often to pick up new pods behind a DNS name */
  refreshMs?: number
  lookup?: Lookup
}

export interface Bootstrapper {
  start(): void
  stop(): void
  /** dial every bootstrap address now */
  dialAll(): Promise<number>
  targets(): BootstrapTarget[]
}

/**
 * Keeps the node attached to its bootstrap list: dials every address at start, retries with backoff
 * while the node has no peers at all, and re-resolves DNS names on every round.
 */
export function createBootstrapper (libp2p: Node, logger: Logger, metrics: Metrics, init: BootstrapInit): Bootstrapper {
  const targets = init.addresses.map(parseTarget)
  const lookup = init.lookup ?? systemLookup
  const refreshMs = init.refreshMs ?? Math.max(init.maxBackoffMs, 30_000)
  let timer: NodeJS.Timeout | undefined
  let failures = 0
  let running = false
  let round: Promise<number> | undefined

  const connected = (): boolean => libp2p.getConnections().length > 0

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
      if (target.peerId != null && target.peerId === libp2p.peerId.toString()) return
      if (target.peerId != null && libp2p.getConnections().some(c => c.remotePeer.toString() === target.peerId)) {
        ok++
        return
      }
      try {
        const conn = await libp2p.dial(addr, { signal: AbortSignal.timeout(init.dialTimeoutMs) })
        ok++
        metrics.bootstrapDials.inc({ outcome: 'ok' })
        logger.debug({ addr: addr.toString(), peer: conn.remotePeer.toString() }, 'bootstrap dial ok')
      } catch (err: any) {
        // a Service that resolves to this node itself is expected for bootstrap replicas
        const self = /dial self|self/i.test(String(err.message)) || err.name === 'InvalidPeerIdError'
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
    const delay = connected() ? refreshMs : backoffDelay(failures, 1000, init.maxBackoffMs)
    timer = setTimeout(() => { void run() }, delay)
  }

  async function run (): Promise<void> {
    if (!running) return
    const ok = await dialAll()
    if (ok > 0 || connected()) {
      failures = 0
    } else {
      failures++
      logger.warn({ attempt: failures, targets: targets.map(t => t.text) }, 'no bootstrap peer reachable; retrying with backoff')
    }
    schedule()
  }

  const onDisconnect = (): void => {
    // lost every peer: start the backoff loop again at once instead of waiting for the refresh
    if (running && !connected()) {
      failures = 0
      clearTimeout(timer)
      timer = setTimeout(() => { void run() }, backoffDelay(0, 1000, init.maxBackoffMs))
    }
  }

  return {
    start () {
      if (running || targets.length === 0) return
      running = true
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      void run()
    },
    stop () {
      running = false
      clearTimeout(timer)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
    },
    dialAll,
    targets: () => targets
  }
}
