import pWaitFor from 'p-wait-for'
import { afterAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr } from '../harness/cluster.js'

describe('discovery', () => {
  const cluster = new Cluster()
  afterAll(async () => { await cluster.teardown() })

  it('a worker dials another at the addresses its heartbeats announce, with no DHT lookup', async () => {
    // the bootstrap does not mesh, mDNS is off, and neither worker lists the other: `a` learns `c` from its
    // heartbeat (forwarded by the bootstrap), which carries c's own signed addresses
    const b = cluster.add({ name: 'dht-bootstrap', role: 'bootstrap', mesh: false })
    await b.start()
    const a = cluster.add({ name: 'dht-a', role: 'worker', bootstrap: [dnsAddr(b)] })
    const c = cluster.add({ name: 'dht-c', role: 'worker', bootstrap: [dnsAddr(b)] })
    await a.start()
    await c.start()
    await pWaitFor(async () => (await a.peers()).some(p => p.peerId === c.peerId && p.connection === 'direct'), { interval: 200, timeout: 60_000 })
    // whichever of the two dialled (both hear of the other at about the same time) used the announced address,
    // or one a DHT walk had already put in the peer store — never a lookup
    const metrics = (await a.metrics()) + (await c.metrics())
    expect(metrics).toMatch(/^p2p_mesh_dials_total\{source="(heartbeat|peerstore)",outcome="ok"\} [1-9]/m)
    expect(metrics).not.toMatch(/^p2p_mesh_dials_total\{source="dht"/m)
    expect((await a.peers()).find(p => p.peerId === c.peerId)?.state).toBe('alive')
  })

  it('a node that loses every peer keeps retrying its bootstrap list until it is back', async () => {
    const b = cluster.add({ name: 'retry-bootstrap', role: 'bootstrap', mesh: false })
    await b.start()
    // pin the port the OS gave, so the bootstrap comes back at the same address
    const port = b.port
    b.updateConfig(c => { c.node.listen_port = port })
    const w = cluster.add({ name: 'retry-worker', role: 'worker', bootstrap: [dnsAddr(b)] })
    await w.start()
    await pWaitFor(async () => (await w.peers()).some(p => p.peerId === b.peerId && p.connection === 'direct'), { interval: 200, timeout: 30_000 })

    await b.stop()
    await pWaitFor(async () => (await w.request('status') as any).connectedPeers === 0, { interval: 200, timeout: 30_000 })
    // while alone, it keeps dialling (and failing) with backoff
    await pWaitFor(async () => /^p2p_bootstrap_dials_total\{outcome="error"\} [2-9]/m.test(await w.metrics()), { interval: 250, timeout: 30_000 })
    expect((await w.request('status') as any).health).toMatchObject({ ready: false, reasons: ['no connected peers'] })

    await b.start()
    await pWaitFor(async () => (await w.peers()).some(p => p.peerId === b.peerId && p.connection === 'direct' && p.state === 'alive'), { interval: 200, timeout: 60_000 })
    expect((await w.request('status') as any).health.ready).toBe(true)
  })
})
