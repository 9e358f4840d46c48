import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TaskResponse, type TaskRequest } from '../../src/messages/tasks.js'
import { parseTaskArgs, parseTaskJson } from '../../src/tasks/args.js'
import { BoundedCache } from '../../src/tasks/bounded-cache.js'
import { Executor } from '../../src/tasks/executor.js'
import { HandlerError, type Handler } from '../../src/tasks/handlers/handler.js'
import { Ledger } from '../../src/tasks/ledger.js'
import { priorityClass, TaskQueue } from '../../src/tasks/queue.js'
import { TaskJournal } from '../../src/tasks/journal.js'
import { TaskRecords, type OpenTask } from '../../src/tasks/records.js'
import { nextAttempt } from '../../src/tasks/attempts.js'
import { broadcastTargets, DecayingCounts, pickWorker, type Candidate } from '../../src/tasks/scheduler.js'
import { defaultConfig, freshMetrics, silentLogger } from '../harness/fixtures.js'

describe('TaskQueue', () => {
  type Item = { reward: number, submitter: string, name: string }
  const item = (reward: number, submitter: string, name: string): Item => ({ reward, submitter, name })
  const drain = (q: TaskQueue<Item>): string[] => { const out: string[] = []; for (let i = q.pop(); i != null; i = q.pop()) out.push(i.name); return out }

  it('orders by reward (highest first), keeps each submitter\'s tasks in order, and refuses when full', () => {
    const q = new TaskQueue<Item>(4)
    expect(q.push(item(1, 'a', 'low-1'))).toBe(true)
    expect(q.push(item(5, 'a', 'high-1'))).toBe(true)
    expect(q.push(item(5, 'a', 'high-2'))).toBe(true)
    expect(q.push(item(1, 'a', 'low-2'))).toBe(true)
    expect(q.push(item(9, 'a', 'refused'))).toBe(false)
    expect(q.size).toBe(4)
    expect(drain(q)).toEqual(['high-1', 'high-2', 'low-1', 'low-2'])
    expect(q.size).toBe(0)
  })
  it('shares one reward fairly: submitters take turns, so a flood does not hold back a single task', () => {
    const q = new TaskQueue<Item>(20_000)
    for (let i = 0; i < 10_000; i++) q.push(item(0, 'flood', `f${i}`))
    q.push(item(0, 'single', 'theirs'))
    q.push(item(0, 'other', 'o1'))
    q.push(item(0, 'other', 'o2'))
    const order = drain(q)
    // flood's first task was queued first; then every submitter's turn comes before flood's second
    expect(order.slice(0, 5)).toEqual(['f0', 'theirs', 'o1', 'f1', 'o2'])
    expect(order).toHaveLength(10_003)
    expect(order.filter(n => n.startsWith('f'))).toEqual(Array.from({ length: 10_000 }, (_, i) => `f${i}`))
  })
  it('a higher reward still goes first, whoever sent it', () => {
    const q = new TaskQueue<Item>(100)
    for (let i = 0; i < 5; i++) q.push(item(0, 'a', `a${i}`))
    q.push(item(50, 'b', 'paid'))
    q.push(item(7, 'c', 'some'))
    expect(drain(q).slice(0, 3)).toEqual(['paid', 'some', 'a0'])
  })
  it('removes what is asked (a cancel, expiry) and counts depth per priority class', () => {
    const q = new TaskQueue<Item>(100)
    for (const [r, s, n] of [[0, 'a', 'x'], [0, 'b', 'y'], [3, 'a', 'z'], [40, 'c', 'w'], [5000, 'a', 'v']] as const) q.push(item(r, s, n))
    expect(q.depthByClass()).toEqual({ 0: 2, '1-9': 1, '10-99': 1, '100-999': 0, '1000+': 1 })
    expect(q.removeWhere(i => i.name === 'y' || i.name === 'w').map(i => i.name).sort()).toEqual(['w', 'y'])
    expect(q.size).toBe(3)
    expect(q.depthByClass()).toEqual({ 0: 1, '1-9': 1, '10-99': 0, '100-999': 0, '1000+': 1 })
    expect(drain(q)).toEqual(['v', 'z', 'x'])
    expect(priorityClass(0)).toBe('0')
    expect(priorityClass(999)).toBe('100-999')
  })
})

const worker = (peerId: string, over: Partial<Candidate> = {}): Candidate => ({
  peerId, taskTypes: ['echo', 'compute'], capabilities: ['compute'], alive: true, healthy: true,
  advertisedLoad: 0, maxConcurrency: 4, queueCapacity: 10, inFlight: 0, rttMs: 5, ...over
})

