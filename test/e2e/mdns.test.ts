import pWaitFor from 'p-wait-for'
import { afterAll, describe, expect, it } from 'vitest'
import { Cluster } from '../harness/cluster.js'
import { canUseNetns, Hosts } from '../harness/netns.js'

// mDNS multicast must not leave the sandbox, so the two nodes are separate hosts (network namespaces)
// on a private bridge. Needs root for `ip netns`; CI runs as root.
describe.skipIf(!canUseNetns())('mDNS-only discovery (skipped unless root with ip netns: multicast must stay inside test hosts)', () => {
  const cluster = new Cluster()
  let hosts: Hosts | undefined
  afterAll(async () => {
    await cluster.teardown()
    hosts?.destroy()
  })

  it('two workers with no bootstrap list find each other through mDNS', async () => {
    hosts = new Hosts('m')
    const [ha, hb] = [hosts.add(), hosts.add()]
    const a = cluster.add({ name: 'mdns-a', role: 'worker', mdns: true, listenHost: ha.ip, heartbeat: '500ms' }, hosts.wrap(ha))
    const b = cluster.add({ name: 'mdns-b', role: 'worker', mdns: true, listenHost: hb.ip, heartbeat: '500ms' }, hosts.wrap(hb))
    await a.start()
    await b.start()
    await pWaitFor(async () => {
      const [pa, pb] = [await a.peers(), await b.peers()]
      return pa.some(p => p.peerId === b.peerId && p.state === 'alive' && p.connection === 'direct') &&
        pb.some(p => p.peerId === a.peerId && p.state === 'alive')
    }, { interval: 250, timeout: { milliseconds: 60_000, message: `mDNS discovery failed\n${cluster.logs()}` } })
    const peer = (await a.peers()).find(p => p.peerId === b.peerId)
    expect(peer?.addresses.some(x => x.includes(hb.ip))).toBe(true)
  })
})
