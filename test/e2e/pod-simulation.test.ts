import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { ControlClient } from '../../src/control/client.js'
import { hasKubectl, keygen, LAUNCHER, ROOT } from '../harness/cluster.js'
import { canUseNetns, Hosts, type Host } from '../harness/netns.js'

interface Pod { name: string, role: string, host: Host, workload: any, dataDir: string, proc?: ChildProcess, log: string }

const NODE = join(ROOT, 'node_modules/.bin/node')

// The dev overlay's pods as real p2p-node processes, each a host of its own (network namespace, own IP),
// with the command, args, env and ConfigMap config from the rendered manifests. Needs root.
describe.skipIf(!canUseNetns() || !hasKubectl)('the rendered pods, simulated in network namespaces (skipped unless root with ip netns, and kubectl)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-pods-'))
  let hosts: Hosts | undefined
  const pods: Pod[] = []
  const netnsDirs: string[] = []

  afterAll(async () => {
    for (const p of pods) p.proc?.kill('SIGTERM')
    await Promise.all(pods.map(async p => { if (p.proc != null && p.proc.exitCode == null) await new Promise(resolve => p.proc!.once('exit', resolve)) }))
    hosts?.destroy()
    for (const d of netnsDirs) rmSync(d, { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  })

  const request = async (pod: Pod, command: string, args: string[] = []): Promise<any> => {
    const c = await ControlClient.connect(join(pod.dataDir, 'control.sock'))
    try { return await c.request(command, args) } finally { c.close() }
  }

  it('workers join through the p2p-bootstrap name, everyone lists everyone, probes answer, one failover active, a task runs', async () => {
    const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays/dev')], { encoding: 'utf8' })).map(d => d.toJS())
    const configMaps = new Map(objects.filter(o => o.kind === 'ConfigMap').map(o => [o.metadata.name, o.data]))
    const services = objects.filter(o => o.kind === 'Service')
    hosts = new Hosts('p')
    const kubelet = hosts.add()
    for (const w of objects.filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      const role = w.spec.template.metadata.labels['app.kubernetes.io/component']
      const names = w.kind === 'StatefulSet' ? Array.from({ length: w.spec.replicas }, (_, i) => `${w.metadata.name}-${i}`) : [`${w.metadata.name}-7d4b9-x2x`]
      for (const name of names) pods.push({ name, role, host: hosts.add(), workload: w, dataDir: join(dir, name), log: join(dir, `${name}.log`) })
    }
    // cluster DNS: each Service name to the IPs of the pods it selects (all worker IPs for the headless one)
    const hostsFile = ['127.0.0.1 localhost']
    for (const svc of services) {
      const fqdn = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`
      for (const p of pods.filter(p => Object.entries(svc.spec.selector).every(([k, v]) => p.workload.spec.template.metadata.labels[k] === v))) {
        hostsFile.push(`${p.host.ip} ${fqdn} ${svc.metadata.name}`)
      }
    }
    for (const p of pods) {
      const nsDir = `/etc/netns/${p.host.ns}`
      mkdirSync(nsDir, { recursive: true })
      netnsDirs.push(nsDir)
      writeFileSync(join(nsDir, 'hosts'), hostsFile.join('\n') + '\n')
    }

    // the Secret p2p-network-secrets (components/private-network), mounted at /app/secrets in every pod
    const secrets = keygen(join(dir, 'secrets'))
    const mounted = (value: string): string => value.startsWith('/app/secrets/') ? join(dirname(secrets.swarmKeyFile), basename(value)) : value
    for (const p of pods) {
      const spec = p.workload.spec.template.spec
      const c = spec.containers[0]
      mkdirSync(p.dataDir, { recursive: true })
      // the ConfigMap mounted at /app/config.yaml
      const cmName = spec.volumes.find((v: any) => v.name === 'config').configMap.name
      const configFile = join(dir, `${p.name}.config.yaml`)
      writeFileSync(configFile, configMaps.get(cmName)!['config.yaml'])
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: p.dataDir }
      for (const e of c.env) {
        if (e.value != null) env[e.name] = mounted(e.value)
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = p.name
        else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = p.host.ip
        else if (e.valueFrom?.fieldRef?.fieldPath?.includes('pod-index')) env[e.name] = p.name.split('-').at(-1)!
      }
      // the /data volume
      env.P2P_DATA_DIR = p.dataDir
      env.P2P_EXIT_WITH_PARENT = '1'
      const args = c.args.map((a: string) => a === '/app/config.yaml' ? configFile : a)
      const log = openSync(p.log, 'a')
      p.proc = spawn('ip', ['netns', 'exec', p.host.ns, LAUNCHER, ...args], { stdio: ['ignore', log, log], env })
    }
    const tails = (): string => pods.map(p => `--- ${p.name}\n${readFileSync(p.log, 'utf8').split('\n').slice(-8).join('\n')}`).join('\n')

    // probes, asked from another host the way the kubelet asks them: HTTP GET on the pod IP and the named port
    const probe = (p: Pod, path: string): number => {
      const c = p.workload.spec.template.spec.containers[0]
      const port = c.ports.find((x: any) => x.name === c.readinessProbe.httpGet.port).containerPort
      try {
        return Number(execFileSync('ip', ['netns', 'exec', kubelet.ns, NODE, '-e',
          `fetch("http://${p.host.ip}:${port}${path}").then(r => console.log(r.status), () => console.log(0))`], { encoding: 'utf8' }).trim())
      } catch { return 0 }
    }
    await pWaitFor(() => pods.every(p => probe(p, '/readyz') === 200), { interval: 500, timeout: { milliseconds: 90_000, message: `pods never ready\n${tails()}` } })
    for (const p of pods) expect(probe(p, '/healthz')).toBe(200)

    const ids = new Map<string, string>()
    for (const p of pods) ids.set(p.name, (await request(p, 'status')).peerId)
    await pWaitFor(async () => {
      for (const p of pods) {
        const alive = new Set((await request(p, 'peers')).filter((x: any) => x.state === 'alive').map((x: any) => x.peerId))
        if (![...ids].every(([name, id]) => name === p.name || alive.has(id))) return false
      }
      return true
    }, { interval: 500, timeout: { milliseconds: 90_000, message: `not everyone lists everyone\n${tails()}` } })

    // workers reached each other directly, on their pod IPs, as announced from POD_IP
    const w0 = pods.find(p => p.name === 'p2p-worker-0')!
    const w1 = pods.find(p => p.name === 'p2p-worker-1')!
    const peer = (await request(w0, 'peers')).find((x: any) => x.peerId === ids.get('p2p-worker-1'))
    expect(peer).toMatchObject({ state: 'alive', connection: 'direct' })
    expect(peer.addresses.some((a: string) => a.startsWith(`/ip4/${w1.host.ip}/tcp/4001`))).toBe(true)

    // one failover active: the singleton runs on p2p-worker-0 (priority from the pod index), and only there
    const workers = pods.filter(p => p.role === 'worker')
    await pWaitFor(async () => {
      const st = await Promise.all(workers.map(async p => (await request(p, 'failover'))[0]))
      return st.filter(s => s.running).length === 1 && st.every(s => s.active === ids.get('p2p-worker-0'))
    }, { interval: 250, timeout: { milliseconds: 60_000, message: `no single failover active\n${tails()}` } })
    expect((await request(w0, 'failover'))[0]).toMatchObject({ service: 'singleton', running: true, priority: 0 })

    const boot = pods.find(p => p.role === 'bootstrap')!
    const t = await request(boot, 'task', ['compute', 'test_payload'])
    expect(t.state).toBe('done')
    expect([...ids.entries()].filter(([n]) => n.startsWith('p2p-worker')).map(([, id]) => id)).toContain(t.results[0].worker)
  })
})
