// The autoscaling component proven on a local network (test/e2e/autoscaling.test.ts, bench/autoscale.mjs): a
// bootstrap takes a load step of slow tasks through its API; a real Prometheus scrapes every node; the
// ScaledObject's own query and threshold, read from the rendered production overlay, size a pool of workers
// through LocalAutoscaler (the HPA's rules); a scale-in drains the workers it removes (SIGTERM). Every task is
// followed to its end, and the handler's log shows each run (started and ended where it ran).
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { parse, parseAllDocuments } from 'yaml'
import { LocalAutoscaler, scalerFromScaledObject, type ScalerSpec, type ScalingStep } from './autoscaler.js'
import { Cluster, dnsAddr, ROOT, type TestNode } from './cluster.js'
import { Prometheus } from './prometheus.js'

export interface AutoscaleOptions {
  /** tasks per second during the step, each taking taskMs */
  rate: number
  taskMs: number
  loadSeconds: number
  /** the ScaledObject's times divided by this (15: a 15 s polling interval becomes 1 s) */
  timeScale: number
  scrapeIntervalMs: number
  /** how long to wait for the pool to come back to its minimum after the load */
  settleSeconds: number
  progress?: (msg: string) => void
}

export interface AutoscaleReport {
  spec: ScalerSpec
  /** the pool worker's tasks.max_concurrency, which the threshold must equal */
  poolConcurrency: number
  tasks: { accepted: number, refused: number, done: number, failed: number, runTwice: number, cutMidRun: number, errors: string[] }
  /** the most the HPA asked for, and the most workers the pool had at once */
  peakDesired: number
  peakReplicas: number
  /** workers started in all (min at the start included) and at the end */
  started: number
  finalReplicas: number
  /** ms from the load step to the first decision above min, to that worker ready, and from the load's end to min */
  scaleOut: { decidedMs?: number, readyMs?: number }
  scaleIn: { backAtMinMs?: number }
  /** each removed worker's exit code and the ms from SIGTERM to exit */
  drains: Array<{ code: number | null, ms: number }>
  /** scalings that failed */
  errors: string[]
  steps: ScalingStep[]
}

/** the component's ScaledObject and the pool's config, as kustomize renders the production overlay */
export function renderedAutoscaling (): { scaledObject: any, poolConfig: any } {
  const objects = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays/production')], { encoding: 'utf8' })).map(d => d.toJS())
  const scaledObject = objects.find(o => o.kind === 'ScaledObject')
  const pool = objects.find(o => o.kind === 'Deployment' && o.metadata.name === scaledObject.spec.scaleTargetRef.name)
  const cmName = pool.spec.template.spec.volumes.find((v: any) => v.name === 'config').configMap.name
  const poolConfig = parse(objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === cmName).data['config.yaml'])
  return { scaledObject, poolConfig }
}

function scaled (spec: ScalerSpec, k: number): ScalerSpec {
  const rules = (r: ScalerSpec['scaleUp']): ScalerSpec['scaleUp'] => ({ ...r, stabilizationMs: r.stabilizationMs / k, policies: r.policies.map(p => ({ ...p, periodMs: p.periodMs / k })) })
  return { ...spec, pollingMs: spec.pollingMs / k, scaleUp: rules(spec.scaleUp), scaleDown: rules(spec.scaleDown) }
}

