import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, ROOT } from '../harness/cluster.js'
import { cannotRunContainers, podman, podmanQuiet } from '../harness/containers.js'

// The image built by ./build.sh (with --offline-base when the base is not here: no registry is reachable) and run
// as real containers, locked down as the manifests run it: read-only root, uid 10001, every capability dropped,
// /data a volume, the config and the swarm key mounted read-only. A bootstrap and two workers join through
// container DNS; the seed's literal `echo "task compute test_payload" | p2p-node --config /app/config.yaml`
// runs; `podman stop` drains and exits 0.

const why = cannotRunContainers()
const IMAGE = 'localhost/p2p-network:test'
const NET = 'p2p-test-net'
const NAMES = ['p2p-test-boot', 'p2p-test-w1', 'p2p-test-w2']

describe.skipIf(why != null)(`the image in real containers${why != null ? ` (skipped: ${why})` : ''}`, () => {
  const cluster = new Cluster()
  let dir: string
  let buildSeconds = 0

  const run = async (name: string, alias: string, config: string): Promise<void> => {
    await podman(['run', '-d', '--name', name, '--hostname', alias, '--network', NET, '--network-alias', alias,
      '--read-only', '--user', '10001:10001', '--cap-drop', 'ALL',
      '-v', `${name}-data:/data`, '-v', `${join(dir, config)}:/app/config.yaml:ro`, '-v', `${join(dir, 'secrets')}:/app/secrets:ro`,
      '--pull=never', IMAGE])
  }
  const cli = async (name: string, args: string[], input?: string): Promise<string> =>
    await podman(['exec', ...(input != null ? ['-i'] : []), name, '/app/p2p-node', ...args, '--config', '/app/config.yaml'], { input })

  beforeAll(async () => {
    dir = cluster.dir
    const started = Date.now()
    const base = await podman(['image', 'exists', 'docker.io/library/node:24-bookworm-slim']).then(() => true, () => false)
    await new Promise<void>((resolve, reject) => {
      execFile(join(ROOT, 'build.sh'), base ? [] : ['--offline-base'], { cwd: ROOT, env: { ...process.env, IMAGE, ENGINE: 'podman' }, timeout: 600_000, maxBuffer: 64 * 1024 ** 2 }, (err, _out, stderr) => {
        if (err != null) reject(new Error(`build.sh failed: ${err.message}\n${stderr.slice(-4000)}`))
        else resolve()
      })
    })
    buildSeconds = (Date.now() - started) / 1000
    mkdirSync(join(dir, 'secrets'))
    await new Promise<void>((resolve, reject) => execFile(join(ROOT, 'p2p-node'), ['keygen', '--out', join(dir, 'secrets')], err => { if (err != null) reject(err); else resolve() }))
    // the container's user (10001) reads them through a read-only mount
    chmodSync(join(dir, 'secrets'), 0o755)
    for (const f of ['swarm.key', 'api.token', 'peer.key']) chmodSync(join(dir, 'secrets', f), 0o644)
    writeFileSync(join(dir, 'boot.yaml'), 'node:\n  role: bootstrap\n  name: boot\n  heartbeat_interval: 1s\nnetwork:\n  enable_mdns: false\n  psk_file: /app/secrets/swarm.key\n')
    writeFileSync(join(dir, 'worker.yaml'), 'node:\n  role: worker\n  name: ${HOSTNAME}\n  capabilities: [compute]\n  heartbeat_interval: 1s\nnetwork:\n  enable_mdns: false\n  bootstrap: [/dns4/boot/tcp/4001]\n  psk_file: /app/secrets/swarm.key\n')
    for (const n of NAMES) { await podmanQuiet(['rm', '-f', n]); await podmanQuiet(['volume', 'rm', '-f', `${n}-data`]) }
    await podmanQuiet(['network', 'rm', '-f', NET])
    await podman(['network', 'create', NET])
  }, 900_000)

  afterAll(async () => {
    for (const n of NAMES) { await podmanQuiet(['rm', '-f', '-t', '0', n]); await podmanQuiet(['volume', 'rm', '-f', `${n}-data`]) }
    await podmanQuiet(['network', 'rm', '-f', NET])
    await podmanQuiet(['rmi', IMAGE])
    // the build's intermediate layers
    await podmanQuiet(['image', 'prune', '-f'])
    await cluster.teardown()
  })

  it('builds, starts locked down, and answers on its control socket within seconds', async () => {
    console.log(`containers: image built in ${buildSeconds.toFixed(0)} s; ${(Number((await podman(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).trim()) / 1e6).toFixed(0)} MB`)
    const started = Date.now()
    await run(NAMES[0], 'boot', 'boot.yaml')
    await pWaitFor(async () => await cli(NAMES[0], ['status']).then(() => true, () => false), { interval: 100, timeout: 30_000 })
    console.log(`containers: podman run -> control socket answering in ${Date.now() - started} ms`)
    // what the manifests ask for, as the process sees it
    expect((await podman(['exec', NAMES[0], 'id', '-u'])).trim()).toBe('10001')
    expect(await podman(['exec', NAMES[0], 'sh', '-c', 'grep CapEff /proc/1/status'])).toMatch(/CapEff:\s+0{16}/)
    await expect(podman(['exec', NAMES[0], 'touch', '/app/x'])).rejects.toThrow(/Read-only file system/)
  })

  it('two workers join through container DNS; the seed\'s literal task runs on the other worker', async () => {
    await run(NAMES[1], 'w1', 'worker.yaml')
    await run(NAMES[2], 'w2', 'worker.yaml')
    await pWaitFor(async () => (await cli(NAMES[1], ['peers', '--json']).then(out => JSON.parse(out) as Array<{ name?: string, state: string }>, () => [])).filter(p => p.state === 'alive').length === 2, { interval: 200, timeout: 60_000 })
    const out = await cli(NAMES[2], [], 'task compute test_payload\n')
    expect(out).toMatch(/\(compute\): done/)
    expect(out).toMatch(/"algorithm":"sha256-iterated"/)
  })

  it('podman stop (SIGTERM) drains the worker and it exits 0', async () => {
    const started = Date.now()
    await podman(['stop', '-t', '40', NAMES[1]], { timeoutMs: 60_000 })
    console.log(`containers: podman stop -> exited in ${Date.now() - started} ms`)
    expect((await podman(['inspect', NAMES[1], '--format', '{{.State.ExitCode}}'])).trim()).toBe('0')
    // the node logs to stderr
    const log = await podman(['logs', NAMES[1]], { withStderr: true })
    expect(log).toMatch(/"msg":"drained"/)
    expect(log).toMatch(/"msg":"node stopped"/)
  })
})