describe('pickWorker', () => {
  const now = 1000
  const cases: Array<[string, Candidate[], Parameters<typeof pickWorker>[1], string | undefined]> = [
    ['the least loaded', [worker('a', { advertisedLoad: 3 }), worker('b', { advertisedLoad: 1 })], { type: 'echo', now }, 'b'],
    ['our own in-flight count when higher than advertised', [worker('a', { inFlight: 4 }), worker('b', { advertisedLoad: 2 })], { type: 'echo', now }, 'b'],
    ['lower RTT among equally loaded', [worker('a', { rttMs: 40 }), worker('b', { rttMs: 3 })], { type: 'echo', now }, 'b'],
    ['only workers offering the type', [worker('a', { taskTypes: ['echo'] }), worker('b')], { type: 'compute', now }, 'b'],
    ['only workers with the capability', [worker('a', { capabilities: [] }), worker('b')], { type: 'echo', capability: 'compute', now }, 'b'],
    ['a free slot before a queue, whatever the RTT', [worker('a', { advertisedLoad: 4, rttMs: 1 }), worker('b', { advertisedLoad: 3, rttMs: 40 })], { type: 'echo', now }, 'b'],
    ['the smaller share: fewer tasks sent lately', [worker('a', { recent: 3 }), worker('b', { advertisedLoad: 1, recent: 1 })], { type: 'echo', now }, 'b'],
    ['never a dead or unhealthy worker', [worker('a', { alive: false }), worker('b', { healthy: false })], { type: 'echo', now }, undefined],
    ['never past a worker\'s window (concurrency + min(queue, concurrency))', [worker('a', { inFlight: 8 }), worker('b', { inFlight: 7 })], { type: 'echo', now }, 'b'],
    ['never a worker that advertises a full queue', [worker('a', { advertisedLoad: 14 }), worker('b', { advertisedLoad: 13 })], { type: 'echo', now }, 'b'],
    ['not a worker that answered busy recently', [worker('a', { busyUntil: 1500 }), worker('b', { advertisedLoad: 3 })], { type: 'echo', now }, 'b'],
    ['a busy mark that has passed', [worker('a', { busyUntil: 900 })], { type: 'echo', now }, 'a'],
    ['an untried worker before a tried one', [worker('a'), worker('b', { advertisedLoad: 3 })], { type: 'echo', now, exclude: new Set(['a']) }, 'b'],
    ['a tried worker when nothing else is left', [worker('a')], { type: 'echo', now, exclude: new Set(['a']) }, 'a'],
    ['a connected worker before one known only from gossip, whatever it claims', [worker('ghost', { connected: false, maxConcurrency: 1024, queueCapacity: 65_536 }), worker('b', { connected: true, advertisedLoad: 3 })], { type: 'echo', now }, 'b'],
    ['a connected worker even when tried already', [worker('ghost', { connected: false }), worker('b', { connected: true })], { type: 'echo', now, exclude: new Set(['b']) }, 'b'],
    ['one with no connection when no connected one has room', [worker('far', { connected: false }), worker('b', { connected: true, busyUntil: 1500 })], { type: 'echo', now }, 'far'],
    ['never a worker the circuit breaker set aside', [worker('a', { setAsideUntil: 5000 })], { type: 'echo', now }, undefined],
    ['a set-aside that has passed', [worker('a', { setAsideUntil: 900 })], { type: 'echo', now }, 'a']
  ]
  it.each(cases)('picks %s', (_n, cands, opts, expected) => {
    expect(pickWorker(cands, { ...opts, random: () => 0.5 })?.peerId).toBe(expected)
  })
  it('spreads equal workers at random', () => {
    const seen = new Set<string>()
    // one draw per candidate per pick: the first pick favours a, the second b
    const values = [0.1, 0.9, 0.9, 0.1]
    let i = 0
    for (let n = 0; n < 4; n++) seen.add(pickWorker([worker('a'), worker('b')], { type: 'echo', now, random: () => values[i++ % values.length] })!.peerId)
    expect(seen).toEqual(new Set(['a', 'b']))
  })
  it('spreads short tasks over equal workers, the submitting node (RTT 0) included', () => {
    // tasks that finish before the next pick leave no load behind: only the recent-send count tells them apart
    const counts = new DecayingCounts()
    const spread: Record<string, number> = { self: 0, b: 0, c: 0 }
    for (let i = 0; i < 999; i++) {
      const now = 1000 + i
      // a task run locally is over at once; one sent away is still in flight at the next pick
      const cands = [worker('self', { rttMs: 0 }), worker('b', { rttMs: 1.5, inFlight: 1 }), worker('c', { rttMs: 4, inFlight: 1 })].map(c => ({ ...c, recent: counts.get(c.peerId, now) }))
      const picked = pickWorker(cands, { type: 'echo', now })!.peerId
      counts.add(picked, now)
      spread[picked]++
    }
    for (const n of Object.values(spread)) expect(n, JSON.stringify(spread)).toBeGreaterThan(300)
  })
  it('still prefers a clearly nearer worker when loads are equal', () => {
    expect(pickWorker([worker('far', { rttMs: 45, recent: 0 }), worker('near', { rttMs: 2, recent: 5 })], { type: 'echo', now })?.peerId).toBe('near')
    // an RTT not measured yet (a worker that just reconnected) is not a long one
    expect(pickWorker([worker('a', { rttMs: 1, recent: 5 }), worker('b', { rttMs: undefined, recent: 0 })], { type: 'echo', now })?.peerId).toBe('b')
    // a few ms apart is noise on a busy host: the share decides
    expect(pickWorker([worker('a', { rttMs: 0, recent: 5 }), worker('b', { rttMs: 12, recent: 0 })], { type: 'echo', now })?.peerId).toBe('b')
  })
  it('broadcasts to every capable worker', () => {
    expect(broadcastTargets([worker('a'), worker('b', { alive: false }), worker('c', { taskTypes: [] }), worker('d')], 'echo').map(c => c.peerId)).toEqual(['a', 'd'])
  })
})