export async function runAutoscale (opts: AutoscaleOptions): Promise<AutoscaleReport> {
  const say = opts.progress ?? (() => {})
  const { scaledObject, poolConfig } = renderedAutoscaling()
  const spec = scaled(scalerFromScaledObject(scaledObject), opts.timeScale)
  const poolConcurrency = poolConfig.tasks.max_concurrency
  const cluster = new Cluster()
  const log = join(cluster.dir, 'ran.log')
  writeFileSync(log, '')
  let prom: Prometheus | undefined
  let scaler: LocalAutoscaler | undefined
  const pool: TestNode[] = []
  const drains: AutoscaleReport['drains'] = []
  let made = 0
  let draining = 0
  let peak = 0
  try {
    // every task's record is kept until it is read back (the default keeps the last 1,000)
    const boot = cluster.add({ name: 'as-boot', role: 'bootstrap', extra: { tasks: { records_max: 20_000 } } })
    await boot.start()
    const host = async (n: TestNode): Promise<string> => new URL((await n.request('status') as any).metricsUrl).host
    const hosts = new Map<TestNode, string>()
    prom = await Prometheus.start(join(cluster.dir, 'prometheus'), { scrapeIntervalMs: opts.scrapeIntervalMs, targets: [await host(boot)] })
    const retarget = (): void => { prom!.setTargets([hosts.get(boot)!, ...pool.map(n => hosts.get(n)!).filter(Boolean)]) }
    hosts.set(boot, await host(boot))
    const ready = new Map<TestNode, number>()

    const addWorker = async (): Promise<void> => {
      const name = `as-pool-${made++}`
      const w = cluster.add({
        name, role: 'worker', capabilities: poolConfig.node.capabilities, bootstrap: [dnsAddr(boot)],
        extra: {
          node: { drain_timeout: '30s' },
          tasks: {
            max_concurrency: poolConcurrency,
            handlers: { slow: { command: ['sh', '-c', `echo "start ${name} $P2P_TASK_ID" >> ${log}; sleep ${opts.taskMs / 1000}; echo "end ${name} $P2P_TASK_ID" >> ${log}; cat`], capability: 'compute', timeout: '60s' } }
          }
        }
      })
      pool.push(w)
      peak = Math.max(peak, pool.length)
      await w.start()
      hosts.set(w, await host(w))
      retarget()
      // ready as the kubelet sees it: /readyz answers 200
      await pWaitFor(async () => (await fetch(`http://${hosts.get(w)!}/readyz`).catch(() => undefined))?.ok === true, { interval: 100, timeout: 60_000 })
      ready.set(w, Date.now())
      say(`${name} ready (${pool.length} in the pool)`)
    }
    const removeWorker = async (): Promise<void> => {
      // a Deployment's scale-in removes the newest pod first
      const w = pool.pop()
      if (w == null) return
      draining++
      const t0 = Date.now()
      say(`${w.spec.name} told to leave (SIGTERM: it drains)`)
      w.kill('SIGTERM')
      const e = await w.exit!
      drains.push({ code: e.code, ms: Date.now() - t0 })
      draining--
      retarget()
    }
    const scaleTo = async (n: number): Promise<void> => {
      // addWorker puts its worker in the pool before its first await
      const adds: Array<Promise<void>> = []
      while (pool.length < n) adds.push(addWorker())
      await Promise.all(adds)
      const removes: Array<Promise<void>> = []
      while (pool.length > n) removes.push(removeWorker())
      await Promise.all(removes)
    }
    await scaleTo(spec.min)
    const metric = async (q: string): Promise<number | undefined> => {
      const r = await prom!.query(q)
      return r.length === 0 ? undefined : Number(r[0].value[1])
    }
    // the pool at rest is seen before the step
    await pWaitFor(async () => (await metric(spec.query)) === 0, { interval: 200, timeout: 60_000 })
    scaler = new LocalAutoscaler(spec, { query: metric, scaleTo, initial: spec.min })
    scaler.start()

    const api = hosts.get(boot)!
    const ids: string[] = []
    const errors: string[] = []
    let refused = 0
    let n = 0
    const submit = async (): Promise<void> => {
      const res = await fetch(`http://${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'slow', payload: `as ${n++}`, wait: false, timeout: '120s', retries: 5 }) })
      const body = await res.json() as any
      if (res.status === 202) ids.push(body.id)
      else { refused++; errors.push(`${res.status} ${body.error}`) }
    }
    say(`load step: ${opts.rate} tasks/s of ${opts.taskMs} ms for ${opts.loadSeconds} s (threshold ${spec.threshold} per worker, polling ${spec.pollingMs} ms)`)
    const step = Date.now()
    const pending: Array<Promise<void>> = []
    const load = setInterval(() => { pending.push(submit().catch(err => { refused++; errors.push(String(err.message)) })) }, 1000 / opts.rate)
    await new Promise(resolve => setTimeout(resolve, opts.loadSeconds * 1000))
    clearInterval(load)
    await Promise.all(pending)
    const loadEnd = Date.now()

    const states = new Map<string, any>()
    const ended = (id: string): boolean => ['done', 'failed', 'cancelled'].includes(states.get(id)?.state)
    await pWaitFor(async () => {
      for (const id of ids) if (!ended(id)) states.set(id, await (await fetch(`http://${api}/api/tasks/${id}`)).json())
      return ids.every(ended)
    }, { interval: 500, timeout: 300_000 })
    say(`every task ended; waiting for the pool to come back to ${spec.min}`)
    const atMin = await pWaitFor(() => scaler!.wanted === spec.min && pool.length === spec.min && draining === 0, { interval: 200, timeout: opts.settleSeconds * 1000 }).then(() => Date.now(), () => undefined)
    await scaler.stop()

    const firstUp = scaler.steps.find(s => s.at >= step && s.desired > spec.min)
    const firstNew = [...ready.entries()].filter(([, at]) => at >= step).map(([, at]) => at).sort((a, b) => a - b)[0]
    const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map(l => l.split(' '))
    const starts = new Map<string, string[]>()
    const ends = new Map<string, string[]>()
    for (const [what, who, id] of lines) {
      const m = what === 'start' ? starts : ends
      m.set(id, [...(m.get(id) ?? []), who])
    }
    const failed = ids.filter(id => states.get(id).state !== 'done')
    return {
      spec,
      poolConcurrency,
      tasks: {
        accepted: ids.length,
        refused,
        done: ids.length - failed.length,
        failed: failed.length,
        runTwice: ids.filter(id => (starts.get(id) ?? []).length > 1).length,
        cutMidRun: ids.filter(id => (starts.get(id) ?? []).some(w => !(ends.get(id) ?? []).includes(w))).length,
        errors: [...new Set([...errors, ...failed.map(id => String(states.get(id).error))])].slice(0, 5)
      },
      peakDesired: Math.max(...scaler.steps.map(s => s.desired)),
      peakReplicas: peak,
      started: made,
      finalReplicas: pool.length,
      scaleOut: { decidedMs: firstUp != null ? firstUp.at - step : undefined, readyMs: firstNew != null ? firstNew - step : undefined },
      scaleIn: { backAtMinMs: atMin != null ? atMin - loadEnd : undefined },
      drains,
      errors: scaler.errors,
      steps: scaler.steps
    }
  } finally {
    await scaler?.stop()
    await prom?.stop()
    await cluster.teardown()
  }
}
