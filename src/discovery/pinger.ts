import { Lifetime, raceAbort } from '../util/lifetime.js'
import { byteStream } from '@libp2p/utils'
import { openStream } from '../libp2p/streams.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Startable } from '../util/startable.js'

export interface Pinger extends Startable {
  /**
   * round-trip time to a peer in ms: the least of its last few pings. The distance to a peer, not its worst
   * moment: one ping answered late (a stalled process, a GC pause) would otherwise make it look far away
   * until the next ping, and the scheduler would skip it meanwhile.
   */
  rtt(peer: string): number | undefined
  /**
   * `rtt` once there are two samples, else undefined: what the task scheduler goes by. The first ping, made as the
   * connection opens, runs while both ends are busy starting up; alone, one slow answer made a new worker look far
   * away, and a burst of tasks submitted then all went to the other workers.
   */
  settledRtt(peer: string): number | undefined
  /** ping one peer now (ms) */
  pingNow(peer: string): Promise<number>
}

const RTT_SAMPLES = 5

/**
 * Pings every connected peer each interval, records RTT, and closes connections to a peer whose pings time
 * out `maxFailures` times in a row, so a frozen peer does not hold a dead connection open. A ping is a ping
 * frame of the connection's multiplexer (yamux) where it has one, else a libp2p ping stream (see `muxerOf`).
 */
export interface PingerComponents {
  libp2p: Pick<Node, 'getConnections' | 'dialProtocol' | 'addEventListener' | 'removeEventListener'>
  logger: Logger
  metrics: Metrics
}

export function createPinger (components: PingerComponents, init: { intervalMs: number, timeoutMs?: number, maxFailures?: number }): Pinger {
  const { libp2p, metrics } = components
  const logger = components.logger.child({ c: 'ping' })
  // a dial or ping under way ends with the component
  const lifetime = new Lifetime()
  /** the last RTT_SAMPLES pings per connected peer */
  const rtts = new Map<string, number[]>()
  const failures = new Map<string, number>()
  const maxFailures = init.maxFailures ?? 3
  const timeoutMs = init.timeoutMs ?? Math.min(10_000, Math.max(1000, init.intervalMs))
  let timer: NodeJS.Timeout | undefined

  function rtt (peer: string): number | undefined {
    const samples = rtts.get(peer)
    return samples == null ? undefined : Math.min(...samples)
  }

  async function pingNow (peer: string): Promise<number> {
    const conn = libp2p.getConnections().find(c => c.remotePeer.toString() === peer)
    if (conn == null) throw new Error('not connected')
    const muxer = muxerOf(conn)
    const ms = muxer != null
      ? await pingMuxer(muxer, lifetime.signal(timeoutMs))
      : await pingOver(libp2p, conn.remotePeer, lifetime.signal(timeoutMs))
    metrics.pings.inc({ via: muxer != null ? 'muxer' : 'stream' })
    rtts.set(peer, [...(rtts.get(peer) ?? []).slice(1 - RTT_SAMPLES), ms])
    metrics.peerRtt.observe(ms / 1000)
    failures.delete(peer)
    return ms
  }

  async function round (): Promise<void> {
    const peers = new Set(libp2p.getConnections().map(c => c.remotePeer.toString()))
    for (const peer of rtts.keys()) if (!peers.has(peer)) rtts.delete(peer)
    await Promise.all([...peers].map(async peer => {
      try {
        await pingNow(peer)
      } catch (err: any) {
        // only silence means a dead peer: a peer that does not speak ping, or a connection already
        // closing, is not a reason to cut it off
        if (err.name !== 'TimeoutError' && err.name !== 'AbortError') {
          metrics.pingFailures.inc({ reason: err.name === 'UnsupportedProtocolError' ? 'unsupported' : 'error' })
          logger.debug({ peer, err: err.message }, 'ping not possible')
          return
        }
        metrics.pingFailures.inc({ reason: 'timeout' })
        const n = (failures.get(peer) ?? 0) + 1
        failures.set(peer, n)
        logger.debug({ peer, failures: n, err: err.message }, 'ping failed')
        if (n >= maxFailures) {
          failures.delete(peer)
          logger.info({ peer }, 'closing connections to a peer that stopped answering pings')
          const conns = libp2p.getConnections().filter(c => c.remotePeer.toString() === peer)
          await Promise.all(conns.map(async c => { c.abort(new Error('ping timeout')) }))
        }
      }
    }))
  }

  // first measurement soon after a peer connects, not a whole interval later
  const onConnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString()
    setTimeout(() => { if (timer != null) pingNow(peer).catch(() => {}) }, 300).unref()
  }

  return {
    start () {
      lifetime.start()
      if (timer != null) return
      timer = setInterval(() => { void round() }, init.intervalMs)
      libp2p.addEventListener('peer:connect', onConnect)
    },
    stop () {
      lifetime.stop()
      clearInterval(timer)
      timer = undefined
      libp2p.removeEventListener('peer:connect', onConnect)
    },
    rtt,
    settledRtt: peer => (rtts.get(peer)?.length ?? 0) < 2 ? undefined : rtt(peer),
    pingNow
  }
}

