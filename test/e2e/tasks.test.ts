import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, runCli, type TestNode } from '../harness/cluster.js'
import { sseFrames } from '../harness/sse.js'

function iteratedSha256 (payload: string, n: number): string {
  let d = createHash('sha256').update(payload).digest()
  for (let i = 1; i < n; i++) d = createHash('sha256').update(d).digest()
  return d.toString('hex')
}

describe('distributed tasks', () => {
  const cluster = new Cluster()
  // digits only: it is also a fractional sleep argument that names the hung process
  const marker = `${process.pid}${Date.now() % 100000}`
  let boot: TestNode
  let w: TestNode[]
  const handlers = {
    upper: { command: ['tr', 'a-z', 'A-Z'], capability: 'text' },
    cat: { command: ['cat'], capability: 'text' },
    fail: { command: ['sh', '-c', 'echo something broke >&2; exit 3'], capability: 'text' },
    hang: { command: ['sleep', `61.${marker}`], capability: 'text', timeout: '700ms' },
    flood: { command: ['yes'], capability: 'text', max_output: '4KiB' }
  }

  beforeAll(async () => {
    boot = cluster.add({ name: 't-boot', role: 'bootstrap', mesh: false, extra: { tasks: { max_payload: '64KiB' } } })
    await boot.start()
    w = [
      cluster.add({ name: 't-w1', role: 'worker', capabilities: ['compute', 'storage', 'text'], bootstrap: [dnsAddr(boot)], extra: { tasks: { handlers } } }),
      cluster.add({ name: 't-w2', role: 'worker', capabilities: ['compute', 'storage'], bootstrap: [dnsAddr(boot)] }),
      cluster.add({ name: 't-w3', role: 'worker', capabilities: ['storage'], bootstrap: [dnsAddr(boot)] })
    ]
    await Promise.all(w.map(async n => { await n.start() }))
    // the bootstrap submits; wait until it knows every worker's task types
    await pWaitFor(async () => {
      const caps = await boot.request('capabilities') as any
      return caps.taskTypes.echo === 3 && caps.taskTypes.compute === 2 && caps.taskTypes['storage.put'] === 3 && caps.taskTypes.upper === 1
    }, { interval: 200, timeout: 60_000 })
  })
  afterAll(async () => { await cluster.teardown() })

  const task = async (...args: string[]): Promise<any> => await boot.request('task', args)

  it('echo returns the payload and says which worker ran it', async () => {
    const r = await task('echo', 'hello world')
    expect(r).toMatchObject({ type: 'echo', state: 'done', attempts: 1 })
    expect(r.results[0]).toMatchObject({ ok: true, output: 'hello world', attempts: 1 })
    expect(w.map(n => n.peerId)).toContain(r.results[0].worker)
  })

  it('compute returns a verifiable iterated SHA-256, on a compute worker, and pays the reward', async () => {
    const r = await task('compute', 'test_payload', '--cost', '5000', '--reward', '7')
    const out = JSON.parse(r.results[0].output)
    expect(out).toEqual({ algorithm: 'sha256-iterated', iterations: 5000, digest: iteratedSha256('test_payload', 5000) })
    expect([w[0].peerId, w[1].peerId]).toContain(r.results[0].worker)
    expect(r.results[0].reward).toBe(7)
    const ran = w.find(n => n.peerId === r.results[0].worker)!
    const status = await ran.request('status') as any
    expect(status.rewards.byType.compute.credits).toBeGreaterThanOrEqual(7)
    expect(await ran.metrics()).toMatch(/^p2p_rewards_earned_total\{type="compute"\} [1-9]/m)
  })

  it('broadcast runs on every capable worker, one result each', async () => {
    const r = await task('echo', 'all', '--broadcast')
    expect(r.results.map((x: any) => x.worker).sort()).toEqual(w.map(n => n.peerId).sort())
    expect(r.results.every((x: any) => x.ok && x.output === 'all')).toBe(true)
  })

  it('configured handlers get the payload on stdin and never through a shell', async () => {
    expect((await task('upper', 'shout')).results[0].output).toBe('SHOUT')
    const evil = `$(touch /tmp/pwned-${marker}); \`touch /tmp/pwned-${marker}\`; echo hi > /tmp/pwned-${marker}`
    expect((await task('cat', evil)).results[0].output).toBe(evil)
    expect(existsSync(`/tmp/pwned-${marker}`)).toBe(false)
  })

  it('a handler that fails, hangs or floods is a clean task error', async () => {
    const fail = await task('fail', 'x')
    expect(fail).toMatchObject({ state: 'failed' })
    expect(fail.results[0].error).toMatch(/exited with 3: something broke/)
    const hang = await task('hang', 'x', '--retries', '0')
    expect(hang.state).toBe('failed')
    expect(hang.results[0].error).toMatch(/timed out/)
    // the hung process group is gone
    await pWaitFor(() => { try { execFileSync('pgrep', ['-f', `sleep 61.${marker}`]); return false } catch { return true } }, { interval: 100, timeout: 10_000 })
    const flood = await task('flood', 'x')
    expect(flood.state).toBe('failed')
    expect(flood.results[0].error).toMatch(/output larger than 4096 bytes/)
    // the worker is still fine
    expect((await task('upper', 'still here')).results[0].output).toBe('STILL HERE')
  })

  it('rejects at once what cannot run: unknown type, missing capability, payload too large', async () => {
    await expect(task('no-such-type', 'x', '--timeout', '60s')).rejects.toThrow(/no live worker offers task type "no-such-type" \(offered: .*echo/)
    await expect(task('echo', 'x', '--capability', 'gpu')).rejects.toThrow(/no live worker offers task type "echo" with capability "gpu"/)
    await expect(task('echo', 'x'.repeat(70_000))).rejects.toThrow(/payload is 70000 bytes; the limit is 65536/)
    const cli = await runCli(['task', 'no-such-type', 'x', '--config', boot.configFile])
    expect(cli.code).toBe(2)
    expect(cli.stderr).toMatch(/no live worker offers task type/)
  })

  it('storage: put stores on two workers; get works from anywhere, even after the first holder dies', async () => {
    const put = await task('storage.put', 'precious bytes')
    const { hash, replicas } = JSON.parse(put.results[0].output)
    expect(hash).toBe(createHash('sha256').update('precious bytes').digest('hex'))
    expect(replicas).toBe(2)
    const holders = w.filter(n => existsSync(join(n.dataDir, 'blobs', hash)))
    expect(holders.length).toBe(2)
    holders[0].kill('SIGKILL')
    await holders[0].exit
    const get = await task('storage.get', hash, '--timeout', '3s', '--retries', '5')
    expect(get.results[0]).toMatchObject({ ok: true, output: 'precious bytes' })
    const missing = await task('storage.get', 'ab'.repeat(32), '--timeout', '3s')
    expect(missing.state).toBe('failed')
    expect(missing.results[0].error).toMatch(/not stored here \(no worker has it\)/)
    await holders[0].start()
  })

  it('GET /api/events streams the node\'s task events as SSE, and a reconnect with Last-Event-ID gets what it missed', async () => {
    const { metricsUrl } = await boot.request('status') as any
    type Frame = { id: number, event: string, data: any }
    /** opens the event stream (subscribed once its headers are here); `frames` reads until `until` says stop */
    const open = async (headers: Record<string, string>) => {
      const ac = new AbortController()
      const res = await fetch(`${metricsUrl}/api/events`, { headers, signal: ac.signal })
      expect(res.headers.get('content-type')).toBe('text/event-stream')
      return {
        frames: async (until: (frames: Frame[]) => boolean): Promise<Frame[]> => {
          const frames: Frame[] = []
          const timer = setTimeout(() => { ac.abort() }, 30_000)
          try {
            for await (const f of sseFrames(res)) {
              if (f.id != null) frames.push({ ...f, id: f.id })
              if (until(frames)) break
            }
          } finally {
            clearTimeout(timer)
            ac.abort()
          }
          return frames
        }
      }
    }
    const read = async (headers: Record<string, string>, until: (frames: Frame[]) => boolean): Promise<Frame[]> => await (await open(headers)).frames(until)
    const live = await open({})
    const r = await (await fetch(`${metricsUrl}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', payload: 'streamed' }) })).json()
    const frames = await live.frames(f => f.some(x => x.event === 'task' && x.data.state === 'done' && x.data.id === r.id))
    const mine = frames.filter(f => f.event === 'task' && f.data.id === r.id)
    expect(mine.map(f => f.data.state)).toEqual(['pending', 'running', 'done'])
    // a client that saw only the first of them reconnects: the rest come again, in order, nothing twice
    const again = await read({ 'last-event-id': String(mine[0].id) }, f => f.some(x => x.id === mine[2].id))
    expect(again.filter(f => f.data.id === r.id).map(f => f.data.state)).toEqual(['running', 'done'])
    expect(again[0].id).toBe(mine[0].id + 1)
    // and the node's own history: a sample every 10 s
    let history: any[] = []
    await pWaitFor(async () => { history = await (await fetch(`${metricsUrl}/api/history`)).json(); return history.length > 0 }, { interval: 500, timeout: 20_000 })
    expect(history[0].connections).toBeGreaterThan(0)
    expect(history[0].rssBytes).toBeGreaterThan(10 * 1024 ** 2)
    expect(history[0].messagesPerSecond).toBeGreaterThan(0)
    // and its latest log lines, filtered by level
    const { pid } = await boot.request('status') as any
    const all = await (await fetch(`${metricsUrl}/api/logs`)).json()
    const info = await (await fetch(`${metricsUrl}/api/logs?level=info`)).json()
    expect(all.length).toBeGreaterThan(0)
    expect(all.filter((l: any) => l.pid !== pid || typeof l.msg !== 'string').slice(0, 3)).toEqual([])
    expect(info.every((l: any) => l.level >= 30)).toBe(true)
    expect(info.length).toBeLessThan(all.length)
  })

  it('the HTTP API takes a task and answers with its result or its id to poll', async () => {
    const { metricsUrl } = await boot.request('status') as any
    const post = async (body: unknown): Promise<Response> => await fetch(`${metricsUrl}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const now = await post({ type: 'echo', payload: 'over http' })
    expect(now.status).toBe(200)
    expect((await now.json()).results[0].output).toBe('over http')
    const later = await post({ type: 'compute', payload: 'p', cost: 1000, wait: false })
    expect(later.status).toBe(202)
    const { id, url } = await later.json()
    let final: any
    await pWaitFor(async () => { final = await (await fetch(`${metricsUrl}${url}`)).json(); return final.state === 'done' }, { interval: 100, timeout: 30_000 })
    expect(final.id).toBe(id)
    expect(JSON.parse(final.results[0].output).digest).toBe(iteratedSha256('p', 1000))
    expect((await post({ type: 'nope' })).status).toBe(422)
    expect((await post({ type: 'echo', payload: 1 })).status).toBe(400)
    expect((await fetch(`${metricsUrl}/api/tasks/unknown-id`)).status).toBe(404)
    const list = await runCli(['tasks', '--config', boot.configFile, '--json'])
    expect(JSON.parse(list.stdout).some((t: any) => t.id === id && t.state === 'done')).toBe(true)
  })

  it('runs a task piped into p2p-node attached to a worker, and one-shot with --json', async () => {
    const piped = await runCli(['--config', w[0].configFile], 'task compute test_payload\ntasks\n')
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout).toContain(iteratedSha256('test_payload', 10_000))
    expect(piped.stdout).toMatch(/^ok\s+t-w\d/m)
    const one = await runCli(['task', 'echo', 'one shot', '--config', w[1].configFile, '--json'])
    expect(one.code, one.stderr).toBe(0)
    expect(JSON.parse(one.stdout)).toMatchObject({ state: 'done', results: [{ ok: true, output: 'one shot' }] })
    const failed = await runCli(['task', 'fail', 'x', '--config', w[0].configFile])
    expect(failed.code).toBe(1)
  })

  it('counts tasks in the submitter\'s and the workers\' metrics', async () => {
    const m = await boot.metrics()
    expect(m).toMatch(/^p2p_tasks_submitted_total\{type="echo"\} [1-9]/m)
    expect(m).toMatch(/^p2p_tasks_completed_total\{type="echo",outcome="ok"\} [1-9]/m)
    expect(m).toMatch(/^p2p_task_duration_seconds_count\{type="echo"\} [1-9]/m)
    const wm = await w[1].metrics()
    expect(wm).toMatch(/^p2p_task_queue_depth 0$/m)
    expect(wm).toMatch(/^p2p_tasks_running 0$/m)
  })
})
