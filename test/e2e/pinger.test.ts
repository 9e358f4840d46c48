import { readFileSync } from 'node:fs'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, type TestNode } from '../harness/cluster.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

// The pinger (src/discovery/pinger.ts) pings each connected peer every network.ping_interval with a ping frame
// of the connection's multiplexer, and closes the connections to a peer whose pings time out 3 times in a row.
// Here the interval is 1 s, so a ping times out after 1 s; heartbeats every 2 s (gone after 6 s) keep
// membership out of the way of the pauses below.
describe('pinger: muxer pings, a late answer, a frozen peer', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let a: TestNode
  let b: TestNode
  /** TCP connections dialed anywhere in the network: a dropped connection is dialed again */
  const dials = async (): Promise<number> => {
    let sum = 0
    for (const n of [boot, a, b]) sum += await n.metric('libp2p_tcp_dialer_events_total{event="connect"}')
    return sum
  }
  const viewOfB = async (): Promise<{ connection?: string, rttMs?: number } | undefined> => (await a.peers()).find(p => p.peerId === b.peerId)

  beforeAll(async () => {
    boot = cluster.add({ name: 'pg-boot', role: 'bootstrap', mesh: false, heartbeat: '2s' })
    boot.updateConfig(c => { c.network.ping_interval = '1s' })
    await boot.start()
    a = cluster.add({ name: 'pg-a', role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: '2s' })
    b = cluster.add({ name: 'pg-b', role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: '2s' })
    for (const n of [a, b]) n.updateConfig(c => { c.network.ping_interval = '1s' })
    await Promise.all([a.start(), b.start()])
    await pWaitFor(async () => (await viewOfB())?.connection === 'direct', { interval: 200, timeout: 30_000 })
    // the bootstrap's reachability check dials each worker back once: done before dials are counted below
    await pWaitFor(async () => await a.metric('p2p_reachability{state="public"}') === 1 && await b.metric('p2p_reachability{state="public"}') === 1, { interval: 200, timeout: 30_000 })
  }, 90_000)
  afterAll(async () => {
    b?.kill('SIGCONT')
    await cluster.teardown()
  })

  it('pings are ping frames of the connection\'s multiplexer, not a stream each, and give an RTT', async () => {
    await pWaitFor(async () => await a.metric('p2p_pings_total{via="muxer"}') >= 4, { interval: 200, timeout: 20_000 })
    expect(await a.metric('p2p_pings_total{via="stream"}')).toBe(0)
    expect(await b.metric('p2p_pings_total{via="stream"}')).toBe(0)
    expect((await viewOfB())?.rttMs).toBeGreaterThanOrEqual(0)
  }, 60_000)

  it('a peer that pauses for longer than the ping timeout keeps its connection: its late answer is no protocol error', async () => {
    // yamux closes the whole connection on an answer to a ping it was told to stop waiting for; the pinger
    // leaves the ping outstanding instead, so the answer after the pause settles it
    const dialsBefore = await dials()
    const timeoutsBefore = await a.metric('p2p_ping_failures_total{reason="timeout"}')
    b.kill('SIGSTOP')
    // one ping times out (1 s) for sure, the third would not before the pause ends
    await sleep(2000)
    b.kill('SIGCONT')
    expect(await a.metric('p2p_ping_failures_total{reason="timeout"}')).toBeGreaterThan(timeoutsBefore)
    const answered = await a.metric('p2p_pings_total{via="muxer"}')
    await pWaitFor(async () => await a.metric('p2p_pings_total{via="muxer"}') >= answered + 4, { interval: 200, timeout: 20_000 })
    await sleep(2000)
    expect((await viewOfB())?.connection).toBe('direct')
    expect(await dials()).toBe(dialsBefore)
    expect(readFileSync(a.logFile, 'utf8')).not.toMatch(/stopped answering pings/)
  }, 60_000)

  it('a peer frozen for three ping timeouts is cut off, and comes back when it wakes', async () => {
    b.kill('SIGSTOP')
    await pWaitFor(() => /stopped answering pings/.test(readFileSync(a.logFile, 'utf8')), { interval: 200, timeout: { milliseconds: 20_000, message: `a kept its connection to the frozen b\n${cluster.logs()}` } })
    expect(await a.metric('p2p_ping_failures_total{reason="timeout"}')).toBeGreaterThanOrEqual(3)
    b.kill('SIGCONT')
    await pWaitFor(async () => (await viewOfB())?.connection === 'direct', { interval: 200, timeout: 30_000 })
    const answered = await a.metric('p2p_pings_total{via="muxer"}')
    await pWaitFor(async () => await a.metric('p2p_pings_total{via="muxer"}') > answered, { interval: 200, timeout: 20_000 })
  }, 90_000)
})
