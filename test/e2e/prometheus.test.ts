import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, type TestNode } from '../harness/cluster.js'
import { hasPrometheus, Prometheus } from '../harness/prometheus.js'

// A real Prometheus (Debian's package; ./test.sh installs it as root) scraping a local network.
describe.skipIf(!hasPrometheus())('Prometheus scraping a local network (skipped without the prometheus and promtool binaries)', () => {
  const cluster = new Cluster()
  let nodes: TestNode[]
  let prom: Prometheus | undefined

  beforeAll(async () => {
    const boot = cluster.add({ name: 'prom-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    const ws = ['prom-w1', 'prom-w2'].map(name => cluster.add({ name, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)] }))
    await Promise.all(ws.map(async w => { await w.start() }))
    nodes = [boot, ...ws]
  })
  afterAll(async () => {
    await prom?.stop()
    await cluster.teardown()
  })

  it('promtool parses every node\'s /metrics and finds nothing to fix in our metrics', async () => {
    let thirdParty = 0
    for (const n of nodes) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: await n.metrics(), encoding: 'utf8' })
      const findings = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean)
      // exit 1 is a parse error; 3 is lint findings, which must not name one of ours
      expect(r.status, findings.join('\n')).not.toBe(1)
      expect(findings.filter(f => /^p2p_/.test(f) || /error while linting/.test(f))).toEqual([])
      thirdParty += findings.length
    }
    console.log(`promtool: ${thirdParty} naming findings, all in libp2p's or prom-client's own metrics`)
  })

  it('scrapes every node; a query returns p2p_peers_connected for each', async () => {
    const targets = await Promise.all(nodes.map(async n => new URL((await n.request('status') as any).metricsUrl).host))
    prom = await Prometheus.start(join(cluster.dir, 'prometheus'), { scrapeIntervalMs: 1000, targets })
    let result: any[] = []
    await pWaitFor(async () => {
      result = await prom!.query('p2p_peers_connected')
      return result.length === nodes.length
    }, { interval: 500, timeout: 60_000 })
    expect(result.map(r => r.metric.instance).sort()).toEqual([...targets].sort())
    for (const r of result) expect(Number(r.value[1])).toBeGreaterThanOrEqual(1)
    expect((await prom.query('up')).every(r => r.value[1] === '1')).toBe(true)
  })
})
