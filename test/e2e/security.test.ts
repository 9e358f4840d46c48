import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, keygen, waitAllSeeAll, type TestNode } from '../harness/cluster.js'
import { canUseNetns, Hosts } from '../harness/netns.js'



describe('access control: private network, allowlists, rate limit, API token (real processes)', () => {
  const cluster = new Cluster()
  let boot: TestNode, a: TestNode, b: TestNode, c: TestNode, outsider: TestNode, wrongKey: TestNode
  let keys: ReturnType<typeof keygen>, other: ReturnType<typeof keygen>, ids: ReturnType<typeof keygen>
  let token: string

  beforeAll(async () => {
    keys = keygen(join(cluster.dir, 'keys'))
    other = keygen(join(cluster.dir, 'other'))
    ids = keygen(join(cluster.dir, 'a-id'))
    token = readFileSync(keys.tokenFile, 'utf8').trim()
    const withKey = (n: TestNode, psk = keys.swarmKeyFile): TestNode => { n.updateConfig(cfg => { cfg.network.psk_file = psk }); return n }
    boot = withKey(cluster.add({ name: 's-boot', role: 'bootstrap', mesh: false }))
    await boot.start()
    a = withKey(cluster.add({ name: 's-a', role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['a'] }))
    a.updateConfig(cfg => { cfg.node.identity_file = ids.identityFile })
    b = withKey(cluster.add({ name: 's-b', role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['special'] }))
    b.updateConfig(cfg => {
      cfg.tasks = { allowed_submitters: [ids.peerId], rate_limit: 5, rate_burst: 5 }
      cfg.metrics.api_token_file = keys.tokenFile
    })
    c = withKey(cluster.add({ name: 's-c', role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['c'] }))
    outsider = cluster.add({ name: 's-outsider', role: 'worker', bootstrap: [dnsAddr(boot)] })
    wrongKey = withKey(cluster.add({ name: 's-wrongkey', role: 'worker', bootstrap: [dnsAddr(boot)] }), other.swarmKeyFile)
    await Promise.all([a, b, c, outsider, wrongKey].map(async n => { await n.start() }))
  })
  afterAll(async () => { await cluster.teardown() })

  it('nodes with the swarm key form the network; a node without it, or with another key, cannot connect at all', async () => {
    await waitAllSeeAll([boot, a, b, c])
    expect(a.peerId).toBe(ids.peerId)
    // both outsiders have tried their bootstrap address, and failed
    for (const n of [outsider, wrongKey]) {
      await pWaitFor(async () => await n.metric('p2p_bootstrap_dials_total{outcome="error"}') >= 2, { interval: 200, timeout: 30_000 })
      expect(await n.peers()).toEqual([])
    }
    const seen = (await boot.peers()).map(p => p.peerId)
    expect(seen).not.toContain(outsider.peerId)
    expect(seen).not.toContain(wrongKey.peerId)
  })

  it('tasks.allowed_submitters: the allowed peer\'s task runs, another peer\'s is refused and counted', async () => {
    const ok = await a.request('task', ['echo', 'from-a', '--capability', 'special']) as any
    expect(ok).toMatchObject({ state: 'done' })
    const refused = await c.request('task', ['echo', 'from-c', '--capability', 'special', '--retries', '0']) as any
    expect(refused.state).toBe('failed')
    expect(refused.error).toMatch(/allowed_submitters/)
    expect(await b.metric('p2p_access_denied_total{what="task"}')).toBeGreaterThanOrEqual(1)
  })

  it('a per-peer rate limit answers BUSY past the burst (counted); the submitter backs off and every task still runs', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await a.request('task', ['echo', `burst-${i}`, '--capability', 'special']) as any))
    // 20 requests against a 5-token bucket refilling at 5/s: some were answered BUSY and retried later
    expect(await b.metric('p2p_rate_limited_total{what="task"}')).toBeGreaterThan(0)
    expect(results.map(r => r.state)).toEqual(Array(20).fill('done'))
    expect(results.map(r => r.results[0].output).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `burst-${i}`).sort())
  })

  it('HTTP API with a token: /metrics stays open; reads and POSTs need the bearer token', async () => {
    const url = b.status!.metricsUrl!
    expect((await fetch(`${url}/metrics`)).status).toBe(200)
    expect((await fetch(`${url}/api/status`)).status).toBe(401)
    expect((await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const post = async (headers: Record<string, string>, path = '/api/tasks'): Promise<Response> =>
      await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ type: 'echo', payload: 'x', capability: 'a' }) })
    const none = await post({})
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await post({ authorization: 'Bearer not-the-token-at-all' })).status).toBe(401)
    const ok = await post({ authorization: `Bearer ${token}` })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ state: 'done' })
    const handoff = await post({ authorization: `Bearer ${token}` }, '/api/failover/nothing/handoff')
    expect(handoff.status).toBe(404)
    expect((await handoff.json()).error).toMatch(/no failover service "nothing"/)
    expect(await b.metric('p2p_access_denied_total{what="api_no_token"}')).toBe(2)
    expect(await b.metric('p2p_access_denied_total{what="api_bad_token"}')).toBe(1)
  })

  it('network.allowed_peers refuses everyone else; network.infrastructure_peers refuses an unlisted bootstrap', async () => {
    const gated = cluster.add({ name: 's-gated', role: 'worker', bootstrap: [dnsAddr(boot)] })
    gated.updateConfig(cfg => {
      cfg.network.psk_file = keys.swarmKeyFile
      cfg.network.allowed_peers = [boot.peerId, a.peerId]
      cfg.network.infrastructure_peers = [a.peerId]
    })
    await gated.start()
    // a is allowed and listed; b and c learn of gated through gossip and try to connect: refused
    await pWaitFor(async () => (await gated.peers()).some(p => p.peerId === a.peerId && p.state === 'alive'), { interval: 200, timeout: 30_000 })
    await pWaitFor(async () => await gated.metric('p2p_access_denied_total{what="connection_inbound"}') + await gated.metric('p2p_access_denied_total{what="connection_dial"}') > 0, { interval: 200, timeout: 30_000 })
    // gated hears of b and c through a's gossip, but has no connection to them
    const peers = await gated.peers()
    for (const other of [b, c]) expect(peers.find(p => p.peerId === other.peerId)?.connection ?? 'none').not.toBe('direct')
    // the bootstrap is connected (allowed) but not listed in infrastructure_peers: its heartbeats are refused
    await pWaitFor(async () => await gated.metric('p2p_invalid_messages_total{reason="untrusted_role"}') > 0, { interval: 200, timeout: 30_000 })
    // connected (listed as `unknown`), never a member: what it says about itself is not believed
    expect((await gated.peers()).find(p => p.peerId === boot.peerId)).toMatchObject({ state: 'unknown' })
    await gated.stop()
  })

  it('the control socket is private to its user (0600)', () => {
    expect(statSync(b.socket).mode & 0o777).toBe(0o600)
  })
})

