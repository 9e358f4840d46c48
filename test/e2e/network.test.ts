import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, waitAllSeeAll, type TestNode } from '../harness/cluster.js'

// bootstrap + relay + 3 workers, each its own p2p-node process on 127.0.0.1
describe('a five-node network', () => {
  const cluster = new Cluster()
  let bootstrap: TestNode
  let relay: TestNode
  let workers: TestNode[]

  beforeAll(async () => {
    bootstrap = cluster.add({ name: 'bootstrap', role: 'bootstrap', mesh: false })
    await bootstrap.start()
    // one worker names the bootstrap by IP and /p2p/ id, the rest by a DNS name without /p2p/
    relay = cluster.add({ name: 'relay', role: 'relay', bootstrap: [dnsAddr(bootstrap)] })
    workers = [
      cluster.add({ name: 'w1', role: 'worker', capabilities: ['compute', 'storage'], bootstrap: [bootstrap.addr], relay: true }),
      cluster.add({ name: 'w2', role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(bootstrap)] }),
      cluster.add({ name: 'w3', role: 'worker', capabilities: ['storage'], bootstrap: [dnsAddr(bootstrap)] })
    ]
    await Promise.all([relay, ...workers].map(async n => { await n.start() }))
  })
  afterAll(async () => { await cluster.teardown() })

  it('every node lists every other', async () => {
    await waitAllSeeAll(cluster.nodes)
    // gossip can list a member before the mesh dial to it completes; with mesh_network on, it then connects
    await pWaitFor(async () => (await workers[0].peers()).filter(p => p.connection === 'direct' && p.addresses.length > 0).length === 4, { interval: 200, timeout: 30_000 })
    const peers = await workers[0].peers()
    const w2 = peers.find(p => p.peerId === workers[1].peerId)
    expect(w2).toMatchObject({ name: 'w2', role: 'worker', capabilities: ['compute'], state: 'alive' })
    expect(w2?.addresses.length).toBeGreaterThan(0)
    expect(peers.find(p => p.peerId === bootstrap.peerId)).toMatchObject({ role: 'bootstrap', name: 'bootstrap' })
    expect(peers.find(p => p.peerId === relay.peerId)).toMatchObject({ role: 'relay' })
  })

  it('a worker with enable_relay reserves a slot on the relay and announces a circuit address', async () => {
    const circuit = `/p2p/${relay.peerId}/p2p-circuit/p2p/${workers[0].peerId}`
    await pWaitFor(async () => (await workers[0].request('status') as any).announceAddresses.some((a: string) => a.endsWith(circuit)), { interval: 200, timeout: 30_000 })
    // workers without enable_relay do not
    expect((await workers[1].request('status') as any).announceAddresses.some((a: string) => a.includes('p2p-circuit'))).toBe(false)
  })

  it('measures RTT and heartbeat age for connected members', async () => {
    await pWaitFor(async () => (await workers[0].peers()).filter(p => p.rttMs != null).length >= 4, { interval: 200, timeout: 30_000 })
    const peers = await workers[0].peers()
    for (const p of peers.filter(p => p.state === 'alive')) {
      expect(p.lastHeartbeatAgeMs).toBeGreaterThanOrEqual(0)
      expect(p.lastHeartbeatAgeMs).toBeLessThan(5000)
    }
  })

  it('status shows members by role, topics and readiness', async () => {
    const s = await workers[1].request('status') as any
    expect(s).toMatchObject({ name: 'w2', role: 'worker', members: { bootstrap: 1, relay: 1, worker: 2, gone: 0 }, health: { ready: true } })
    expect(s.topics).toEqual(expect.arrayContaining(['p2p-network/heartbeat/1', 'p2p-network/capabilities/1']))
    expect(s.connectedPeers).toBeGreaterThanOrEqual(1)
    const caps = await workers[1].request('capabilities') as any
    expect(caps.self.capabilities).toEqual(['compute'])
    expect(caps.network.compute.sort()).toEqual(['w1', 'w2 (self)'])
  })

  it('a SIGKILLed worker is shown gone after the configured misses, and returns with the same peer id', async () => {
    const victim = workers[2]
    const id = victim.peerId
    victim.kill('SIGKILL')
    await victim.exit
    const killedAt = Date.now()
    // gone only after 3 missed 500ms heartbeats: never before, and within a generous bound after
    await pWaitFor(async () => (await workers[0].peers()).find(p => p.peerId === id)?.state === 'gone', { interval: 100, timeout: 30_000 })
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000)
    const metrics = await workers[0].metrics()
    expect(metrics).toMatch(/^p2p_members_gone_total [1-9]/m)

    await victim.start()
    expect(victim.status?.peerId).toBe(id)
    await pWaitFor(async () => (await workers[0].peers()).find(p => p.peerId === id)?.state === 'alive', { interval: 100, timeout: 30_000 })
  })

  // last: it adds two members the other tests do not count on
  it('network.infrastructure_peers: a worker reserves only on a listed relay', async () => {
    // started together under the same conditions: one lists the relay, the other only the bootstrap
    const listed = cluster.add({ name: 'w-listed', role: 'worker', bootstrap: [dnsAddr(bootstrap)], relay: true })
    const unlisted = cluster.add({ name: 'w-unlisted', role: 'worker', bootstrap: [dnsAddr(bootstrap)], relay: true })
    listed.updateConfig(c => { c.network.infrastructure_peers = [bootstrap.peerId, relay.peerId] })
    unlisted.updateConfig(c => { c.network.infrastructure_peers = [bootstrap.peerId] })
    await Promise.all([listed.start(), unlisted.start()])
    const hasCircuit = async (n: TestNode): Promise<boolean> => (await n.request('status') as any).announceAddresses.some((a: string) => a.includes('p2p-circuit'))
    await pWaitFor(async () => await hasCircuit(listed), { interval: 200, timeout: 30_000 })
    // by now the unlisted one is connected to the relay too (full mesh), but never reserved on it
    await pWaitFor(async () => (await unlisted.peers()).some(p => p.peerId === relay.peerId && p.connection === 'direct'), { interval: 200, timeout: 30_000 })
    expect(await hasCircuit(unlisted)).toBe(false)
    expect((await unlisted.peers()).find(p => p.peerId === relay.peerId)?.state).toBe('unknown')
    await Promise.all([listed.stop(), unlisted.stop()])
  })
})
