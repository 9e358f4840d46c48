// Tasks users can steer: cancel (queued, running, broadcast), follow (CLI and SSE), JavaScript module handlers
// (throw, hang, out of memory), durable records with resume after kill -9, and a queue fair among submitters.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, LAUNCHER, type TestNode } from '../harness/cluster.js'
import { sseFrames } from '../harness/sse.js'

/** the pids of processes whose command line contains `pattern` (pgrep -f), none when there are none */
function pids (pattern: string): number[] {
  try { return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number) } catch { return [] }
}

/** a process that is gone or a zombie (dead, waiting to be reaped by whoever its parent now is) */
function dead (pid: number): boolean {
  try { return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return true }
}

describe('tasks users can steer', () => {
  const cluster = new Cluster()
  // digits only: it is also a fractional sleep argument that names the processes of this run
  const marker = `${process.pid}${Date.now() % 100000}`
  const dir = cluster.dir
  let boot: TestNode
  let w1: TestNode
  let w2: TestNode
  let api: string

  const modules: Record<string, string> = {
    'throws.mjs': 'export async function run () { throw new Error("no thumbnails today") }',
    'hangs.mjs': 'export async function run () { for (;;) {} }',
    'big.mjs': 'export async function run () { return "y".repeat(100000) }',
    'hog.mjs': 'export async function run () { const keep = []; for (;;) keep.push({ a: Math.random(), b: "x".repeat(64) + keep.length }) }',
    'works.mjs': `export async function run (payload, ctx) {
      for (let i = 1; i <= 3; i++) { ctx.progress('step ' + i); await new Promise(r => setTimeout(r, 50)) }
      ctx.log.info('done with it', { n: payload.length })
      return { taskId: ctx.taskId, got: new TextDecoder().decode(payload), params: ctx.params, aborted: ctx.signal.aborted }
    }`,
    'gated.mjs': `import { existsSync } from 'node:fs'
      export async function run (payload, ctx) {
        ctx.progress('first')
        while (!existsSync(${JSON.stringify(dir)} + '/go.' + ctx.taskId)) await new Promise(r => setTimeout(r, 50))
        ctx.progress('second')
        return 'finished'
      }`
  }
  for (const [name, text] of Object.entries(modules)) writeFileSync(join(dir, name), text)

  const sleeper = (tag: string): Record<string, unknown> => ({
    // the shell writes its pid (= the process group) and waits on a child: cancel must kill both
    command: ['sh', '-c', `echo $$ > ${dir}/pid.$P2P_TASK_ID; sleep 60.${marker}${tag} & wait`], timeout: '5m'
  })
  const shared = {
    sleeper: { ...sleeper('1'), capability: 'text' },
    gated: { command: ['sh', '-c', `echo first; while [ ! -e ${dir}/go.$P2P_TASK_ID ]; do sleep 0.05; done; echo second`], capability: 'text' },
    once: { command: ['sh', '-c', `echo $P2P_TASK_ID >> ${dir}/ran.log; sleep 0.2; echo ran`], capability: 'text' }
  }

  beforeAll(async () => {
    boot = cluster.add({ name: 's-boot', role: 'bootstrap', mesh: false, extra: { tasks: { max_payload: '16MiB' } } })
    await boot.start()
    // the same address after a restart (the kill -9 test), as a real bootstrap has
    const port = boot.port
    boot.updateConfig(c => { c.node.listen_port = port })
    w1 = cluster.add({
      name: 's-w1', role: 'worker', capabilities: ['text', 'js', 'compute'], bootstrap: [dnsAddr(boot)],
      extra: {
        tasks: {
          // small, so the test below can push records out
          records_max: 10,
          // room for the 12 MB answer of the chatty handler
          max_payload: '16MiB',
          handlers: {
            ...shared,
            'js.throws': { module: join(dir, 'throws.mjs'), capability: 'js' },
            'js.hangs': { module: join(dir, 'hangs.mjs'), capability: 'js', timeout: '1500ms' },
            'js.hog': { module: join(dir, 'hog.mjs'), capability: 'js', max_memory: '32MiB', timeout: '60s' },
            'js.works': { module: join(dir, 'works.mjs'), capability: 'js', threads: 1 },
            'js.big': { module: join(dir, 'big.mjs'), capability: 'js', max_output: '64KiB' },
            // 450,000 lines at once, more than a stream takes: the worker drops output frames instead of buffering them
            gush: { command: ['sh', '-c', 'yes | head -c 900000'], capability: 'js', timeout: '2m' },
            // 1,500 lines of 8 KB, one by one (12 MB), for a reader that never reads
            chatty: { command: ['sh', '-c', "for i in $(seq 1 1500); do head -c 8000 /dev/zero | tr '\\0' x; echo; done"], capability: 'js', timeout: '2m', max_output: '16MiB' },
            'js.gated': { module: join(dir, 'gated.mjs'), capability: 'js' }
          }
        }
      }
    })
    // one slot: the second task waits in its queue
    w2 = cluster.add({
      name: 's-w2', role: 'worker', capabilities: ['text', 'solo'], bootstrap: [dnsAddr(boot)],
      extra: { tasks: { max_concurrency: 1, handlers: { ...shared, solo: { ...sleeper('2'), capability: 'solo' }, slowecho: { command: ['sh', '-c', 'sleep 0.05; cat'], capability: 'solo' } } } }
    })
    await Promise.all([w1.start(), w2.start()])
    await pWaitFor(async () => {
      const caps = await boot.request('capabilities') as any
      return caps.taskTypes.sleeper === 2 && caps.taskTypes.solo === 1 && caps.taskTypes['js.works'] === 1
    }, { interval: 200, timeout: 60_000 })
    api = (await boot.request('status') as any).metricsUrl
  })
  afterAll(async () => { await cluster.teardown() })

  const post = async (body: unknown, node = api): Promise<any> => await (await fetch(`${node}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()
  const del = async (id: string): Promise<{ status: number, body: any }> => {
    const res = await fetch(`${api}/api/tasks/${id}`, { method: 'DELETE' })
    return { status: res.status, body: await res.json() }
  }
  const pidOf = async (id: string): Promise<number> => {
    const file = join(dir, `pid.${id}`)
    await pWaitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', { interval: 50, timeout: 30_000 })
    return Number(readFileSync(file, 'utf8'))
  }

  it('cancels a running command handler: its whole process group is gone, and a second cancel says it has ended', async () => {
    const { id } = await post({ type: 'sleeper', payload: 'x', wait: false })
    const pid = await pidOf(id)
    expect(pids(`^sleep 60.${marker}1`).length).toBe(1)
    const r = await del(id)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ id, state: 'cancelled' })
    expect(r.body.results[0]).toMatchObject({ ok: false, cancelled: true })
    // the shell and its child: SIGKILL to the group, both dead (at most waiting to be reaped)
    await pWaitFor(() => dead(pid) && pids(`^sleep 60.${marker}1`).every(dead), { interval: 50, timeout: 5000 })
    const again = await del(id)
    expect(again).toEqual({ status: 409, body: { error: `task ${id} has already ended: cancelled` } })
    expect((await del('no-such-task')).status).toBe(404)
    expect((await fetch(`${api}/api/tasks/no-such-task/events`)).status).toBe(404)
    expect((await (await fetch(`${api}/api/tasks/${id}`)).json()).state).toBe('cancelled')
    expect(await boot.metric('p2p_task_cancels_total{outcome="cancelled"}')).toBeGreaterThanOrEqual(1)
    expect(await boot.metric('p2p_task_cancels_total{outcome="already"}')).toBeGreaterThanOrEqual(1)
    const worker = r.body.results[0].worker === w1.peerId ? w1 : w2
    expect(await worker.metric('p2p_task_cancel_requests_total{outcome="running"}')).toBeGreaterThanOrEqual(1)
  })

  it('cancels a queued task: dropped from the worker\'s queue, never started; the REPL command answers the same', async () => {
    const first = await post({ type: 'solo', payload: 'a', wait: false })
    await pidOf(first.id)
    const queued = await post({ type: 'solo', payload: 'b', wait: false })
    // it reached the worker's queue (concurrency 1, busy with the first)
    await pWaitFor(async () => await w2.metric('p2p_task_queue_depth') === 1, { interval: 50, timeout: 10_000 })
    const r = await boot.request('task', ['cancel', queued.id]) as any
    expect(r).toMatchObject({ id: queued.id, state: 'cancelled' })
    expect(r.results[0].error).toBe('cancelled while queued')
    expect(existsSync(join(dir, `pid.${queued.id}`))).toBe(false)
    expect(await w2.metric('p2p_task_cancel_requests_total{outcome="queued"}')).toBe(1)
    await expect(boot.request('task', ['cancel', queued.id])).rejects.toThrow(/already ended: cancelled/)
    expect((await del(first.id)).body.state).toBe('cancelled')
    await pWaitFor(() => pids(`^sleep 60.${marker}2`).every(dead), { interval: 50, timeout: 5000 })
  })

  it('cancels a running compute task: its thread is stopped and the pool runs the next one', async () => {
    const { id } = await post({ type: 'compute', payload: 'x', cost: 100_000_000, timeout: '5m', wait: false })
    await pWaitFor(async () => await w1.metric('p2p_tasks_running') === 1, { interval: 50, timeout: 10_000 })
    const r = await del(id)
    expect(r.body).toMatchObject({ id, state: 'cancelled' })
    expect(r.body.results[0].error).toBe('cancelled while running')
    const next = await boot.request('task', ['compute', 'y', '--cost', '1000']) as any
    expect(next.state).toBe('done')
    expect(JSON.parse(next.results[0].output).iterations).toBe(1000)
    expect(await w1.metric('p2p_tasks_running')).toBe(0)
  })

  it('cancels a broadcast on every worker', async () => {
    const { id } = await post({ type: 'sleeper', payload: 'x', broadcast: true, wait: false })
    await pWaitFor(() => pids(`^sleep 60.${marker}1`).length === 2, { interval: 50, timeout: 30_000 })
    const r = await del(id)
    expect(r.body.state).toBe('cancelled')
    expect(r.body.results).toHaveLength(2)
    expect(r.body.results.every((x: any) => x.cancelled === true)).toBe(true)
    expect(r.body.results.map((x: any) => x.worker).sort()).toEqual([w1.peerId, w2.peerId].sort())
    await pWaitFor(() => pids(`^sleep 60.${marker}1`).every(dead), { interval: 50, timeout: 5000 })
  })

  it('task --follow prints a command handler\'s lines while it still runs, then the result', async () => {
    const cli = spawn(LAUNCHER, ['task', 'gated', 'x', '--follow', '--config', boot.configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    cli.stdout.on('data', d => { out += d })
    const exited = new Promise<number | null>(resolve => cli.once('exit', resolve))
    await pWaitFor(() => /\] first$/m.test(out), { interval: 50, timeout: 30_000 })
    // the program is still running (it waits for our file) and the CLI is still following
    expect(cli.exitCode).toBeNull()
    expect(out).not.toMatch(/second/)
    const id = /task (\S+) accepted/.exec(out)![1]
    writeFileSync(join(dir, `go.${id}`), '')
    expect(await exited).toBe(0)
    expect(out).toMatch(/\] second$/m)
    expect(out).toMatch(new RegExp(`task ${id} \\(gated\\): done`))
  })

  it('GET /api/tasks/<id>/events streams a module handler\'s progress as SSE while it runs, then its record', async () => {
    const { id } = await post({ type: 'js.gated', payload: '', wait: false, follow: true })
    const res = await fetch(`${api}/api/tasks/${id}/events`)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const seen: Array<{ event: string, data: any }> = []
    for await (const f of sseFrames(res)) {
      seen.push(f)
      // it is still running when its first message arrives: only then may it go on
      if (f.event === 'output' && f.data.text === 'first') {
        expect((await (await fetch(`${api}/api/tasks/${id}`)).json()).state).toBe('running')
        writeFileSync(join(dir, `go.${id}`), '')
      }
      if (f.event === 'end') break
    }
    expect(seen.map(f => f.event === 'output' ? f.data.text : f.event)).toEqual(['first', 'second', 'end'])
    expect(seen[0].data.worker).toBe('s-w1')
    expect(seen[2].data).toMatchObject({ id, state: 'done' })
    expect(seen[2].data.results[0].output).toBe('finished')
  })

  it('a follower that does not read is cut off; the task, the worker and the submitting node stay bounded', async () => {
    const before = await boot.metric('p2p_event_clients_dropped_total')
    const { id } = await post({ type: 'chatty', payload: '', wait: false, follow: true })
    // open the stream and never read it: its unsent bytes pass 1 MiB and the node drops it
    const res = await fetch(`${api}/api/tasks/${id}/events`)
    expect(res.status).toBe(200)
    await pWaitFor(async () => (await (await fetch(`${api}/api/tasks/${id}`)).json()).state !== 'running', { interval: 200, timeout: 90_000 })
    const record = await (await fetch(`${api}/api/tasks/${id}`)).json()
    expect(record.state).toBe('done')
    expect(record.results[0].output.length).toBe(1500 * 8001)
    expect(await boot.metric('p2p_event_clients_dropped_total')).toBe(before + 1)
    // what followed it stayed bounded: the submitting node kept at most 256 KiB of pieces, the worker dropped what its stream could not take
    const rss = Number(/process_resident_memory_bytes (\d+)/.exec(await w1.metrics())![1])
    expect(rss).toBeLessThan(512 * 1024 ** 2)
    await res.body?.cancel().catch(() => {})
  })

  it('payloads and answers over 4 MiB cross the task stream (it-length-prefixed refused them: a silent hang)', async () => {
    const r = await post({ type: 'echo', payload: 'z'.repeat(6_000_000), timeout: '20s', retries: 0 })
    expect(r.state).toBe('done')
    expect(r.results[0].output.length).toBe(6_000_000)
  })

  it('output faster than a stream takes is dropped at the worker (counted), never buffered', async () => {
    const droppedBefore = await w1.metric('p2p_task_progress_dropped_total')
    const { id } = await post({ type: 'gush', payload: '', wait: false, follow: true })
    let pieces = 0
    let dropped = 0
    let end: any
    for await (const f of sseFrames(await fetch(`${api}/api/tasks/${id}/events`))) {
      if (f.event === 'output') { pieces++; dropped += f.data.dropped }
      if (f.event === 'end') { end = f.data; break }
    }
    expect(end.state).toBe('done')
    expect(end.results[0].output.length).toBe(900_000)
    // 450,000 lines: a few hundred pieces reached the follower, the others were dropped and said so
    expect(pieces).toBeLessThan(50_000)
    expect(dropped).toBeGreaterThan(0)
    expect(await w1.metric('p2p_task_progress_dropped_total')).toBeGreaterThan(droppedBefore + 100_000)
  })

  it('a module handler gets payload, params and task id; its result is JSON; its log lines reach the node\'s log', async () => {
    const r = await boot.request('task', ['js.works', 'hello', '--param', 'size=small']) as any
    expect(r.state).toBe('done')
    expect(JSON.parse(r.results[0].output)).toEqual({ taskId: r.id, got: 'hello', params: { size: 'small' }, aborted: false })
    await pWaitFor(() => readFileSync(w1.logFile, 'utf8').includes('done with it'), { interval: 100, timeout: 5000 })
  })

  it('a module that throws, hangs or runs out of memory is a clean task error, and the next task runs', async () => {
    const threw = await boot.request('task', ['js.throws', 'x']) as any
    expect(threw.state).toBe('failed')
    expect(threw.results[0].error).toBe('throws.mjs: no thumbnails today')
    const hung = await boot.request('task', ['js.hangs', 'x', '--retries', '0']) as any
    expect(hung.state).toBe('failed')
    // the handler's 1.5 s timeout, less the moment it waited in the queue
    expect(hung.results[0].error).toMatch(/timed out after 1[45]\d\dms/)
    const big = await boot.request('task', ['js.big', 'x']) as any
    expect(big.results[0].error).toMatch(/output larger than 65536 bytes \(max_output\)/)
    const hog = await boot.request('task', ['js.hog', 'x', '--retries', '0', '--timeout', '60s']) as any
    expect(hog.state).toBe('failed')
    expect(hog.results[0].error).toMatch(/out of memory: the handler passed its max_memory of 32 MiB/)
    // the node is fine: its event loop never ran the module, and the pools start fresh threads
    const ok = await boot.request('task', ['js.works', 'again']) as any
    expect(ok.state).toBe('done')
    expect((await w1.request('status') as any).peerId).toBe(w1.peerId)
    expect(await w1.metric('p2p_tasks_executed_total{type="js.hog",outcome="error"}')).toBe(1)
  })

  it('kill -9 of the submitting node with 100 tasks accepted: after its restart every task ends with exactly one result', async () => {
    const ids: string[] = []
    for (let i = 0; i < 100; i++) {
      const r = await post({ type: 'once', payload: String(i), wait: false })
      expect(r.state).toBe('running')
      ids.push(r.id)
    }
    // and one whose caller waits (the REPL, wait: true): it cannot be resumed, so it must come back failed, not vanish
    const waited = fetch(`${api}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'gated', payload: 'w', wait: true }) }).catch(() => undefined)
    await pWaitFor(async () => (await boot.request('tasks') as any[]).some(t => t.type === 'gated' && t.state === 'running'), { interval: 20, timeout: 10_000 })
    const waitedId = (await boot.request('tasks') as any[]).find(t => t.type === 'gated' && t.state === 'running').id
    boot.kill('SIGKILL')
    await boot.exit
    await waited
    writeFileSync(join(dir, `go.${waitedId}`), '')
    const before = existsSync(join(dir, 'ran.log')) ? readFileSync(join(dir, 'ran.log'), 'utf8').split('\n').filter(Boolean).length : 0
    expect(before).toBeLessThan(100)
    await boot.start()
    api = (await boot.request('status') as any).metricsUrl
    await pWaitFor(async () => {
      const list = await boot.request('tasks') as any[]
      return ids.every(id => list.find(t => t.id === id)?.state === 'done')
    }, { interval: 250, timeout: 120_000 })
    for (const id of ids) {
      const r = await (await fetch(`${api}/api/tasks/${id}`)).json()
      expect(r.results).toHaveLength(1)
      expect(r.results[0]).toMatchObject({ ok: true, output: 'ran\n' })
    }
    const interrupted = await (await fetch(`${api}/api/tasks/${waitedId}`)).json()
    expect(interrupted.state).toBe('failed')
    expect(interrupted.error).toMatch(/^interrupted: this node restarted while the task ran/)
    // each ran exactly once: a worker that had already run one answered the resumed attempt from its dedup cache
    const ran = readFileSync(join(dir, 'ran.log'), 'utf8').split('\n').filter(Boolean)
    expect(ran.sort()).toEqual([...ids].sort())
    // every task that had not run yet was resumed (and those whose answer had not come back before the kill)
    const resumed = await boot.metric('p2p_tasks_resumed_total')
    expect(resumed).toBeGreaterThanOrEqual(100 - before)
    expect(resumed).toBeLessThanOrEqual(100)
  })

  it('a steady stream of waited-for tasks does not push out the results of wait: false tasks', async () => {
    const w1api = (await w1.request('status') as any).metricsUrl
    const detached = await Promise.all([1, 2, 3].map(async i => await post({ type: 'echo', payload: `keep ${i}`, wait: false }, w1api)))
    const waited: any[] = []
    for (let i = 0; i < 15; i++) waited.push(await post({ type: 'echo', payload: `w ${i}` }, w1api))
    for (const d of detached) {
      const r = await (await fetch(`${w1api}/api/tasks/${d.id}`)).json()
      expect(r).toMatchObject({ id: d.id, state: 'done', detached: true })
    }
    // records_max (10) holds for the waited ones: the oldest are gone
    expect((await fetch(`${w1api}/api/tasks/${waited[0].id}`)).status).toBe(404)
    expect((await fetch(`${w1api}/api/tasks/${waited[14].id}`)).status).toBe(200)
  })

  it('a flood from one submitter does not starve another\'s task; status and metrics show queue depth per priority class', async () => {
    // the bootstrap floods the one-slot worker; w1 (another submitter) sends one task of its own
    const flood = Array.from({ length: 200 }, (_, i) => post({ type: 'slowecho', payload: `f${i}`, wait: false }))
    const floodIds = (await Promise.all(flood)).map(r => r.id)
    await pWaitFor(async () => await w2.metric('p2p_task_queue_depth') >= 1, { interval: 20, timeout: 10_000 })
    const status = await w2.request('status') as any
    expect(Object.keys(status.tasks.queued).sort()).toEqual(['0', '1-9', '10-99', '100-999', '1000+'].sort())
    expect(await w2.metrics()).toMatch(/^p2p_task_queue_depth_by_class\{class="0"\} \d+/m)
    const mine = await w1.request('task', ['slowecho', 'mine']) as any
    expect(mine.state).toBe('done')
    expect(mine.results[0].worker).toBe(w2.peerId)
    // 200 tasks of ~50 ms on one slot take ~10 s; the single task was not put behind them
    const list = await boot.request('tasks') as any[]
    const floodDone = list.filter(t => floodIds.includes(t.id) && t.state === 'done').length
    expect(floodDone).toBeLessThan(150)
    expect(mine.results[0].durationMs).toBeLessThan(5000)
    await pWaitFor(async () => (await boot.request('tasks') as any[]).filter(t => floodIds.includes(t.id) && t.state === 'done').length === 200, { interval: 250, timeout: 120_000 })
  })
})