describe.skipIf(!canUseNetns())('API writes without a token are for local clients only (skipped unless root with ip netns)', () => {
  const cluster = new Cluster()
  let hosts: Hosts | undefined
  afterAll(async () => {
    await cluster.teardown()
    hosts?.destroy()
  })

  it('a POST from another host is refused (403) and counted; reads from there are served', async () => {
    hosts = new Hosts('s')
    const [ha, hb] = [hosts.add(), hosts.add()]
    const n = cluster.add({ name: 's-remote', role: 'worker', listenHost: ha.ip, capabilities: ['x'] }, hosts.wrap(ha))
    await n.start()
    const url = n.status!.metricsUrl!
    expect(url).toContain(ha.ip)
    const run = (code: string): string => execFileSync('ip', ['netns', 'exec', hb.ns, process.execPath, '-e', code], { encoding: 'utf8' }).trim()
    expect(run(`fetch('${url}/api/tasks',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({type:'echo',payload:'x'})}).then(r=>console.log(r.status))`)).toBe('403')
    expect(run(`fetch('${url}/api/status').then(r=>console.log(r.status))`)).toBe('200')
    const m = run(`fetch('${url}/metrics').then(r=>r.text()).then(t=>console.log(t))`)
    expect(m).toMatch(/^p2p_access_denied_total\{what="api_not_local"\} 1$/m)
  })
})