describe('nextAttempt', () => {
  const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 }
  const cases: Array<[string, Parameters<typeof nextAttempt>, ReturnType<typeof nextAttempt>]> = [
    ['a timeout backs off', ['timeout', 1, policy, 0, 10_000], { retry: true, delayMs: 100 }],
    ['backoff doubles', ['disconnect', 3, policy, 0, 10_000], { retry: true, delayMs: 400 }],
    ['backoff is capped', ['timeout', 3, { ...policy, maxDelayMs: 300 }, 0, 10_000], { retry: true, delayMs: 300 }],
    ['busy retries at once', ['busy', 1, policy, 0, 10_000], { retry: true, delayMs: 0 }],
    ['rejected retries at once', ['rejected', 2, policy, 0, 10_000], { retry: true, delayMs: 0 }],
    ['gives up after max retries', ['timeout', 4, policy, 0, 10_000], { retry: false, reason: 'gave up after 4 attempts (last: timeout)' }],
    ['never past the deadline', ['timeout', 1, policy, 9950, 10_000], { retry: false, reason: 'deadline passed (last: timeout)' }]
  ]
  it.each(cases)('%s', (_n, args, expected) => { expect(nextAttempt(...args)).toEqual(expected) })
})

describe('BoundedCache', () => {
  it('remembers by id within the TTL and evicts the oldest beyond the size', () => {
    const c = new BoundedCache<number>({ ttlMs: 1000, maxEntries: 2 })
    c.set('a', 1, 0)
    expect(c.get('a', 999)).toBe(1)
    expect(c.get('a', 1001)).toBeUndefined()
    c.set('b', 2, 0); c.set('c', 3, 0); c.set('d', 4, 0)
    expect([c.get('b', 1), c.get('c', 1), c.get('d', 1)]).toEqual([undefined, 3, 4])
  })
  it('drops expired entries as new ones arrive, not only when they are asked for', () => {
    const c = new BoundedCache<number>({ ttlMs: 1000, maxEntries: 100 })
    for (let i = 0; i < 50; i++) c.set(`old${i}`, i, 0)
    c.set('new', 1, 1500)
    expect(c.size).toBe(1)
  })
  it('keeps the bytes it holds under maxBytes, oldest out first, with weights known late', () => {
    const c = new BoundedCache<string>({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1000 })
    for (let i = 0; i < 5; i++) c.set(`k${i}`, 'v', i)
    for (let i = 0; i < 5; i++) c.weigh(`k${i}`, 300, 10)
    expect(c.bytes).toBeLessThanOrEqual(1000)
    expect(c.values()).toHaveLength(3)
    expect(c.get('k0', 20)).toBeUndefined()
    expect(c.get('k4', 20)).toBe('v')
  })
})

describe('DecayingCounts', () => {
  it('halves every half-life and forgets nothing it should not', () => {
    const d = new DecayingCounts(1000)
    d.add('a', 0); d.add('a', 0)
    expect(d.get('a', 0)).toBe(2)
    expect(d.get('a', 1000)).toBeCloseTo(1)
    d.add('a', 1000)
    expect(d.get('a', 2000)).toBeCloseTo(1)
    expect(d.get('b', 0)).toBe(0)
  })
})

describe('Ledger', () => {
  it('credits per type and survives a reload', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'rewards.json')
    const l = new Ledger(file, 10_000)
    l.credit('compute', 5)
    l.credit('compute', 3)
    l.credit('echo', 1)
    await l.flush()
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ compute: { tasks: 2, credits: 8 }, echo: { tasks: 1, credits: 1 } })
    const again = new Ledger(file)
    await again.load()
    expect(again.total()).toEqual({ tasks: 3, credits: 9 })
  })
  it.each([['empty', ''], ['torn', '{"compute": {"tas'], ['not a ledger', '[1,2]']])('a %s file is kept aside, not fatal; the ledger starts empty', async (_n, text) => {
    const file = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'rewards.json')
    writeFileSync(file, text)
    const l = new Ledger(file)
    const { keptAside } = await l.load()
    expect(keptAside).toMatch(/rewards\.json\.corrupt-\d+$/)
    expect(readFileSync(keptAside!, 'utf8')).toBe(text)
    expect(l.total()).toEqual({ tasks: 0, credits: 0 })
    l.credit('echo', 1)
    await l.flush()
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })
})

