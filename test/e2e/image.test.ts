import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, ROOT } from '../harness/cluster.js'

// No Docker engine here: run the image's build steps (scripts/image-build.sh, which the Dockerfile runs)
// on a clean copy of the repository, then run the pruned result as real nodes.
describe('the image build steps', () => {
  const copy = mkdtempSync(join(tmpdir(), 'p2p-image-'))
  const cluster = new Cluster()
  afterAll(async () => {
    await cluster.teardown()
    rmSync(copy, { recursive: true, force: true })
  })

  it('install, build and prune on a clean copy give a runnable /app', async () => {
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(f => f !== '' && existsSync(join(ROOT, f)))
    for (const f of files) {
      mkdirSync(dirname(join(copy, f)), { recursive: true })
      cpSync(join(ROOT, f), join(copy, f))
    }
    execFileSync('sh', ['scripts/image-build.sh'], { cwd: copy, stdio: 'pipe', env: { ...process.env, npm_config_prefer_offline: 'true' }, timeout: 300_000 })
    // what the runtime stage copies: the bundle, the compute worker, runtime dependencies only
    expect(existsSync(join(copy, 'dist/p2p-node.mjs'))).toBe(true)
    expect(existsSync(join(copy, 'dist/tasks/handlers/compute-worker.js'))).toBe(true)
    expect(existsSync(join(copy, 'node_modules/libp2p'))).toBe(true)
    expect(existsSync(join(copy, 'node_modules/piscina'))).toBe(true)
    // the web console is built in; its libraries are bundled, not shipped
    expect(existsSync(join(copy, 'dist/ui/index.html'))).toBe(true)
    expect(existsSync(join(copy, 'dist/ui/app.js'))).toBe(true)
    expect(existsSync(join(copy, 'node_modules/preact'))).toBe(false)
    expect(existsSync(join(copy, 'node_modules/vitest'))).toBe(false)
    expect(existsSync(join(copy, 'node_modules/typescript'))).toBe(false)
    expect(existsSync(join(copy, 'src'))).toBe(false)
    const version = execFileSync(join(copy, 'p2p-node'), ['--version'], { encoding: 'utf8' }).trim()
    expect(version).toMatch(/^\d+\.\d+\.\d+$/)

    // the pruned program runs a network and a compute task (worker threads, bundled code, external piscina)
    const launcher = join(copy, 'p2p-node')
    const boot = cluster.add({ name: 'img-boot', role: 'bootstrap', mesh: false }, [], launcher)
    await boot.start()
    const worker = cluster.add({ name: 'img-worker', role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)] }, [], launcher)
    await worker.start()
    await pWaitFor(async () => (await boot.request('capabilities') as any).taskTypes.compute === 1, { interval: 200, timeout: 60_000 })
    const r = await boot.request('task', ['compute', 'image', '--cost', '10']) as any
    expect(r.state).toBe('done')
    expect(JSON.parse(r.results[0].output).iterations).toBe(10)
    // and serves the console from the pruned install
    const page = await fetch(`${worker.status!.metricsUrl!}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('/ui/app.js')
  })
})