/** what a multiplexer that can ping offers (yamux's `ping()`: one 12-byte frame each way, answered by the muxer) */
export interface MuxerPing { ping: (options?: { signal?: AbortSignal }) => Promise<number> }

/**
 * The connection's multiplexer when it can ping. A ping stream costs far more than the ping: stream set-up,
 * protocol negotiation, and a peer store write on both sides for the stream's protocol. Every 10 s to each peer,
 * in both directions, that was a fifth of an idle node's CPU with 11 peers (2.9-3.3 % of a core with stream
 * pings, 2.3-2.6 % with none; 12 nodes on loopback). `muxer` is libp2p's own field of the connection, not part
 * of its typed interface: where it is missing (another libp2p, another muxer) the ping stream is used instead,
 * and `p2p_pings_total{via}` tells which (a test checks that it is the muxer).
 */
function muxerOf (conn: Connection): MuxerPing | undefined {
  const muxer = (conn as unknown as { muxer?: Partial<MuxerPing> }).muxer
  return typeof muxer?.ping === 'function' ? muxer as MuxerPing : undefined
}

/**
 * One muxer ping, given up at `signal`. The signal is not handed to the muxer: yamux forgets a ping it was told
 * to stop waiting for, and then treats the late answer as a protocol error and closes the whole connection —
 * a peer that paused for longer than the timeout (a GC pause, a busy host) would lose every stream it had. Not
 * handed over, the ping stays outstanding until answered: the late answer settles it, and the next round's
 * ping waits on the same one instead of sending another.
 */
export async function pingMuxer (muxer: MuxerPing, signal: AbortSignal): Promise<number> {
  const started = Date.now()
  const rtt = await pingMuxerOnce(muxer, signal)
  // Yamux answers a ping made while another is outstanding with that one's time, measured from when the other
  // was sent: its own keep-alive ping sent as the connection opened, while both ends were busy starting up, came
  // back as RTTs of tens of milliseconds and made a peer look far away (the scheduler then sent it nothing).
  // Such an answer is older than this call: ping again, now that none is outstanding
  if (rtt <= Date.now() - started + 1) return rtt
  return await pingMuxerOnce(muxer, signal)
}

async function pingMuxerOnce (muxer: MuxerPing, signal: AbortSignal): Promise<number> {
  const pong = muxer.ping()
  // settled after this caller has gone (a late answer, or the connection closing): nothing is waiting for it
  pong.catch(() => {})
  return await raceAbort(pong, signal)
}

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/**
 * One libp2p ping (32 random bytes echoed back; the ping service answers it) on a connection this node has.
 * libp2p's `ping(peer)` dials, and its dial never reuses a limited (relayed) connection: to a peer reached only
 * through a relay every ping built a second circuit, the duplicate was closed, the pings timed out, and after
 * three of them this pinger closed the working connection too — every 10 s, for as long as the pair existed.
 */
export async function pingOver (libp2p: Pick<Node, 'getConnections' | 'dialProtocol'>, peer: PeerId, signal: AbortSignal): Promise<number> {
  const stream = await openStream(libp2p, peer, PING_PROTOCOL, { signal })
  try {
    const bytes = byteStream(stream)
    const data = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const start = Date.now()
    await bytes.write(data, { signal })
    const back = await bytes.read({ bytes: PING_BYTES, signal })
    const rtt = Date.now() - start
    if (!Buffer.from(back.subarray()).equals(Buffer.from(data))) throw new Error('ping answered with other bytes')
    await stream.close({ signal }).catch(() => {})
    return rtt
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

