import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import * as apps from 'kubernetes-models/apps/v1'
import * as networking from 'kubernetes-models/networking.k8s.io/v1'
import * as policy from 'kubernetes-models/policy/v1'
import * as core from 'kubernetes-models/v1'
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { parseConfig } from '../../src/config/load.js'
import { hasKubectl, ROOT } from '../harness/cluster.js'

const MODELS: Record<string, any> = {
  'v1/Namespace': core.Namespace,
  'v1/ConfigMap': core.ConfigMap,
  'v1/Service': core.Service,
  'apps/v1/Deployment': apps.Deployment,
  'apps/v1/StatefulSet': apps.StatefulSet,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
  // KEDA's own models (@kubernetes-models/keda)
  'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject
}
// the ServiceMonitor has no upstream schema here: its shape is checked below
const CUSTOM = new Set(['monitoring.coreos.com/v1/ServiceMonitor'])

function render (overlay: string, dir = 'k8s/overlays'): any[] {
  const out = execFileSync('kubectl', ['kustomize', join(ROOT, dir, overlay)], { encoding: 'utf8' })
  return parseAllDocuments(out).map(d => d.toJS())
}

/** the files of the Secret p2p-network-secrets where components/private-network mounts them */
const SECRET_FILES: Record<string, Buffer> = {
  '/app/secrets/swarm.key': Buffer.from(`/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(32)}\n`),
  '/app/secrets/api.token': Buffer.from('a-token-of-more-than-16-characters\n')
}
const readSecret = (path: string): Buffer => {
  if (SECRET_FILES[path] == null) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
  return SECRET_FILES[path]
}

/** a pod's config as the pod reads it: `env` (what its manifest sets, and the kubelet fills in) and the mounted Secret */
function podConfig (yaml: string, env: Record<string, string>): ReturnType<typeof parseConfig> {
  return parseConfig(yaml, { env, file: '/app/config.yaml', readFile: readSecret })
}

/** the plain `value` env entries of a workload's p2p-node container */
function envOf (workload: any): Record<string, string> {
  return Object.fromEntries(workload.spec.template.spec.containers[0].env.filter((e: any) => e.value != null).map((e: any) => [e.name, e.value]))
}