describe('Executor', () => {
  const { tasks } = defaultConfig()
  const req = (id: string, over: Partial<TaskRequest> = {}): TaskRequest => ({
    id, type: 'slow', payload: new Uint8Array([1]), reward: 0n, timeoutMs: 5000, attempt: 1, submitter: new Uint8Array(), params: new Map(), cancel: false, follow: false, ...over
  })
  function make (handlers: Handler[], init: Partial<ConstructorParameters<typeof Executor>[1]> = {}) {
    const metrics = freshMetrics()
    const ledger = new Ledger(join(mkdtempSync(join(tmpdir(), 'ex-')), 'r.json'), 60_000)
    return new Executor({ metrics, logger: silentLogger(), ledger }, {
      handlers, selfPeerId: 'self', selfPeerIdBytes: new Uint8Array([1]), maxConcurrency: 1, maxQueue: 1, maxPayload: 100, dedupTtlMs: 60_000, defaultTimeoutMs: 5000, maxTimeoutMs: tasks.maxTimeoutMs, maxReward: tasks.maxReward, dedupMaxEntries: tasks.dedupMaxEntries, dedupMaxBytes: tasks.dedupMaxBytes, ...init
    })
  }
  const gate = () => { let open!: () => void; const p = new Promise<void>(r => { open = r }); return { p, open } }

  it('answers busy when running and queue are full, and runs the rest in order', async () => {
    const g = gate()
    let runs = 0
    const ex = make([{ type: 'slow', run: async () => { runs++; await g.p; return new Uint8Array([runs]) } }])
    const first = ex.execute(req('1'))
    const second = ex.execute(req('2'))
    expect((await ex.execute(req('3'))).status).toBe(TaskResponse.Status.BUSY)
    g.open()
    expect((await first).status).toBe(TaskResponse.Status.OK)
    expect((await second).status).toBe(TaskResponse.Status.OK)
    expect(runs).toBe(2)
  })
  it('runs a repeated id once: a repeat joins the running attempt, a later one gets the first result', async () => {
    const g = gate()
    let runs = 0
    const ex = make([{ type: 'slow', run: async () => { runs++; await g.p; return new Uint8Array([42]) } }])
    const a = ex.execute(req('same'))
    const b = ex.execute(req('same', { attempt: 2 }))
    g.open()
    expect((await a).duplicate).toBe(false)
    expect(await b).toMatchObject({ duplicate: true, status: TaskResponse.Status.OK })
    expect(await ex.execute(req('same', { attempt: 3 }))).toMatchObject({ duplicate: true, result: new Uint8Array([42]) })
    expect(runs).toBe(1)
  })
  it('rejects unknown types and oversized payloads without running anything', async () => {
    const ex = make([])
    expect(await ex.execute(req('x', { type: 'nope' }))).toMatchObject({ status: TaskResponse.Status.REJECTED, error: 'this worker does not run task type "nope"' })
    const ex2 = make([{ type: 'slow', run: async () => new Uint8Array() }])
    expect((await ex2.execute(req('y', { payload: new Uint8Array(101) }))).status).toBe(TaskResponse.Status.REJECTED)
  })
  it('times out a handler that ignores its signal, and reports handler errors as ERROR', async () => {
    const ex = make([
      { type: 'hang', run: async () => await new Promise<Uint8Array>(() => {}) },
      { type: 'bad', run: async () => { throw new HandlerError('boom') } }
    ], { maxConcurrency: 2 })
    expect(await ex.execute(req('h', { type: 'hang', timeoutMs: 30 }))).toMatchObject({ status: TaskResponse.Status.TIMEOUT })
    expect(await ex.execute(req('b', { type: 'bad' }))).toMatchObject({ status: TaskResponse.Status.ERROR, error: 'boom' })
  })
  it('cancels a queued task (dropped) and a running one (its signal aborted), only for the submitter that sent it', async () => {
    const g = gate()
    let aborted: unknown
    const ex = make([{ type: 'slow', run: async ctx => { ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason }); await g.p; return new Uint8Array([1]) } }])
    const running = ex.execute(req('r'), Date.now(), { submitter: 'alice' })
    const queued = ex.execute(req('q'), Date.now(), { submitter: 'alice' })
    expect(ex.cancel('q', 'mallory')).toBe('refused')
    expect(ex.cancel('q', 'alice')).toBe('queued')
    expect(await queued).toMatchObject({ status: TaskResponse.Status.CANCELLED, error: 'cancelled while queued' })
    expect(ex.cancel('r', 'alice')).toBe('running')
    expect(await running).toMatchObject({ status: TaskResponse.Status.CANCELLED, error: 'cancelled while running' })
    expect((aborted as Error).name).toBe('CancelledError')
    expect(ex.cancel('r', 'alice')).toBe('unknown')
    // a repeat of a cancelled id gets the cancel, not a new run
    expect(await ex.execute(req('r'), Date.now(), { submitter: 'alice' })).toMatchObject({ status: TaskResponse.Status.CANCELLED, duplicate: true })
    g.open()
  })
  it('runs queued tasks of one reward in turns among submitters', async () => {
    const g = gate()
    const order: string[] = []
    const ex = make([{ type: 'slow', run: async ctx => { order.push(ctx.id); if (ctx.id === 'first') await g.p; return new Uint8Array() } }], { maxQueue: 100 })
    const all = [ex.execute(req('first'), Date.now(), { submitter: 'flood' })]
    for (let i = 0; i < 20; i++) all.push(ex.execute(req(`f${i}`), Date.now(), { submitter: 'flood' }))
    all.push(ex.execute(req('single'), Date.now(), { submitter: 'other' }))
    expect(ex.queueDepth()['0']).toBe(21)
    g.open()
    await Promise.all(all)
    expect(order.slice(0, 3)).toEqual(['first', 'f0', 'single'])
  })
  it('a task id is its submitter\'s: the same id from another peer is another task; the same id with another request is refused', async () => {
    const ex = make([{ type: 'slow', run: async ctx => ctx.payload }], { maxConcurrency: 4, maxQueue: 4 })
    const evil = await ex.execute(req('demo-1', { payload: new TextEncoder().encode('EVIL') }), Date.now(), { submitter: 'mallory' })
    const good = await ex.execute(req('demo-1', { payload: new TextEncoder().encode('GOOD') }), Date.now(), { submitter: 'alice' })
    expect(new TextDecoder().decode(evil.result)).toBe('EVIL')
    expect(good).toMatchObject({ status: TaskResponse.Status.OK, duplicate: false })
    expect(new TextDecoder().decode(good.result)).toBe('GOOD')
    expect(await ex.execute(req('demo-1', { payload: new TextEncoder().encode('OTHER') }), Date.now(), { submitter: 'alice' }))
      .toMatchObject({ status: TaskResponse.Status.REJECTED, error: 'task id demo-1 was used for another request (another type, payload or params)' })
    expect(await ex.execute(req('demo-1', { params: new Map([['x', '1']]), payload: new TextEncoder().encode('GOOD') }), Date.now(), { submitter: 'alice' }))
      .toMatchObject({ status: TaskResponse.Status.REJECTED })
    // mallory cannot cancel alice's task of that id either
    expect(ex.cancel('demo-1', 'mallory')).toBe('unknown')
  })
  it.each(['', '-leading-dash', 'a/b', '../x', '$(id)', 'x'.repeat(129), 'sp ace'])('refuses the task id %j', async id => {
    const ex = make([{ type: 'slow', run: async () => new Uint8Array() }])
    expect((await ex.execute(req(id))).status).toBe(TaskResponse.Status.REJECTED)
  })
  it('a reward past max_reward orders the queue and is credited as max_reward', async () => {
    const g = gate()
    const order: string[] = []
    const ex = make([{ type: 'slow', run: async ctx => { order.push(ctx.id); if (ctx.id === 'first') await g.p; return new Uint8Array() } }], { maxQueue: 10, maxReward: 10 })
    const all = [ex.execute(req('first'), Date.now(), { submitter: 'a' })]
    all.push(ex.execute(req('honest', { reward: 10n }), Date.now(), { submitter: 'a' }))
    const greedy = ex.execute(req('greedy', { reward: 2n ** 64n - 1n }), Date.now(), { submitter: 'b' })
    all.push(greedy)
    g.open()
    await Promise.all(all)
    // the claim of 2^64-1 counts as 10: it waits its turn behind the task queued before it
    expect(order).toEqual(['first', 'honest', 'greedy'])
    expect((await greedy).reward).toBe(10n)
  })
  it('drain: queued and new tasks go back BUSY at once, the running one finishes, and drain resolves when it has', async () => {
    const g = gate()
    const ex = make([{ type: 'slow', run: async () => { await g.p; return new Uint8Array([7]) } }])
    const running = ex.execute(req('run'))
    const queued = ex.execute(req('queued'))
    expect(ex.accepting()).toBe(true)
    let drained = false
    const drain = ex.drain(AbortSignal.timeout(10_000)).then(left => { drained = true; return left })
    expect(ex.accepting()).toBe(false)
    expect(await queued).toMatchObject({ status: TaskResponse.Status.BUSY, error: 'worker is draining' })
    expect(await ex.execute(req('new'))).toMatchObject({ status: TaskResponse.Status.BUSY, error: 'worker is draining' })
    // a repeat of the running task still joins it: it is not a new task
    const repeat = ex.execute(req('run'))
    await new Promise(resolve => setImmediate(resolve))
    expect(drained).toBe(false)
    g.open()
    expect(await running).toMatchObject({ status: TaskResponse.Status.OK })
    expect(await repeat).toMatchObject({ status: TaskResponse.Status.OK, duplicate: true })
    expect(await drain).toBe(0)
  })
  it('the backlog a scaler reads: queued and running tasks by their handler\'s capability', async () => {
    const g = gate()
    const metrics = freshMetrics()
    const ledger = new Ledger(join(mkdtempSync(join(tmpdir(), 'ex-')), 'r.json'), 60_000)
    const ex = new Executor({ metrics, logger: silentLogger(), ledger }, {
      handlers: [{ type: 'slow', capability: 'compute', run: async () => { await g.p; return new Uint8Array() } }, { type: 'echo', run: async () => { await g.p; return new Uint8Array() } }],
      selfPeerId: 'self', selfPeerIdBytes: new Uint8Array([1]), maxConcurrency: 1, maxQueue: 10, maxPayload: 100, dedupTtlMs: 60_000, defaultTimeoutMs: 5000,
      maxTimeoutMs: tasks.maxTimeoutMs, maxReward: tasks.maxReward, dedupMaxEntries: tasks.dedupMaxEntries, dedupMaxBytes: tasks.dedupMaxBytes
    })
    const all = [ex.execute(req('a')), ex.execute(req('b')), ex.execute(req('c', { type: 'echo' }))]
    const backlog = async (): Promise<Record<string, number>> => Object.fromEntries((await metrics.taskBacklog.get()).values.map(v => [v.labels.capability, v.value]))
    expect(await backlog()).toEqual({ compute: 2, any: 1 })
    g.open()
    await Promise.all(all)
    // idle: each capability it serves at 0, so a sum over the fleet reads 0 rather than no data
    expect(await backlog()).toEqual({ compute: 0, any: 0 })
    ex.stop()
  })
  it('drain gives up at its signal with what still runs', async () => {
    const ex = make([{ type: 'slow', run: async () => await new Promise<Uint8Array>(() => {}) }])
    void ex.execute(req('stuck'))
    expect(await ex.drain(AbortSignal.timeout(50))).toBe(1)
  })
  it('grants a remote task at most max_timeout, whatever it asks for', async () => {
    const ex = make([{ type: 'hang', run: async () => await new Promise<Uint8Array>(() => {}) }], { maxTimeoutMs: 40 })
    const started = Date.now()
    const r = await ex.execute(req('h', { type: 'hang', timeoutMs: 2 ** 32 - 1 }))
    expect(r.status).toBe(TaskResponse.Status.TIMEOUT)
    // what is left of the 40 ms once the task leaves the queue (a loaded machine takes a few of them first)
    const granted = Number(/^timed out after (\d+)ms$/.exec(r.error)?.[1])
    expect(granted).toBeGreaterThan(0)
    expect(granted).toBeLessThanOrEqual(40)
    expect(Date.now() - started).toBeLessThan(5000)
  })
  it('the queue is bounded by payload bytes, and under pressure no submitter holds more than half of it', async () => {
    const g = gate()
    const ex = make([{ type: 'slow', run: async () => { await g.p; return new Uint8Array() } }], { maxQueue: 4, maxQueueBytes: 250, maxPayload: 200 })
    const p = (n: number): Uint8Array => new Uint8Array(n)
    const all = [ex.execute(req('run', { payload: p(100) }), Date.now(), { submitter: 'flood' })]
    all.push(ex.execute(req('q1', { payload: p(100) }), Date.now(), { submitter: 'flood' }))
    all.push(ex.execute(req('o1', { payload: p(10) }), Date.now(), { submitter: 'other' }))
    // half the queue's slots taken, and flood holds more than half of what waits
    const share = await ex.execute(req('q2', { payload: p(10) }), Date.now(), { submitter: 'flood' })
    expect(share).toMatchObject({ status: TaskResponse.Status.BUSY, error: 'queue half full and half of it is yours: wait for your tasks to run' })
    all.push(ex.execute(req('o2', { payload: p(10) }), Date.now(), { submitter: 'other' }))
    // 120 payload bytes wait: one more of 140 is past the 250-byte bound
    const bytes = await ex.execute(req('o3', { payload: p(140) }), Date.now(), { submitter: 'third' })
    expect(bytes.status).toBe(TaskResponse.Status.BUSY)
    expect(bytes.error).toMatch(/tasks\.max_queue_bytes/)
    expect(ex.queueDepth()['0']).toBe(3)
    g.open()
    expect((await Promise.all(all)).map(r => r.status)).toEqual(Array(4).fill(TaskResponse.Status.OK))
  })
  it('hands a followed task\'s progress to its sink, and none to an unfollowed one', async () => {

    const ex = make([{ type: 'slow', run: async ctx => { ctx.progress('line 1\n'); ctx.progress(new Uint8Array([65])); return new Uint8Array([ctx.followed ? 1 : 0]) } }])
    const got: string[] = []
    const followed = await ex.execute(req('a'), Date.now(), { onProgress: d => { got.push(new TextDecoder().decode(d)) } })
    expect(got).toEqual(['line 1\n', 'A'])
    expect([...followed.result]).toEqual([1])
    expect([...(await ex.execute(req('b'))).result]).toEqual([0])
  })
})

