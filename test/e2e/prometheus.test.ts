import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, type TestNode } from '../harness/cluster.js'

const has = (cmd: string): boolean => { try { execFileSync(cmd, ['--version'], { stdio: 'ignore' }); return true } catch { return false } }

async function freePort (): Promise<number> {
  return await new Promise(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as any).port
      s.close(() => { resolve(port) })
    })
  })
}

// A real Prometheus (Debian's package; ./test.sh installs it as root) scraping a local network.
describe.skipIf(!has('prometheus') || !has('promtool'))('Prometheus scraping a local network (skipped without the prometheus and promtool binaries)', () => {
  const cluster = new Cluster()
  let nodes: TestNode[]
  let prom: ChildProcess | undefined

  beforeAll(async () => {
    const boot = cluster.add({ name: 'prom-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    const ws = ['prom-w1', 'prom-w2'].map(name => cluster.add({ name, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)] }))
    await Promise.all(ws.map(async w => { await w.start() }))
    nodes = [boot, ...ws]
  })
  afterAll(async () => {
    prom?.kill('SIGTERM')
    if (prom != null && prom.exitCode == null) await new Promise(resolve => prom!.once('exit', resolve))
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
    const dir = join(cluster.dir, 'prometheus')
    mkdirSync(dir, { recursive: true })
    const targets = await Promise.all(nodes.map(async n => new URL((await n.request('status') as any).metricsUrl).host))
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: p2p',
      `    static_configs: [{ targets: [${targets.map(t => `"${t}"`).join(', ')}] }]`
    ].join('\n') + '\n')
    expect(spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')]).status).toBe(0)
    const port = await freePort()
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' })
    let result: any[] = []
    await pWaitFor(async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=p2p_peers_connected`)
        result = (await r.json()).data.result
        return result.length === nodes.length
      } catch { return false }
    }, { interval: 500, timeout: 60_000 })
    expect(result.map(r => r.metric.instance).sort()).toEqual([...targets].sort())
    for (const r of result) expect(Number(r.value[1])).toBeGreaterThanOrEqual(1)
    const up = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()
    expect(up.data.result.every((r: any) => r.value[1] === '1')).toBe(true)
  })
})
