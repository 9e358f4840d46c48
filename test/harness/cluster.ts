// Test and benchmark harness: real p2p-node processes on 127.0.0.1, each with its own config and data dir.
// vitest imports it as TypeScript; bench/ imports it compiled (npm run build:harness, into build/): one copy,
// and none of it in dist/ or the image.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { parse, stringify } from 'yaml'
import { ControlClient } from '../../src/control/client.js'
import type { PeerView, StatusView } from '../../src/control/views.js'

/** the repository: the nearest folder up from here with the launcher in it (test/harness/ or build/test/harness/) */
export const ROOT = ((): string => {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'p2p-node')) && existsSync(join(dir, 'package.json'))) return dir
  throw new Error(`no p2p-node launcher above ${import.meta.dirname}`)
})()
export const LAUNCHER = join(ROOT, 'p2p-node')

export interface NodeSpec {
  name: string
  role: 'bootstrap' | 'relay' | 'worker'
  bootstrap?: string[]
  capabilities?: string[]
  heartbeat?: string
  misses?: number
  mesh?: boolean
  mdns?: boolean
  relay?: boolean
  listenHost?: string
  /** extra top-level sections: new ones added, the keys of node, network and metrics merged into the defaults */
  extra?: Record<string, unknown>
}

/** One p2p-node process with its own config file and data dir. */
export class TestNode {
  proc?: ChildProcess
  status?: StatusView
  readonly logFile: string
  exit?: Promise<{ code: number | null, signal: NodeJS.Signals | null }>

  constructor (readonly spec: NodeSpec, readonly configFile: string, readonly dataDir: string, private readonly wrap: string[] = [], private readonly launcher = LAUNCHER) {
    this.logFile = join(dataDir, 'node.log')
  }

  /** rewrites this node's config file (takes effect at the next start) */
  updateConfig (patch: (config: any) => void): void {
    const config = parse(readFileSync(this.configFile, 'utf8'))
    patch(config)
    writeFileSync(this.configFile, stringify(config))
  }

  /** the TCP port this node listens on */
  get port (): number {
    return Number(this.addr.split('/tcp/')[1].split('/')[0])
  }

  get socket (): string { return join(this.dataDir, 'control.sock') }

  /** Starts the process; resolves once its control socket answers. */
  async start (args: string[] = ['start'], stdin: 'ignore' | 'pipe' = 'ignore'): Promise<void> {
    const log = openSync(this.logFile, 'a')
    const [cmd, ...pre] = [...this.wrap, this.launcher]
    const proc = spawn(cmd, [...pre, ...args, '--config', this.configFile], { stdio: [stdin, log, log], env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'debug', P2P_EXIT_WITH_PARENT: '1' } })
    this.proc = proc
    this.exit = new Promise(resolve => proc.once('exit', (code, signal) => { resolve({ code, signal }) }))
    await pWaitFor(async () => {
      if (proc.exitCode != null) throw new Error(`${this.spec.name} exited with ${proc.exitCode}: ${this.tail()}`)
      try { this.status = await this.request('status') as StatusView; return true } catch { return false }
    }, { interval: 100, timeout: { milliseconds: 60_000, message: `${this.spec.name} did not start: ${this.tail()}` } })
  }

  get peerId (): string {
    if (this.status == null) throw new Error('not started')
    return this.status.peerId
  }

  /** this node's dialable TCP address with its peer id */
  get addr (): string {
    return this.status!.announceAddresses.find(a => !a.includes('p2p-circuit'))!
  }

  async request (command: string, args: string[] = []): Promise<unknown> {
    const client = await ControlClient.connect(this.socket, 2000)
    try { return await client.request(command, args) } finally { client.close() }
  }

  async peers (): Promise<PeerView[]> { return await this.request('peers') as PeerView[] }

  /** /metrics of this node; a node in a network namespace of its own is asked from inside it */
  async metrics (): Promise<string> {
    const status = await this.request('status') as StatusView
    const url = `${status.metricsUrl!.replace('//0.0.0.0:', '//127.0.0.1:')}/metrics`
    if (this.wrap.length === 0) return await (await fetch(url)).text()
    const [cmd, ...pre] = this.wrap
    const script = `fetch(${JSON.stringify(url)}).then(r => r.text()).then(t => process.stdout.write(t))`
    return await new Promise((resolve, reject) => {
      execFile(cmd, [...pre, process.execPath, '-e', script], { maxBuffer: 64 * 1024 ** 2 }, (err, stdout) => { if (err != null) reject(err); else resolve(stdout) })
    })
  }

  /** the sum of the samples of `name`: a metric (all its series) or one series with its labels; 0 if none */
  async metric (name: string): Promise<number> {
    return sumOf(await this.metrics(), name)
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void { this.proc?.kill(signal) }

  async stop (): Promise<void> {
    if (this.proc == null || this.proc.exitCode != null || this.proc.signalCode != null) return
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), 15_000)
    await this.exit
    clearTimeout(timer)
  }

  tail (lines = 30): string {
    try { return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }
}