describe('TaskJournal', () => {
  const record = (id: string, state: string, extra = {}): any => ({ id, type: 'echo', state, submittedAt: Date.now(), broadcast: false, attempts: 0, results: [], ...extra })
  it('reads back the latest line of every id, specs with their payload, and skips a torn last line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'journal-')), 'tasks.jsonl')
    const j = new TaskJournal(file)
    expect(j.load()).toEqual([])
    j.put({ record: record('a', 'pending'), spec: { type: 'echo', payload: new Uint8Array([0, 1, 255]) } })
    j.put({ record: record('b', 'pending') })
    j.put({ record: record('a', 'done') })
    j.close()
    writeFileSync(file, readFileSync(file, 'utf8') + '{"record":{"id":"c","sta')
    const again = new TaskJournal(file)
    const entries = again.load()
    expect(entries.map(e => [e.record.id, e.record.state])).toEqual([['b', 'pending'], ['a', 'done']])
    expect(again.skipped).toBe(1)
    again.put({ record: record('d', 'pending'), spec: { type: 'echo', payload: new Uint8Array([7]) } })
    again.close()
    const third = new TaskJournal(file).load()
    expect([...third.find(e => e.record.id === 'd')!.spec!.payload]).toEqual([7])
  })
  it('is rewritten with only what is live once superseded lines dominate', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'journal-')), 'tasks.jsonl')
    const j = new TaskJournal(file)
    j.load()
    const big = 'x'.repeat(10_000)
    for (let i = 0; i < 300 && !j.bloated; i++) j.put({ record: record('same', 'done', { error: big + i }) })
    expect(j.bloated).toBe(true)
    j.rewrite([{ record: record('same', 'done') }])
    expect(j.bloated).toBe(false)
    expect(statSync(file).size).toBeLessThan(1000)
    j.close()
    expect(new TaskJournal(file).load().map(e => e.record.id)).toEqual(['same'])
  })
})