describe.skipIf(!hasKubectl)('Kubernetes manifests (kubectl kustomize, offline; skipped without kubectl)', () => {
  for (const overlay of ['dev', 'production']) {
    describe(`overlay ${overlay}`, () => {
      const objects = render(overlay)
      const byKind = (kind: string): any[] => objects.filter(o => o.kind === kind)
      const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')]

      it('every object validates against the Kubernetes API schemas', () => {
        expect(objects.length).toBeGreaterThanOrEqual(13)
        for (const o of objects) {
          const key = `${o.apiVersion}/${o.kind}`
          if (CUSTOM.has(key)) continue
          const Model = MODELS[key]
          expect(Model, `no schema for ${key}`).toBeDefined()
          expect(() => new Model(o).validate(), `${key} ${o.metadata?.name}`).not.toThrow()
        }
      })

      it('lives in net-test with the recommended labels', () => {
        for (const o of objects.filter(o => o.kind !== 'Namespace')) {
          expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('net-test')
          expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('p2p-network')
          expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('kustomize')
        }
        // production adds the autoscaled pool (components/autoscaling)
        expect(workloads.map(w => w.spec.template.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(overlay === 'production' ? ['bootstrap', 'pool', 'relay', 'worker'] : ['bootstrap', 'relay', 'worker'])
      })

      it('ports agree between pods, probes, Services, configs and scrape annotations', () => {
        const configs = new Map(byKind('ConfigMap').map(c => [c.metadata.name, c.data['config.yaml']]))
        for (const w of workloads) {
          const pod = w.spec.template
          const c = pod.spec.containers[0]
          const ports = new Map(c.ports.map((p: any) => [p.name, p.containerPort]))
          for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(ports.has(probe.httpGet.port)).toBe(true)
          expect(c.readinessProbe.httpGet.path).toBe('/readyz')
          expect(c.livenessProbe.httpGet.path).toBe('/healthz')
          expect(Number(pod.metadata.annotations['prometheus.io/port'])).toBe(ports.get('metrics'))
          const cmName = pod.spec.volumes.find((v: any) => v.name === 'config').configMap.name
          const cfg = podConfig(configs.get(cmName)!, { ...envOf(w), POD_NAME: 'pod-0', POD_IP: '10.0.0.5' })
          expect(cfg.node.listenPort).toBe(ports.get('p2p'))
          expect(cfg.metrics.port).toBe(ports.get('metrics'))
          expect(c.args).toEqual(['start', '--config', '/app/config.yaml'])
          // the Services that select this pod reach ports it has
          for (const svc of byKind('Service').filter(s => Object.entries(s.spec.selector).every(([k, v]) => pod.metadata.labels[k] === v))) {
            for (const p of svc.spec.ports) expect(ports.has(p.targetPort), `${svc.metadata.name} -> ${p.targetPort}`).toBe(true)
          }
        }
      })

      it('every ConfigMap config passes our loader, and names Services that exist', () => {
        const services = new Set(byKind('Service').map(s => `${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local`))
        for (const cm of byKind('ConfigMap').filter(c => c.data['config.yaml'] != null)) {
          const user = workloads.find(w => w.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name === cm.metadata.name)
          const cfg = podConfig(cm.data['config.yaml'], { ...envOf(user), POD_NAME: 'pod-0', POD_IP: '10.0.0.5', P2P_DATA_DIR: '/data' })
          expect(cfg.node.dataDir).toBe('/data')
          expect(cfg.node.announce).toEqual(['/ip4/10.0.0.5/tcp/4001'])
          expect(cfg.network.enableMdns).toBe(false)
          for (const b of cfg.network.bootstrap) expect(services.has(b.split('/')[2]), b).toBe(true)
        }
      })

      it('pods run restricted: non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp, read-only root', () => {
        for (const w of workloads) {
          const spec = w.spec.template.spec
          expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
          for (const c of spec.containers) {
            expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } })
            expect(c.resources.requests.cpu).toBeDefined()
            expect(c.resources.limits.memory).toBeDefined()
            const mounts = c.volumeMounts.map((m: any) => m.mountPath)
            expect(mounts).toEqual(expect.arrayContaining(['/data', '/tmp', '/app/config.yaml']))
          }
          const env = new Map(spec.containers[0].env.map((e: any) => [e.name, e]))
          expect(env.get('POD_IP')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } })
          expect(env.get('POD_NAME')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } })
        }
      })

      it('workers are a StatefulSet behind a headless Service, with a disruption budget and the pod index', () => {
        const sts = byKind('StatefulSet')[0]
        const headless = byKind('Service').find(s => s.metadata.name === sts.spec.serviceName)
        expect(headless.spec.clusterIP).toBe('None')
        expect(headless.spec.publishNotReadyAddresses).toBe(true)
        const env = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'P2P_POD_INDEX')
        expect(env.valueFrom.fieldRef.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']")
        const pdb = byKind('PodDisruptionBudget')[0]
        expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels)
        expect(byKind('Service').filter(s => s.spec.type === 'ClusterIP').map(s => s.metadata.name).sort()).toEqual(['p2p-bootstrap', 'p2p-relay'])
      })

      it('the failover group is every worker: group size equals replicas, priority from the pod index', () => {
        const sts = byKind('StatefulSet')[0]
        const env = new Map(sts.spec.template.spec.containers[0].env.map((e: any) => [e.name, e]))
        expect(Number((env.get('P2P_FAILOVER_GROUP_SIZE') as any)?.value)).toBe(sts.spec.replicas)
        expect((env.get('P2P_POD_INDEX') as any)?.valueFrom.fieldRef.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']")
        const cm = byKind('ConfigMap').find(c => c.metadata.name === sts.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name)
        const priorities = [0, 1, 2].map(i => podConfig(cm.data['config.yaml'], { ...envOf(sts), POD_NAME: `p2p-worker-${i}`, POD_IP: '10.0.0.5', P2P_POD_INDEX: String(i) }).failover.services[0])
        expect(priorities.map(p => p.priority)).toEqual([-0, -1, -2])
        expect(priorities[0].groupSize).toBe(sts.spec.replicas)
      })

      it('allows only p2p, metrics and DNS traffic', () => {
        const np = byKind('NetworkPolicy')[0]
        expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress'])
        const ports = (rules: any[]): number[] => rules.flatMap(r => r.ports.map((p: any) => p.port)).sort()
        expect(ports(np.spec.ingress)).toEqual([4001, 9090])
        expect(ports(np.spec.egress)).toEqual([4001, 53, 53])
      })

      it('ships the Grafana dashboard with panels for peers, messages, tasks, failover and relays', () => {
        const cm = byKind('ConfigMap').find(c => c.metadata.labels?.grafana_dashboard === '1')
        const dash = JSON.parse(cm.data['p2p-network.json'])
        const exprs = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)).join('\n')
        for (const m of ['p2p_peers_connected', 'p2p_messages_received_total', 'p2p_tasks_completed_total', 'p2p_task_duration_seconds_bucket', 'p2p_failover_active', 'p2p_failover_transitions_total', 'p2p_relayed_connections', 'p2p_reachability', 'p2p_relay_data_bytes_total']) {
          expect(exprs).toContain(m)
        }
      })
    })
  }

  describe('overlay multi-cluster (components/external-access)', () => {
    const objects = render('multi-cluster')
    const byKind = (kind: string): any[] => objects.filter(o => o.kind === kind)
    const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')]

    it('every object validates against the Kubernetes API schemas', () => {
      for (const o of objects) {
        const Model = MODELS[`${o.apiVersion}/${o.kind}`]
        expect(Model, `no schema for ${o.apiVersion}/${o.kind}`).toBeDefined()
        expect(() => new Model(o).validate(), `${o.kind} ${o.metadata?.name}`).not.toThrow()
      }
    })

    it('the bootstrap and the relay are exposed on LoadBalancers that keep the client address, on the p2p port', () => {
      const external = byKind('Service').filter(s => s.spec.type === 'LoadBalancer')
      expect(external.map(s => s.metadata.name).sort()).toEqual(['p2p-bootstrap-external', 'p2p-relay-external'])
      for (const svc of external) {
        expect(svc.spec.externalTrafficPolicy).toBe('Local')
        const pods = workloads.filter(w => Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v))
        expect(pods.map(w => w.spec.template.metadata.labels['app.kubernetes.io/component'])).toEqual([svc.metadata.name.replace('p2p-', '').replace('-external', '')])
        expect(svc.spec.ports).toEqual([{ name: 'p2p', port: 4001, targetPort: 'p2p', protocol: 'TCP' }])
      }
      const np = byKind('NetworkPolicy').find(n => n.metadata.name === 'p2p-node-external')
      expect(np.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 4001, protocol: 'TCP' }] }])
    })

    it('read the way each pod reads them, the configs announce the external address and add the other cluster\'s bootstrap', () => {
      const configMaps = new Map(byKind('ConfigMap').map(c => [c.metadata.name, c.data]))
      const want: Record<string, string[]> = {
        bootstrap: ['/ip4/10.0.0.5/tcp/4001', '/dns4/bootstrap.cluster-a.example.com/tcp/4001'],
        relay: ['/ip4/10.0.0.5/tcp/4001', '/dns4/relay.cluster-a.example.com/tcp/4001'],
        worker: ['/ip4/10.0.0.5/tcp/4001']
      }
      for (const w of workloads) {
        const spec = w.spec.template.spec
        const env: Record<string, string> = { POD_NAME: 'pod-0', POD_IP: '10.0.0.5', P2P_POD_INDEX: '0' }
        for (const e of spec.containers[0].env) {
          if (e.value != null) env[e.name] = e.value
          const ref = e.valueFrom?.configMapKeyRef
          if (ref != null) env[e.name] = configMaps.get(ref.name)![ref.key]
        }
        const cfg = podConfig(configMaps.get(spec.volumes.find((v: any) => v.name === 'config').configMap.name)!['config.yaml'], env)
        const role = w.spec.template.metadata.labels['app.kubernetes.io/component']
        expect(cfg.node.announce, role).toEqual(want[role])
        expect(cfg.network.bootstrap, role).toContain('/dns4/bootstrap.cluster-b.example.com/tcp/4001')
      }
    })
  })

  it('the validation is not vacuous: a broken object fails it', () => {
    const deployment = render('dev').find(o => o.kind === 'Deployment')
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'not-a-port'
    expect(() => new apps.Deployment(deployment).validate()).toThrow()
    const svc = render('dev').find(o => o.kind === 'Service')
    delete svc.spec.ports[0].port
    expect(() => new core.Service(svc).validate()).toThrow()
  })

  describe('components/autoscaling (in production)', () => {
    const prod = render('production')
    const so = prod.find(o => o.kind === 'ScaledObject')
    const pool = prod.find(o => o.kind === 'Deployment' && o.metadata.name === 'p2p-pool')

    it('the ScaledObject validates against KEDA\'s schema and sizes the pool Deployment on the task backlog', () => {
      expect(() => new keda.ScaledObject(so).validate()).not.toThrow()
      const broken = structuredClone(so)
      broken.spec.minReplicaCount = 'one'
      expect(() => new keda.ScaledObject(broken).validate()).toThrow()
      expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'p2p-pool' })
      expect(so.spec.triggers).toHaveLength(1)
      expect(so.spec.triggers[0].type).toBe('prometheus')
      expect(so.spec.triggers[0].metadata.query).toMatch(/^sum\(p2p_task_backlog\{/)
    })

    it('its threshold is what one pool worker takes at once, for every capability the query counts', () => {
      const cm = prod.find(o => o.kind === 'ConfigMap' && o.metadata.name === pool.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name)
      const cfg = podConfig(cm.data['config.yaml'], { ...envOf(pool), POD_NAME: 'p2p-pool-x', POD_IP: '10.0.0.5' })
      expect(Number(so.spec.triggers[0].metadata.threshold)).toBe(cfg.tasks.maxConcurrency)
      for (const c of cfg.node.capabilities) expect(so.spec.triggers[0].metadata.query).toContain(c)
      // the pool is no failover member: the group's size must not move with it
      expect(cfg.failover.services).toEqual([])
      expect(cfg.node.drainTimeoutMs / 1000).toBeLessThan(pool.spec.template.spec.terminationGracePeriodSeconds)
      expect(pool.spec.template.spec.containers[0].lifecycle.preStop.exec.command).toEqual(['/app/p2p-node', 'drain', '--config', '/app/config.yaml'])
    })
  })

  it('production adds replicas, a pushed image and a ServiceMonitor', () => {
    const prod = render('production')
    expect(prod.find(o => o.kind === 'StatefulSet').spec.replicas).toBe(5)
    expect(prod.find(o => o.kind === 'StatefulSet').spec.template.spec.containers[0].image).toBe('registry.example.com/p2p-network:0.1.0')
    const sm = prod.find(o => o.kind === 'ServiceMonitor')
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' })
  })

  it('every overlay runs a private network with an API token from the Secret; the base alone refuses to start its workers', () => {
    for (const overlay of ['production', 'dev', 'multi-cluster']) {
      const objects = render(overlay)
      const configs = new Map(objects.filter(o => o.kind === 'ConfigMap').map(o => [o.metadata.name, o.data['config.yaml']]))
      const workloads = objects.filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet')
      expect(workloads).toHaveLength(overlay === 'production' ? 4 : 3)
      for (const wl of workloads) {
        const spec = wl.spec.template.spec
        const c = spec.containers.find((x: any) => x.name === 'p2p-node')
        const env = envOf(wl)
        const mounted = c.volumeMounts.some((m: any) => m.mountPath === '/app/secrets' && m.readOnly === true)
        const volume = spec.volumes.find((v: any) => v.secret?.secretName === 'p2p-network-secrets')
        expect({ overlay, name: wl.metadata.name, mounted, volume: volume != null, psk: env.P2P_PSK_FILE != null }).toEqual({ overlay, name: wl.metadata.name, mounted: true, volume: true, psk: true })
        const cfg = podConfig(configs.get(spec.volumes.find((v: any) => v.name === 'config').configMap.name)!, { POD_NAME: 'pod-0', POD_IP: '10.0.0.5', P2P_POD_INDEX: '0', P2P_DATA_DIR: '/data', ...env })
        expect(cfg.network.psk != null).toBe(true)
        expect(cfg.metrics.apiToken).toBe('a-token-of-more-than-16-characters')
      }
    }
    // without the component the failover group would be open to any pod that reaches a worker: the worker says so
    const base = render('base', 'k8s')
    const sts = base.find(o => o.kind === 'StatefulSet')
    const cm = base.find(o => o.kind === 'ConfigMap' && o.metadata.name === sts.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name)
    expect(() => podConfig(cm.data['config.yaml'], { ...envOf(sts), POD_NAME: 'p2p-worker-0', POD_IP: '10.0.0.5', P2P_POD_INDEX: '0' }))
      .toThrow(/failover\.services\.0\.members: service "singleton" has no members/)
  })
})