/** in a /metrics text, the sum of the samples of `name`: a metric (all its series) or one series with its labels */
export function sumOf (metrics: string, name: string): number {
  const series = name.endsWith('}')
  return metrics.split('\n')
    .filter(l => l.startsWith(`${name} `) || (!series && l.startsWith(`${name}{`)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
}

/** Runs a script of bench/ with the pinned Node to its end; returns its exit code, its JSON report and stderr. */
export async function runBench (script: string, args: string[]): Promise<{ code: number | null, report: any, stderr: string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bench', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let stderr = ''
  proc.stdout.on('data', d => { out += d })
  proc.stderr.on('data', d => { stderr += d })
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  // the report: one JSON document, then the table
  const lines = out.split('\n')
  let report: any
  try { report = JSON.parse(lines.slice(0, lines.indexOf('}') + 1).join('\n')) } catch {}
  return { code, report, stderr }
}

/** A set of nodes sharing one temp dir; `teardown()` stops them all and removes it. */
export class Cluster {
  private made?: string
  readonly nodes: TestNode[] = []

  /** made on first use, so a suite that is skipped leaves nothing behind */
  get dir (): string {
    this.made ??= mkdtempSync(join(tmpdir(), 'p2p-test-'))
    return this.made
  }

  /** Writes a config for `spec` (ports 0: the OS picks, tests read them back from status). */
  add (spec: NodeSpec, wrap: string[] = [], launcher?: string): TestNode {
    const dataDir = join(this.dir, spec.name)
    mkdirSync(dataDir, { recursive: true })
    const file = join(this.dir, `${spec.name}.yaml`)
    writeFileSync(file, stringify(configFor(spec, dataDir)))
    const node = new TestNode(spec, file, dataDir, wrap, launcher)
    this.nodes.push(node)
    return node
  }

  async teardown (): Promise<void> {
    await Promise.all(this.nodes.map(async n => { await n.stop() }))
    if (process.env.KEEP_TEST_DIRS == null && this.made != null) rmSync(this.made, { recursive: true, force: true })
  }

  /** log tails of every node, for failure messages */
  logs (): string {
    return this.nodes.map(n => `--- ${n.spec.name}\n${n.tail(15)}`).join('\n')
  }
}

export function configFor (spec: NodeSpec, dataDir: string): Record<string, unknown> {
  const base: Record<string, any> = {
    node: {
      role: spec.role,
      name: spec.name,
      listen_host: spec.listenHost ?? '127.0.0.1',
      listen_port: 0,
      capabilities: spec.capabilities ?? [],
      heartbeat_interval: spec.heartbeat ?? '500ms',
      heartbeat_misses: spec.misses ?? 3,
      data_dir: dataDir
    },
    network: {
      mesh_network: spec.mesh ?? true,
      enable_mdns: spec.mdns ?? false,
      enable_relay: spec.relay ?? false,
      connection_timeout: '10s',
      bootstrap: spec.bootstrap ?? [],
      bootstrap_max_backoff: '2s',
      ping_interval: '2s'
    },
    metrics: { host: spec.listenHost ?? '127.0.0.1', port: 0 }
  }
  // a section of `extra` that this config has too adds its keys to it (node: { drain_timeout } keeps the role)
  for (const [k, v] of Object.entries(spec.extra ?? {})) base[k] = base[k] != null && typeof v === 'object' && !Array.isArray(v) ? { ...base[k], ...v } : v
  return base
}

/** the bootstrap address of `node` as a DNS name without /p2p/ (the Kubernetes Service form) */
export function dnsAddr (node: TestNode): string {
  return `/dns4/localhost/tcp/${node.port}`
}

/** Waits until every node lists every other as alive. */
export async function waitAllSeeAll (nodes: TestNode[], timeoutMs = 60_000): Promise<void> {
  await pWaitFor(async () => {
    for (const n of nodes) {
      const alive = new Set((await n.peers()).filter(p => p.state === 'alive').map(p => p.peerId))
      if (!nodes.every(o => o === n || alive.has(o.peerId))) return false
    }
    return true
  }, { interval: 200, timeout: { milliseconds: timeoutMs, message: 'not every node saw every other' } })
}

/** whether a program is there and runs (`kubectl version --client`, `prometheus --version`): tests skip without it */
export function hasCommand (cmd: string, args: string[] = ['--version']): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true } catch { return false }
}

/** kubectl with kustomize, for the tests that render the manifests */
export const hasKubectl = hasCommand('kubectl', ['version', '--client'])

/** Runs the CLI to completion and returns its output. */
export async function runCli (args: string[], input?: string, env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(LAUNCHER, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', d => { stdout += d })
  proc.stderr.on('data', d => { stderr += d })
  proc.stdin.end(input ?? '')
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  return { code, stdout, stderr }
}

/**
 * Runs one of test/helpers/*.mjs (a hostile peer, ghost members, a raw task client) with `opts` as its JSON
 * argument, on the pinned Node; resolves with the JSON summary it prints last. Start it, do the honest work the
 * test measures meanwhile, then await the result.
 */
export async function runHelper (script: string, opts: Record<string, unknown>): Promise<any> {
  const child = spawn(process.execPath, [join(ROOT, 'test/helpers', script), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  await new Promise(resolve => child.once('exit', resolve))
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

/** `p2p-node keygen --out dir`: a swarm key, a peer identity and an API token, with the identity's peer id */
export function keygen (dir: string): { peerId: string, identityFile: string, swarmKeyFile: string, tokenFile: string } {
  return JSON.parse(execFileSync(LAUNCHER, ['keygen', '--out', dir, '--json'], { encoding: 'utf8' }))
}