describe('task arguments', () => {
  it('parses the REPL words', () => {
    const r = parseTaskArgs(['compute', 'test_payload', '--timeout', '5s', '--reward', '3', '--cost=50', '--broadcast', '--param', 'k=v=w', '--capability', 'compute', '--retries', '0', '--follow'])
    expect(r).toMatchObject({ ok: true, spec: { type: 'compute', timeoutMs: 5000, reward: 3, broadcast: true, follow: true, capability: 'compute', maxRetries: 0, params: { cost: '50', k: 'v=w' } } })
    expect(r.ok && new TextDecoder().decode(r.spec.payload)).toBe('test_payload')
  })
  it.each([
    [[], /missing task type/],
    [['echo', 'a', 'b'], /too many words/],
    [['echo', '--timeout', 'soon'], /--timeout/],
    [['echo', '--reward', '-1'], /--reward/],
    [['echo', '--frobnicate'], /unknown option --frobnicate/],
    [['Bad Type!'], /type: a task type name/]
  ])('rejects %j', (words, message) => {
    const r = parseTaskArgs(words)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toMatch(message)
  })
  it('parses the HTTP body and names the bad field', () => {
    expect(parseTaskJson({ type: 'echo', payload: 'hi', timeout: '2s', wait: false })).toMatchObject({ ok: true, wait: false, spec: { type: 'echo', timeoutMs: 2000 } })
    const b64 = parseTaskJson({ type: 'echo', payload_base64: Buffer.from([0, 255]).toString('base64') })
    expect(b64.ok && [...b64.spec.payload]).toEqual([0, 255])
    expect(parseTaskJson({ type: 'echo', payload: 5 })).toEqual({ ok: false, error: 'payload: must be a string (or use payload_base64)' })
    expect(parseTaskJson({ type: 'echo', extra: 1 })).toEqual({ ok: false, error: 'unknown field(s): extra' })
    expect(parseTaskJson([])).toEqual({ ok: false, error: 'body must be a JSON object' })
    expect(parseTaskJson({ type: 'echo', payload: 'a', payload_base64: 'aGVsbG8=' })).toEqual({ ok: false, error: 'payload, payload_base64: give one of the two, not both' })
    expect(parseTaskJson({ type: 'echo', payload: '', payload_base64: 'aGVsbG8=' }).ok).toBe(false)
  })
})

