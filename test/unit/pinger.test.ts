import { describe, expect, it } from 'vitest'
import { createPinger, pingMuxer, type MuxerPing } from '../../src/discovery/pinger.js'
import { silentLogger } from '../harness/fixtures.js'

/** a multiplexer that pings as Yamux does: one ping outstanding at a time, joined by later callers, answered by `answer` */
class FakeMuxer implements MuxerPing {
  private active?: { start: number, resolve: (ms: number) => void, promise: Promise<number> }
  sent = 0
  async ping (): Promise<number> {
    if (this.active != null) return await this.active.promise
    const { promise, resolve } = Promise.withResolvers<number>()
    this.active = { start: Date.now(), resolve, promise }
    this.sent++
    try { return await promise } finally { this.active = undefined }
  }

  answer (): void { this.active?.resolve(Date.now() - this.active.start) }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('pingMuxer', () => {
  it('an answer to a ping sent before the call (joined, not its own) is not taken as the RTT: it pings again', async () => {
    const muxer = new FakeMuxer()
    void muxer.ping()
    await sleep(60)
    const rtt = pingMuxer(muxer, AbortSignal.timeout(5000))
    muxer.answer()
    await sleep(5)
    muxer.answer()
    expect(await rtt).toBeLessThan(30)
    expect(muxer.sent).toBe(2)
  })

  it('gives up at the signal, and the late answer afterwards is no error', async () => {
    const muxer = new FakeMuxer()
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown): void => { unhandled.push(err) }
    process.on('unhandledRejection', onUnhandled)
    try {
      await expect(pingMuxer(muxer, AbortSignal.timeout(50))).rejects.toMatchObject({ name: 'TimeoutError' })
      // the next round joins the same outstanding ping instead of sending another
      const next = pingMuxer(muxer, AbortSignal.timeout(5000))
      expect(muxer.sent).toBe(1)
      muxer.answer()
      await sleep(5)
      muxer.answer()
      expect(await next).toBeGreaterThanOrEqual(0)
      await sleep(20)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('createPinger', () => {
  it('gives the scheduler an RTT only from the second answer on (the first, as a connection opens, is start-up noise)', async () => {
    const muxer = new FakeMuxer()
    const conn = { remotePeer: { toString: () => 'peer-a' }, muxer }
    const libp2p: any = { getConnections: () => [conn], dialProtocol: async () => { throw new Error('no streams here') }, addEventListener () {}, removeEventListener () {} }
    const metrics: any = { pings: { inc () {} }, peerRtt: { observe () {} }, pingFailures: { inc () {} } }
    const logger = silentLogger()
    const pinger = createPinger({ libp2p, logger, metrics }, { intervalMs: 60_000 })
    pinger.start()
    try {
      const answer = async (): Promise<number> => { const p = pinger.pingNow('peer-a'); await sleep(2); muxer.answer(); return await p }
      await answer()
      expect(pinger.rtt('peer-a')).toBeGreaterThanOrEqual(0)
      expect(pinger.settledRtt('peer-a')).toBeUndefined()
      await answer()
      expect(pinger.settledRtt('peer-a')).toBe(pinger.rtt('peer-a'))
      expect(muxer.sent).toBe(2)
    } finally {
      pinger.stop()
    }
  })
})
