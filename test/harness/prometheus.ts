// A real Prometheus (Debian's package; ./test.sh installs it as root) scraping nodes of a local network, for the
// scrape test, the autoscaling test and bench/autoscale.mjs. Targets come from a file_sd file that `setTargets`
// rewrites (Prometheus watches it), so nodes can come and go while it runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { hasCommand } from './cluster.js'

export function hasPrometheus (): boolean {
  return hasCommand('prometheus') && hasCommand('promtool')
}

export async function freePort (): Promise<number> {
  return await new Promise(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as any).port
      s.close(() => { resolve(port) })
    })
  })
}

export class Prometheus {
  private proc?: ChildProcess
  private constructor (readonly dir: string, readonly url: string) {}

  /** writes its config (promtool checks it), starts it and waits until it answers */
  static async start (dir: string, opts: { scrapeIntervalMs: number, targets: string[] }): Promise<Prometheus> {
    mkdirSync(dir, { recursive: true })
    const interval = `${opts.scrapeIntervalMs}ms`
    writeFileSync(join(dir, 'prometheus.yml'), [
      `global: { scrape_interval: ${interval}, evaluation_interval: ${interval} }`,
      'scrape_configs:',
      '  - job_name: p2p',
      `    file_sd_configs: [{ files: [${JSON.stringify(join(dir, 'targets.json'))}], refresh_interval: 1s }]`
    ].join('\n') + '\n')
    const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' })
    if (check.status !== 0) throw new Error(`promtool check config: ${check.stdout}${check.stderr}`)
    const port = await freePort()
    const prom = new Prometheus(dir, `http://127.0.0.1:${port}`)
    prom.setTargets(opts.targets)
    prom.proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' })
    await pWaitFor(async () => { try { return (await fetch(`${prom.url}/-/ready`)).ok } catch { return false } }, { interval: 200, timeout: 60_000 })
    return prom
  }

  /** host:port of each node's metrics server; takes effect within about a second (file_sd) */
  setTargets (targets: string[]): void {
    const file = join(this.dir, 'targets.json')
    writeFileSync(`${file}.tmp`, JSON.stringify([{ targets }]))
    renameSync(`${file}.tmp`, file)
  }

  /** an instant query; the result vector */
  async query (promql: string): Promise<Array<{ metric: Record<string, string>, value: [number, string] }>> {
    const body = await (await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json() as any
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? body.status}`)
    return body.data.result
  }

  async stop (): Promise<void> {
    const proc = this.proc
    if (proc == null || proc.exitCode != null) return
    proc.kill('SIGTERM')
    await new Promise(resolve => proc.once('exit', resolve))
  }
}
