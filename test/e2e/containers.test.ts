import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { Cluster, hasKubectl, keygen, ROOT } from '../harness/cluster.js'
import { cannotRunContainers, podman, podmanQuiet } from '../harness/containers.js'
import { Kubelet, type Termination } from '../harness/kubelet.js'

// The image built by ./build.sh (with --offline-base when the base is not here: no registry is reachable), and the
// dev overlay's pods run from the rendered manifests as real containers by a small kubelet (test/harness/kubelet.ts):
// env with fieldRefs filled in, the ConfigMaps and the Secret mounted where the manifests mount them, the
// securityContext, Services as DNS names, the probes, `kubectl exec`, deletion with preStop and the grace period.
// Then a rolling restart of the worker StatefulSet under load.

const why = cannotRunContainers()
const IMAGE = 'localhost/p2p-network:test'
const WORKERS = ['p2p-worker-0', 'p2p-worker-1', 'p2p-worker-2']

describe.skipIf(why != null || !hasKubectl)(`the dev overlay's pods as real containers${why != null ? ` (skipped: ${why})` : !hasKubectl ? ' (skipped: no kubectl)' : ''}`, () => {
  const cluster = new Cluster()
  let kubelet: Kubelet
  let token: string
  let buildSeconds = 0
  const node = ['/app/p2p-node']
  const cfg = ['--config', '/app/config.yaml']

  beforeAll(async () => {
    const started = Date.now()
    const base = await podman(['image', 'exists', 'docker.io/library/node:24-bookworm-slim']).then(() => true, () => false)
    await new Promise<void>((resolve, reject) => {
      execFile(join(ROOT, 'build.sh'), base ? [] : ['--offline-base'], { cwd: ROOT, env: { ...process.env, IMAGE, ENGINE: 'podman' }, timeout: 600_000, maxBuffer: 64 * 1024 ** 2 }, (err, _out, stderr) => {
        if (err != null) reject(new Error(`build.sh failed: ${err.message}\n${stderr.slice(-4000)}`))
        else resolve()
      })
    })
    buildSeconds = (Date.now() - started) / 1000
    // the Secret p2p-network-secrets (components/private-network): a swarm key and an API token
    const keys = keygen(join(cluster.dir, 'keys'))
    const secret = join(cluster.dir, 'secret')
    mkdirSync(secret)
    copyFileSync(keys.swarmKeyFile, join(secret, 'swarm.key'))
    copyFileSync(keys.tokenFile, join(secret, 'api.token'))
    token = readFileSync(keys.tokenFile, 'utf8').trim()
    const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays/dev')], { encoding: 'utf8' })).map(d => d.toJS())
    kubelet = new Kubelet(objects, { image: IMAGE, network: 'p2p-pods', subnet: '198.18.0', dir: join(cluster.dir, 'pods'), secrets: { 'p2p-network-secrets': secret } })
    await kubelet.createNetwork()
  }, 900_000)

  afterAll(async () => {
    await kubelet?.removeAll()
    await podmanQuiet(['network', 'rm', '-f', 'p2p-pods'])
    await podmanQuiet(['rmi', IMAGE])
    // the build's intermediate layers
    await podmanQuiet(['image', 'prune', '-f'])
    await cluster.teardown()
  })

  const api = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const boot = [...kubelet.pods.values()].find(p => p.name.startsWith('p2p-bootstrap'))!
    return await fetch(`http://${boot.ip}:9090${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } })
  }
  const failoverActives = async (): Promise<string[]> => {
    const views = await Promise.all(WORKERS.map(async w => JSON.parse(await kubelet.exec(w, [...node, 'failover', ...cfg, '--json'])) as any[]))
    return views.flatMap((v, i) => v.filter(s => s.phase === 'active').map(() => WORKERS[i]))
  }

  it('every pod of the dev overlay runs locked down as its manifest says, and becomes ready', async () => {
    console.log(`containers: image built in ${buildSeconds.toFixed(0)} s; ${(Number((await podman(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).trim()) / 1e6).toFixed(0)} MB`)
    for (const w of kubelet.workloads()) for (const name of kubelet.podNames(w)) await kubelet.run(name, w)
    expect([...kubelet.pods.keys()].filter(n => n.startsWith('p2p-worker'))).toEqual(WORKERS)
    await pWaitFor(() => [...kubelet.pods.values()].every(p => p.ready), { interval: 200, timeout: 120_000 })
    console.log(`containers: podman run -> ready (readiness probe): ${[...kubelet.pods.values()].map(p => `${p.name} ${p.readyAfterMs} ms`).join(', ')}`)
    // what the manifests ask for, as the process sees it
    expect((await kubelet.exec('p2p-worker-1', ['id', '-u'])).trim()).toBe('10001')
    expect(await kubelet.exec('p2p-worker-1', ['sh', '-c', 'grep -E "CapEff|NoNewPrivs" /proc/1/status'])).toMatch(/CapEff:\s+0{16}[\s\S]*NoNewPrivs:\s+1/)
    await expect(kubelet.exec('p2p-worker-1', ['touch', '/app/x'])).rejects.toThrow(/Read-only file system/)
    // the downward API and the Secret, where the node reads them
    const status = JSON.parse(await kubelet.exec('p2p-worker-1', [...node, 'status', ...cfg, '--json']))
    expect(status.name).toBe('p2p-worker-1')
    expect(status.announceAddresses.some((a: string) => a.startsWith(`/ip4/${kubelet.pods.get('p2p-worker-1')!.ip}/tcp/4001`))).toBe(true)
    expect((await api('/api/status', { headers: { authorization: '' } })).status).toBe(401)
    expect((await api('/api/status')).status).toBe(200)
  }, 300_000)

  it('kubectl exec: everyone lists everyone, the seed\'s literal task runs through the REPL, one failover active on p2p-worker-0', async () => {
    await pWaitFor(async () => {
      const peers = JSON.parse(await kubelet.exec('p2p-worker-2', [...node, 'peers', ...cfg, '--json'])) as Array<{ state: string }>
      return peers.filter(p => p.state === 'alive').length === 4
    }, { interval: 500, timeout: 60_000 })
    const out = await kubelet.exec('p2p-worker-2', [...node, ...cfg], 'task compute test_payload\n')
    expect(out).toMatch(/\(compute\): done/)
    expect(out).toMatch(/"algorithm":"sha256-iterated"/)
    // worker-0 has the highest priority (its pod index); it preempts once its preempt delay has passed
    await pWaitFor(async () => (await failoverActives()).join() === 'p2p-worker-0', { interval: 1000, timeout: 60_000 })
  }, 120_000)

  it('a rolling restart of the worker StatefulSet under load: each pod drains (preStop) and exits 0 in its grace period; no task lost', async () => {
    const ids: string[] = []
    const refused: string[] = []
    let n = 0
    const submit = async (): Promise<void> => {
      // a quarter of them compute for a few hundred ms, so a leaving worker has tasks to finish
      const work = n % 4 === 0 ? { type: 'compute', cost: 500_000 } : { type: 'echo' }
      const res = await api('/api/tasks', { method: 'POST', body: JSON.stringify({ ...work, payload: `roll ${n++}`, wait: false, timeout: '60s', retries: 5 }) })
      const body = await res.json() as any
      if (res.status === 202) ids.push(body.id)
      else refused.push(`${res.status} ${body.error}`)
    }
    const pending: Array<Promise<void>> = []
    const load = setInterval(() => { pending.push(submit().catch(err => { refused.push(String(err.message)) })) }, 100)
    const ended: Termination[] = []
    try {
      // as the StatefulSet controller rolls: highest ordinal first, each replaced and ready before the next
      const sts = kubelet.workload('p2p-worker')
      for (const name of [...WORKERS].reverse()) {
        ended.push(await kubelet.delete(name))
        const pod = await kubelet.run(name, sts)
        await pWaitFor(() => pod.ready, { interval: 200, timeout: 120_000 })
      }
    } finally {
      clearInterval(load)
      await Promise.all(pending)
    }
    console.log(`containers: rolling restart: ${ended.map(t => `${t.pod} preStop ${t.preStopMs} ms, exit ${t.exitCode} after ${t.totalMs} ms`).join('; ')}; ${ids.length} tasks`)
    const grace = kubelet.workload('p2p-worker').spec.template.spec.terminationGracePeriodSeconds * 1000
    for (const t of ended) expect({ pod: t.pod, exitCode: t.exitCode, killed: t.killed, inGrace: t.totalMs < grace }).toEqual({ pod: t.pod, exitCode: 0, killed: false, inGrace: true })
    expect(refused).toEqual([])
    const states = new Map<string, any>()
    const done = (id: string): boolean => ['done', 'failed', 'cancelled'].includes(states.get(id)?.state)
    await pWaitFor(async () => {
      for (const id of ids) if (!done(id)) states.set(id, await (await api(`/api/tasks/${id}`)).json())
      return ids.every(done)
    }, { interval: 500, timeout: 120_000 })
    const failed = ids.filter(id => states.get(id).state !== 'done').map(id => `${id}: ${states.get(id).error}`)
    expect(failed).toEqual([])
    expect(ids.length).toBeGreaterThan(50)
    // the singleton moved while worker-0 was away and came back to it; never two at once at the end
    await pWaitFor(async () => (await failoverActives()).join() === 'p2p-worker-0', { interval: 1000, timeout: 60_000 })
  }, 600_000)

  it('liveness: a node that stops answering is restarted by the kubelet and comes back ready', async () => {
    // the relay, with the probe's period and the grace period shortened so the test takes seconds, not a minute
    const relay = structuredClone(kubelet.workload('p2p-relay'))
    const spec = relay.spec.template.spec
    spec.terminationGracePeriodSeconds = 2
    spec.containers[0].livenessProbe = { ...spec.containers[0].livenessProbe, periodSeconds: 1, timeoutSeconds: 1 }
    const name = [...kubelet.pods.keys()].find(n => n.startsWith('p2p-relay'))!
    await kubelet.delete(name)
    const pod = await kubelet.run(name, relay)
    await pWaitFor(() => pod.ready, { interval: 200, timeout: 60_000 })
    // frozen: the process is there and holds its connections, but answers nothing
    await podman(['kill', '--signal', 'SIGSTOP', name])
    await pWaitFor(() => pod.restarts === 1, { interval: 200, timeout: 30_000 })
    await pWaitFor(() => pod.ready, { interval: 200, timeout: 60_000 })
    expect(JSON.parse(await kubelet.exec(name, [...node, 'status', ...cfg, '--json'])).role).toBe('relay')
  }, 180_000)
})
