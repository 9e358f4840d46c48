// Pods from rendered manifests as real Podman containers, run the way the kubelet runs them: the container's
// args, env (values, and fieldRefs filled in: metadata.name, metadata.namespace, status.podIP, the pod-index
// label), ConfigMaps and Secrets mounted where the manifest mounts them (subPath, read-only, defaultMode; owned
// by fsGroup), emptyDir and volumeClaimTemplate volumes, the securityContext (user and group, read-only root,
// dropped capabilities, no privilege escalation), Services as network aliases (a StatefulSet pod also as
// <pod>.<serviceName>), the startup, readiness and liveness probes (HTTP, their periods, timeouts and
// thresholds; a failed liveness restarts the container), `kubectl exec`, and deletion as the kubelet does it:
// the preStop hook, then SIGTERM, then SIGKILL when terminationGracePeriodSeconds is up. Used by
// test/e2e/containers.test.ts; needs root and Podman (scripts/podman-env.sh).
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { podman, podmanQuiet } from './containers.js'

export interface Pod {
  name: string
  workload: any
  ip: string
  ready: boolean
  started: boolean
  restarts: number
  /** ms from `podman run` to the first ready probe */
  readyAfterMs?: number
  probes?: NodeJS.Timeout[]
  /** deleted: its probes stop */
  gone?: boolean
}

export interface Termination { pod: string, preStopMs: number, exitCode: number, totalMs: number, killed: boolean }

const ns = (o: any): string => o.metadata.namespace ?? 'default'

export class Kubelet {
  readonly pods = new Map<string, Pod>()
  private nextIp = 10

  /**
   * @param objects the rendered manifests (kubectl kustomize)
   * @param opts.image the image every p2p-node container runs (the manifests' tag, built here)
   * @param opts.subnet a /24 for the pods' network, three octets ("198.18.0", the benchmarking range: it is on no real
   *   network, and the bridge exists only on this machine): addresses the kubelet hands out
   * @param opts.secrets Secret name -> a folder holding its keys as files
   */
  constructor (private readonly objects: any[], private readonly opts: { image: string, network: string, subnet: string, dir: string, secrets: Record<string, string> }) {}

  async createNetwork (): Promise<void> {
    await this.removeAll()
    await podmanQuiet(['network', 'rm', '-f', this.opts.network])
    await podman(['network', 'create', '--subnet', `${this.opts.subnet}.0/24`, this.opts.network])
  }

  /** the pod names a workload has: <name>-<ordinal> for a StatefulSet, <name>-<hash>-<suffix> for a Deployment */
  podNames (workload: any): string[] {
    if (workload.kind === 'StatefulSet') return Array.from({ length: workload.spec.replicas }, (_, i) => `${workload.metadata.name}-${i}`)
    return Array.from({ length: workload.spec.replicas ?? 1 }, (_, i) => `${workload.metadata.name}-5d8f7c9b4-${'abcdefgh'[i]}x2q`)
  }

  workloads (): any[] { return this.objects.filter(o => o.kind === 'Deployment' || o.kind === 'StatefulSet') }
  workload (name: string): any { return this.workloads().find(w => w.metadata.name === name) }