describe('TaskRecords', () => {
  const record = (id: string, state: string, extra = {}): any => ({ id, type: 'echo', state, submittedAt: Date.now(), broadcast: false, attempts: 0, results: [], ...extra })
  const spec = { type: 'echo', payload: new Uint8Array([1, 2]) }
  const journalFile = (): string => join(mkdtempSync(join(tmpdir(), 'records-')), 'tasks.jsonl')
  const make = (journal: TaskJournal, open: OpenTask[] = [], bounds = {}): TaskRecords => new TaskRecords({
    journal, ttlMs: 60_000, maxEntries: 3, maxBytes: 1 << 20, active: () => open, isActive: id => open.some(t => t.record.id === id), ...bounds
  })

  it('load: ended tasks come back, unfinished wait:false ones are to resume, unfinished waited ones fail as interrupted, expired ones are forgotten', () => {
    const file = journalFile()
    const j = new TaskJournal(file)
    j.load()
    j.put({ record: record('ended', 'done') })
    j.put({ record: record('resume-me', 'running', { detached: true }), spec })
    j.put({ record: record('waited', 'running') })
    j.put({ record: record('old', 'done', { submittedAt: Date.now() - 120_000 }) })
    j.close()
    const again = new TaskJournal(file)
    const records = make(again)
    const loaded = records.load()
    expect(loaded.resumable.map(r => r.record.id)).toEqual(['resume-me'])
    expect([...loaded.resumable[0].spec.payload]).toEqual([1, 2])
    expect(loaded.interrupted).toBe(1)
    expect(loaded.kept).toBe(3)
    expect(records.get('old')).toBeUndefined()
    expect(records.get('waited')).toMatchObject({ state: 'failed', error: expect.stringMatching(/^interrupted: /) })
    // the expired one is no longer live in the journal: the next rewrite leaves it out
    expect(again.has('old')).toBe(false)
    expect(again.has('ended')).toBe(true)
    again.close()
    // the interrupted one was written back as failed
    const third = new TaskJournal(file).load()
    expect(third.find(e => e.record.id === 'waited')?.record.state).toBe('failed')
  })

  it('wait:false records have bounds of their own: waited ones never push them out', () => {
    const j = new TaskJournal(journalFile())
    j.load()
    const records = make(j)
    records.add(record('mine', 'done', { detached: true }))
    for (let i = 0; i < 10; i++) records.add(record(`w${i}`, 'done'))
    expect(records.get('mine')?.id).toBe('mine')
    expect(records.list().filter(r => r.detached !== true)).toHaveLength(3)
    expect(records.get('w0')).toBeUndefined()
  })

  it('an unfinished durable task stays in the journal when the bounds drop its record, and is forgotten once it has ended', () => {
    const file = journalFile()
    const j = new TaskJournal(file)
    j.load()
    const running: OpenTask = { record: record('long', 'running'), spec, durable: true, resumable: false }
    const open = [running]
    const records = make(j, open)
    records.add(running.record)
    records.save(running)
    for (let i = 0; i < 5; i++) { const t = { record: record(`s${i}`, 'done'), spec, durable: true, resumable: false }; records.add(t.record); records.save(t) }
    expect(records.get('long')).toBeUndefined()
    expect(j.has('long')).toBe(true)
    running.record.state = 'done'
    records.save(running)
    open.length = 0
    records.ended(running.record)
    expect(j.has('long')).toBe(false)
  })

  it('a rewrite of a bloated journal keeps the kept records and the unfinished resumable tasks with their specs', () => {
    const file = journalFile()
    const j = new TaskJournal(file)
    j.load()
    const pending: OpenTask = { record: record('later', 'pending', { detached: true }), spec, durable: true, resumable: true }
    const records = make(j, [pending], { maxEntries: 1000 })
    records.add(pending.record)
    records.save(pending)
    const big = 'x'.repeat(10_000)
    const churn: OpenTask = { record: record('churn', 'running'), spec, durable: true, resumable: false }
    records.add(churn.record)
    for (let i = 0; i < 300; i++) { churn.record.error = big + i; records.save(churn) }
    expect(j.bloated).toBe(false)
    j.close()
    const entries = new TaskJournal(file).load()
    expect(entries.map(e => e.record.id).sort()).toEqual(['churn', 'later'])
    expect([...entries.find(e => e.record.id === 'later')!.spec!.payload]).toEqual([1, 2])
    expect(entries.find(e => e.record.id === 'churn')!.spec).toBeUndefined()
  })
})

