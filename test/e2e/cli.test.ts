import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, ROOT, runCli, type TestNode } from '../harness/cluster.js'

describe('the p2p-node command', () => {
  const cluster = new Cluster()
  let bootstrap: TestNode
  let worker: TestNode

  beforeAll(async () => {
    bootstrap = cluster.add({ name: 'cli-bootstrap', role: 'bootstrap', mesh: false })
    await bootstrap.start()
    worker = cluster.add({ name: 'cli-worker', role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(bootstrap)] })
    // started the way a pod starts it: no subcommand, stdin is /dev/null
    await worker.start([], 'ignore')
    await pWaitFor(async () => (await worker.peers()).some(p => p.peerId === bootstrap.peerId && p.state === 'alive'), { interval: 200, timeout: 30_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  it('--version and --help exit 0', async () => {
    const v = await runCli(['--version'])
    expect(v.code).toBe(0)
    // the package's own version, not a fallback (the bundle once read a package.json that was not there: 0.0.0)
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    const h = await runCli(['--help'])
    expect(h.code).toBe(0)
    expect(h.stdout).toMatch(/peers/)
  })

  it('P2P_NODE_FLAGS reaches Node: a daemon runs with them; a flag Node does not know is its clear error', async () => {
    const node = cluster.add({ name: 'cli-flags', role: 'worker', bootstrap: [dnsAddr(bootstrap)] })
    process.env.P2P_NODE_FLAGS = '--optimize-for-size --stack-size=900'
    try { await node.start() } finally { delete process.env.P2P_NODE_FLAGS }
    // the launcher execs Node: the daemon's own command line carries the flags, before the program
    const argv = readFileSync(`/proc/${node.proc!.pid}/cmdline`, 'utf8').split('\0')
    expect(argv.slice(1, 4)).toEqual(['--max-semi-space-size=4', '--optimize-for-size', '--stack-size=900'])
    expect(argv[4]).toMatch(/p2p-node\.mjs$/)
    expect((await node.request('status') as any).role).toBe('worker')
    await node.stop()
    const bad = await runCli(['--version'], undefined, { P2P_NODE_FLAGS: '--no-such-flag-here' })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/bad option: --no-such-flag-here/)
  })

  it('a daemon whose stdin is /dev/null keeps running', async () => {
    const before = (await worker.request('status') as any).uptimeSeconds
    // several heartbeats later it still answers and the bootstrap still sees it alive
    await pWaitFor(async () => (await worker.request('status') as any).uptimeSeconds >= before + 2, { interval: 250, timeout: 30_000 })
    expect(worker.proc?.exitCode).toBeNull()
    expect((await bootstrap.peers()).find(p => p.peerId === worker.peerId)?.state).toBe('alive')
  })

  it('piped commands run against the running daemon and exit 0', async () => {
    const r = await runCli(['--config', worker.configFile], 'peers --json\nstatus\ncapabilities\n')
    expect(r.code, r.stderr).toBe(0)
    const jsonEnd = r.stdout.indexOf('\n]') + 2
    const peers = JSON.parse(r.stdout.slice(0, jsonEnd))
    expect(peers.some((p: any) => p.peerId === bootstrap.peerId && p.role === 'bootstrap')).toBe(true)
    expect(r.stdout).toContain(`peer id       ${worker.peerId}`)
    expect(r.stdout).toMatch(/this node: compute/)
    // attaching never starts a second node
    expect(r.stderr).not.toMatch(/node started/)
  })

  it('a failing piped command makes the exit code 1', async () => {
    const r = await runCli(['--config', worker.configFile], 'status\nnot-a-command\n')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/unknown command: not-a-command/)
  })

  it('P2P_CONFIG_PATH is the default for --config, and one-shot commands print JSON', async () => {
    const r = await runCli(['status', '--json'], undefined, { P2P_CONFIG_PATH: worker.configFile })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ peerId: worker.peerId, role: 'worker', name: 'cli-worker' })
    const p = await runCli(['peers', '--config', worker.configFile, '--json'])
    expect(JSON.parse(p.stdout).map((x: any) => x.peerId)).toContain(bootstrap.peerId)
    const t = await runCli(['peers', '--config', worker.configFile])
    expect(t.stdout).toMatch(/^PEER\s+NAME\s+ROLE/m)
    expect(t.stdout).toContain('cli-bootstrap')
  })

  it('exit 2 on usage and config errors, naming the key and line', async () => {
    expect((await runCli(['--no-such-flag'])).code).toBe(2)
    expect((await runCli(['status'], undefined, { P2P_CONFIG_PATH: '' })).code).toBe(2)
    const bad = join(cluster.dir, 'bad.yaml')
    writeFileSync(bad, 'node:\n  role: worker\n  listen_prot: 4001\n')
    const r = await runCli(['start', '--config', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${bad}:3: node.listen_prot: unknown key (did you mean listen_port?)`)
    const missing = await runCli(['start', '--config', join(cluster.dir, 'nope.yaml')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/config file not found/)
    // a word that is no command is called that, not "too many arguments"
    const bogus = await runCli(['bogus'])
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toMatch(/^p2p-node: unknown command: bogus \(commands: start, peers, status/)
  })

  it('task --payload-file sends a file (or standard input) of any size up to tasks.max_payload; over it: exit 2', async () => {
    const big = Buffer.alloc(200_000, 'x')
    const file = join(cluster.dir, 'payload.bin')
    writeFileSync(file, big)
    const r = await runCli(['task', 'echo', '--payload-file', file, '--config', worker.configFile, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).results[0].output).toBe(big.toString())
    // from standard input, as in: producer | p2p-node task echo --payload-file -
    const piped = await runCli(['task', 'echo', '--payload-file', '-', '--config', worker.configFile, '--json'], 'from a pipe\n')
    expect(JSON.parse(piped.stdout).results[0].output).toBe('from a pipe\n')
    // the REPL takes it too (a file: its standard input is the commands)
    const repl = await runCli(['--config', worker.configFile], `task echo --payload-file ${file} --json\n`)
    expect(repl.code, repl.stderr).toBe(0)
    expect(JSON.parse(repl.stdout).results[0].output).toHaveLength(200_000)
    // over tasks.max_payload (1 MiB): the documented exit 2, with the limit in the message
    writeFileSync(file, Buffer.alloc(1024 * 1024 + 1, 'y'))
    const over = await runCli(['task', 'echo', '--payload-file', file, '--config', worker.configFile])
    expect(over.code).toBe(2)
    expect(over.stderr).toMatch(/payload is 1048577 bytes; the limit is 1048576/)
    const missing = await runCli(['task', 'echo', '--payload-file', join(cluster.dir, 'nope'), '--config', worker.configFile])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--payload-file: cannot read .*nope: no such file/)
  })

  it('start for a node that already runs says so and how to attach (exit 1), and leaves the running one alone', async () => {
    const r = await runCli(['start', '--config', worker.configFile])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`p2p-node: a node for this config already runs (its control socket ${worker.socket} answers): attach with p2p-node --config ${worker.configFile}, or stop it first\n`)
    expect((await worker.request('status') as any).name).toBe('cli-worker')
  })

  it('a one-shot command with no daemon running exits 1 with a clear message', async () => {
    const idle = cluster.add({ name: 'cli-idle', role: 'worker' })
    const r = await runCli(['peers', '--config', idle.configFile])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no daemon is running/)
  })

  it('/metrics carries our metrics, libp2p\'s and the process\'s in one registry; health endpoints answer', async () => {
    const text = await worker.metrics()
    const names = new Set(text.split('\n').filter(l => l !== '' && !l.startsWith('#')).map(l => l.split(/[{ ]/)[0]))
    for (const n of ['p2p_peers_connected', 'p2p_known_members', 'p2p_messages_published_total', 'p2p_messages_received_total',
      'p2p_peer_rtt_seconds_bucket', 'p2p_peer_rtt_seconds_count', 'p2p_node_healthy', 'p2p_node_info', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes']) {
      expect(names, n).toContain(n)
    }
    expect([...names].some(n => n.startsWith('libp2p_'))).toBe(true)
    // every HELP/TYPE pair is declared once: one registry, no duplicates
    const types = text.split('\n').filter(l => l.startsWith('# TYPE '))
    expect(new Set(types).size).toBe(types.length)
    expect(text).toMatch(/^p2p_node_info\{role="worker",version="[^"]+",name="cli-worker"\} 1$/m)
    expect(text).toMatch(/^p2p_known_members\{role="bootstrap"\} 1$/m)
    expect(text).toMatch(/^p2p_node_healthy 1$/m)
    expect(text).toMatch(/^p2p_messages_published_total\{topic="heartbeat"\} [1-9]/m)
    expect(text).toMatch(/^p2p_messages_received_total\{topic="heartbeat"\} [1-9]/m)
    const url = (await worker.request('status') as any).metricsUrl
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    expect((await fetch(`${url}/nope`)).status).toBe(404)
  })

  it('SIGTERM stops the daemon cleanly: exit 0 and the control socket removed', async () => {
    worker.kill('SIGTERM')
    const { code } = await worker.exit!
    expect(code).toBe(0)
    expect(existsSync(worker.socket)).toBe(false)
  })
})