  /** the names this pod answers to in cluster DNS: each Service that selects it, short and long */
  private aliases (name: string, workload: any): string[] {
    const labels = workload.spec.template.metadata.labels
    const out: string[] = []
    for (const svc of this.objects.filter(o => o.kind === 'Service' && o.spec.selector != null)) {
      if (!Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v)) continue
      out.push(svc.metadata.name, `${svc.metadata.name}.${ns(svc)}.svc.cluster.local`)
      if (workload.kind === 'StatefulSet' && workload.spec.serviceName === svc.metadata.name) out.push(`${name}.${svc.metadata.name}.${ns(svc)}.svc.cluster.local`)
    }
    return out
  }

  /** creates the pod's container and starts its probes; resolves once it runs (not once it is ready) */
  async run (name: string, workload: any): Promise<Pod> {
    const spec = workload.spec.template.spec
    const c = spec.containers[0]
    const prior = this.pods.get(name)
    const ip = prior?.ip ?? `${this.opts.subnet}.${this.nextIp++}`
    const pod: Pod = { name, workload, ip, ready: false, started: false, restarts: 0 }
    const ordinal = workload.kind === 'StatefulSet' ? name.split('-').at(-1)! : undefined
    const field = (path: string): string => {
      if (path === 'metadata.name') return name
      if (path === 'metadata.namespace') return ns(workload)
      if (path === 'status.podIP') return ip
      if (path === "metadata.labels['apps.kubernetes.io/pod-index']" && ordinal != null) return ordinal
      throw new Error(`kubelet: fieldRef ${path} is not filled in here`)
    }
    const args = ['run', '-d', '--name', name, '--hostname', name, '--network', this.opts.network, '--ip', ip, '--pull=never']
    for (const a of this.aliases(name, workload)) args.push('--network-alias', a)
    for (const e of c.env ?? []) {
      const value = e.value ?? (e.valueFrom?.fieldRef != null ? field(e.valueFrom.fieldRef.fieldPath) : undefined)
      if (value == null) throw new Error(`kubelet: env ${e.name} of ${name} is neither a value nor a fieldRef`)
      args.push('-e', `${e.name}=${value}`)
    }
    const sc = { ...spec.securityContext, ...c.securityContext }
    if (sc.runAsUser != null) args.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`)
    if (sc.readOnlyRootFilesystem === true) args.push('--read-only')
    if ((sc.capabilities?.drop ?? []).includes('ALL')) args.push('--cap-drop', 'ALL')
    if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges')
    const owner = spec.securityContext?.fsGroup ?? sc.runAsUser ?? 0
    const volumes = new Map<string, any>([
      ...(spec.volumes ?? []).map((v: any) => [v.name, v] as const),
      ...(workload.spec.volumeClaimTemplates ?? []).map((t: any) => [t.metadata.name, { name: t.metadata.name, claim: true }] as const)
    ])
    for (const m of c.volumeMounts ?? []) {
      const v = volumes.get(m.name)
      if (v == null) throw new Error(`kubelet: ${name} mounts ${m.name}, which is not a volume`)
      const ro = m.readOnly === true ? ':ro' : ''
      if (v.configMap != null || v.secret != null) {
        const dir = join(this.opts.dir, name, m.name)
        mkdirSync(dir, { recursive: true })
        if (v.configMap != null) {
          const cm = this.objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name)
          if (cm == null) throw new Error(`kubelet: ConfigMap ${v.configMap.name} is not in the manifests`)
          for (const [k, data] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, k), data, { mode: 0o644 })
        } else {
          const from = this.opts.secrets[v.secret.secretName]
          if (from == null) throw new Error(`kubelet: Secret ${v.secret.secretName} does not exist (create it first)`)
          for (const k of readdirSync(from)) {
            copyFileSync(join(from, k), join(dir, k))
            chmodSync(join(dir, k), v.secret.defaultMode ?? 0o644)
            chownSync(join(dir, k), sc.runAsUser ?? 0, owner)
          }
          chmodSync(dir, 0o755)
        }
        args.push('-v', `${m.subPath != null ? join(dir, m.subPath) : dir}:${m.mountPath}${ro}`)
      } else if (v.emptyDir != null || v.claim === true) {
        // a claim outlives its pod (<claim>-<pod>, as a StatefulSet names it); an emptyDir goes with it
        args.push('-v', `${v.claim === true ? `${m.name}-${name}` : `${name}-${m.name}-empty`}:${m.mountPath}${ro}`)
      } else {
        throw new Error(`kubelet: volume ${m.name} of ${name} is of a kind not run here`)
      }
    }
    args.push(this.opts.image, ...(c.command ?? []), ...(c.args ?? []))
    await podmanQuiet(['rm', '-f', name])
    await podmanQuiet(['volume', 'rm', '-f', ...(c.volumeMounts ?? []).map((m: any) => `${name}-${m.name}-empty`)])
    const started = Date.now()
    await podman(args)
    this.pods.set(name, pod)
    this.probe(pod, started)
    return pod
  }

  /** GET on the pod's port, as the kubelet probes: a 2xx or 3xx within timeoutSeconds passes */
  private async check (pod: Pod, probe: any): Promise<boolean> {
    const c = pod.workload.spec.template.spec.containers[0]
    const port = typeof probe.httpGet.port === 'number' ? probe.httpGet.port : c.ports.find((p: any) => p.name === probe.httpGet.port).containerPort
    try {
      const res = await fetch(`http://${pod.ip}:${port}${probe.httpGet.path}`, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) })
      return res.status >= 200 && res.status < 400
    } catch { return false }
  }

  /**
   * The kubelet's probes: the startup probe first (asked every 100 ms here, so the time to ready is the node's, not
   * the probe period's), then readiness and liveness at their periods and thresholds. A container that fails its
   * startup probe for periodSeconds x failureThreshold, or its liveness probe failureThreshold times in a row, is
   * restarted (with the grace period) and probed from the start again.
   */
  private probe (pod: Pod, runAt: number): void {
    const c = pod.workload.spec.template.spec.containers[0]
    const timers: NodeJS.Timeout[] = []
    pod.probes = timers
    pod.started = false
    const live = (): boolean => !pod.gone && pod.probes === timers
    const every = (probe: any, ms: number, fn: (ok: boolean) => void): void => {
      timers.push(setInterval(() => { void this.check(pod, probe).then(ok => { if (live()) fn(ok) }) }, ms))
    }
    const restart = (graceSeconds: number): void => {
      for (const t of timers) clearInterval(t)
      pod.restarts++
      pod.ready = false
      void podmanQuiet(['restart', '-t', String(graceSeconds), pod.name]).then(() => { if (!pod.gone) this.probe(pod, Date.now()) })
    }
    const startup = c.startupProbe ?? c.livenessProbe
    const readiness = c.readinessProbe
    let readyFails = 0
    let readyPasses = 0
    let liveFails = 0
    const checkReady = (ok: boolean): void => {
      if (ok) {
        readyFails = 0
        if (++readyPasses >= (readiness.successThreshold ?? 1) && !pod.ready) { pod.ready = true; pod.readyAfterMs ??= Date.now() - runAt }
      } else {
        readyPasses = 0
        if (++readyFails >= (readiness.failureThreshold ?? 3)) pod.ready = false
      }
    }
    every(startup, 100, ok => {
      if (pod.started) return
      if (!ok) {
        if (Date.now() - runAt > (startup.periodSeconds ?? 10) * 1000 * (startup.failureThreshold ?? 3)) restart(0)
        return
      }
      pod.started = true
      clearInterval(timers[0])
      void this.check(pod, readiness).then(ok => { if (live()) checkReady(ok) })
      every(readiness, (readiness.periodSeconds ?? 10) * 1000, checkReady)
      every(c.livenessProbe, (c.livenessProbe.periodSeconds ?? 10) * 1000, ok => {
        if (ok) { liveFails = 0; return }
        if (++liveFails >= (c.livenessProbe.failureThreshold ?? 3)) restart(pod.workload.spec.template.spec.terminationGracePeriodSeconds ?? 30)
      })
    })
  }

  /** `kubectl exec`: runs argv in the pod's container; `input` goes to its standard input */
  async exec (pod: string, argv: string[], input?: string, timeoutMs?: number): Promise<string> {
    return await podman(['exec', ...(input != null ? ['-i'] : []), pod, ...argv], { input, timeoutMs })
  }

  /**
   * Deletes a pod as the kubelet does: the preStop exec hook (within the grace period), then SIGTERM, then, when
   * terminationGracePeriodSeconds has passed since the start, SIGKILL. Resolves with how it ended.
   */
  async delete (name: string): Promise<Termination> {
    const pod = this.pods.get(name)
    if (pod == null) throw new Error(`kubelet: no pod ${name}`)
    pod.gone = true
    for (const t of pod.probes ?? []) clearInterval(t)
    pod.ready = false
    const spec = pod.workload.spec.template.spec
    const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000
    const t0 = Date.now()
    const preStop = spec.containers[0].lifecycle?.preStop?.exec?.command
    if (preStop != null) await podman(['exec', name, ...preStop], { timeoutMs: grace }).catch(() => {})
    const preStopMs = Date.now() - t0
    const left = Math.max(0, Math.floor((grace - preStopMs) / 1000))
    await podman(['stop', '-t', String(left), name], { timeoutMs: grace + 30_000 })
    const state = JSON.parse(await podman(['inspect', name, '--format', '{{json .State}}']))
    this.pods.delete(name)
    return { pod: name, preStopMs, exitCode: state.ExitCode, totalMs: Date.now() - t0, killed: state.ExitCode === 137 }
  }

  /** what the pod's container printed (its log: the node logs to stderr) */
  async logs (name: string): Promise<string> { return await podman(['logs', name], { withStderr: true }) }

  async removeAll (): Promise<void> {
    for (const p of this.pods.values()) { p.gone = true; for (const t of p.probes ?? []) clearInterval(t) }
    const names = (await podman(['ps', '-a', '--filter', `network=${this.opts.network}`, '--format', '{{.Names}}']).catch(() => '')).split('\n').filter(Boolean)
    for (const n of names) await podmanQuiet(['rm', '-f', '-t', '0', n])
    const vols = (await podman(['volume', 'ls', '--format', '{{.Name}}']).catch(() => '')).split('\n').filter(Boolean)
    const ours = vols.filter(v => this.workloads().some(w => v.includes(w.metadata.name)))
    if (ours.length > 0) await podmanQuiet(['volume', 'rm', '-f', ...ours])
    this.pods.clear()
  }
}