describe('storage quota (tasks.storage_max_bytes)', () => {
  it('a put past the quota is refused; the same blob again costs nothing; a replica counts too', async () => {
    const { storageHandlers } = await import('../../src/tasks/handlers/storage.js')
    const dir = mkdtempSync(join(tmpdir(), 'blobs-'))
    const [put, replicate] = storageHandlers(dir, 2, 100)
    const ctx = (payload: Uint8Array): any => ({ id: 't', payload, params: {}, signal: new AbortController().signal, progress: () => {}, followed: false, selfPeerId: 'me', submit: async () => ({ ok: false }) })
    const a = new Uint8Array(60).fill(1)
    expect(JSON.parse(new TextDecoder().decode(await put.run(ctx(a))))).toMatchObject({ size: 60 })
    await put.run(ctx(a))
    await expect(put.run(ctx(new Uint8Array(60).fill(2)))).rejects.toThrow(/storage full: 60 of 100 bytes used \(tasks\.storage_max_bytes\)/)
    await expect(replicate.run(ctx(new Uint8Array(50).fill(3)))).rejects.toThrow(/storage full/)
    await replicate.run(ctx(new Uint8Array(40).fill(4)))
    // a node restarted counts what the folder holds
    const [again] = storageHandlers(dir, 2, 100)
    await expect(again.run(ctx(new Uint8Array(1).fill(5)))).rejects.toThrow(/100 of 100 bytes used/)
    expect(statSync(join(dir, 'blobs')).mode & 0o777).toBe(0o700)
  })
})
