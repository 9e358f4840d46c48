import { createHash } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { TooManyTasksError } from '../../src/util/errors.js'
import { TaskResponse, type TaskRequest } from '../../src/messages/tasks.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { TaskJournal } from '../../src/tasks/journal.js'
import { Submitter, type SubmitterInit } from '../../src/tasks/submitter.js'
import type { Member } from '../../src/membership/core.js'
import { defaultConfig, silentLogger } from '../harness/fixtures.js'

const defaults = defaultConfig().tasks
const newId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

function member (peerId: string, name: string, types: string[]): Member {
  return {
    peerId, name, role: 'worker', version: '1', capabilities: ['storage'], addresses: [], taskTypes: types, maxConcurrency: 4, queueCapacity: 10, load: 0,
    healthy: true, seq: 1n, intervalMs: 1000, misses: 3, firstSeen: 0, lastSeen: Date.now(), state: { phase: 'alive' }
  }
}

const answer = (req: TaskRequest, result: Uint8Array): TaskResponse => ({
  id: req.id, status: TaskResponse.Status.OK, result: result as Uint8Array<ArrayBuffer>, error: '', worker: new Uint8Array() as Uint8Array<ArrayBuffer>, queueMs: 0, runMs: 0, reward: 0n, duplicate: false, dropped: 0
})

/** a submitter over a made-up membership and network: `answers` says what each worker answers */
async function harness (answers: Record<string, (req: TaskRequest) => Promise<TaskResponse>>, init: Partial<SubmitterInit> = {}, journal?: TaskJournal) {
  const registry = new Registry()
  const metrics = createMetrics(registry)
  const members = Object.keys(answers).map(name => ({ name, id: '' }))
  for (const m of members) m.id = await newId()
  const table = members.map(m => member(m.id, m.name, ['storage.get', 'echo']))
  const asked: string[] = []
  const submitter = new Submitter({
    membership: { members: () => table, get: id => table.find(m => m.peerId === id) },
    network: { request: async (peer, req) => { const name = members.find(m => m.id === peer.toString())!.name; asked.push(name); return await answers[name](req) } },
    journal,
    rtt: () => 1,
    metrics,
    logger: silentLogger()
  }, { selfPeerId: await newId(), selfName: 'me', selfCapabilities: [], maxPayload: 1024, defaultTimeoutMs: 2000, maxRetries: 3, keep: defaults.recordsMax, keepBytes: defaults.recordsMaxBytes, ...init })
  const counter = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
    (await registry.getSingleMetric(name)!.get()).values.filter(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0)
  return { submitter, asked, counter, table }
}

describe('the submitter checks what it can of a worker\'s answer', () => {
  it('storage.get: a blob that does not hash to the hash asked for is refused, and the next worker asked', async () => {
    const blob = new TextEncoder().encode('the real bytes')
    const hash = createHash('sha256').update(blob).digest('hex')
    const h = await harness({
      liar: async req => answer(req, new TextEncoder().encode('something else')),
      honest: async req => answer(req, blob)
    })
    // the honest worker looks busier: the liar is asked first
    h.table.find(m => m.name === 'honest')!.load = 3
    const record = await h.submitter.submit({ type: 'storage.get', payload: new TextEncoder().encode(hash) })
    expect(record.state).toBe('done')
    expect(record.results[0].output).toBe('the real bytes')
    expect(record.results[0].workerName).toBe('honest')
    expect(h.asked).toEqual(['liar', 'honest'])
    expect(await h.counter('p2p_invalid_messages_total', { reason: 'task_answer' })).toBe(1)
  })
  it('storage.get from liars only fails, never handing the caller the wrong bytes', async () => {
    const hash = createHash('sha256').update('x').digest('hex')
    const h = await harness({ a: async req => answer(req, new Uint8Array([1])), b: async req => answer(req, new Uint8Array([2])) }, { maxRetries: 1 })
    const record = await h.submitter.submit({ type: 'storage.get', payload: new TextEncoder().encode(hash) })
    expect(record.state).toBe('failed')
    expect(record.results[0].output).toBeUndefined()
    expect(record.error).toMatch(/hashes to .* not to the hash asked for/)
    expect(await h.counter('p2p_invalid_messages_total', { reason: 'task_answer' })).toBe(2)
  })
})

describe('the submitter\'s own bounds', () => {
  it('past tasks.max_pending unfinished tasks a new one is refused (429), and taken again once one ends', async () => {
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    const h = await harness({ w: async req => { await held; return answer(req, req.payload) } }, { maxPending: 2 })
    const a = h.submitter.accept({ type: 'echo', payload: new Uint8Array([1]) })
    const b = h.submitter.accept({ type: 'echo', payload: new Uint8Array([2]) })
    const runs = [h.submitter.completion(a, { type: 'echo', payload: new Uint8Array([1]) }), h.submitter.completion(b, { type: 'echo', payload: new Uint8Array([2]) })]
    expect(() => h.submitter.accept({ type: 'echo', payload: new Uint8Array([3]) })).toThrow(TooManyTasksError)
    expect(await h.counter('p2p_tasks_refused_total', { reason: 'too_many_pending' })).toBe(1)
    release()
    await Promise.all(runs)
    expect((await h.submitter.submit({ type: 'echo', payload: new Uint8Array([3]) })).state).toBe('done')
  })
  it('and past tasks.max_pending_bytes of their payloads', async () => {
    const h = await harness({ w: async req => await new Promise<TaskResponse>(() => {}) }, { maxPendingBytes: 100, defaultTimeoutMs: 60_000 })
    h.submitter.accept({ type: 'echo', payload: new Uint8Array(60) })
    expect(() => h.submitter.accept({ type: 'echo', payload: new Uint8Array(60) })).toThrow(/max_pending_bytes 100/)
    expect(() => h.submitter.accept({ type: 'echo', payload: new Uint8Array(40) })).not.toThrow()
  })
})

describe('a journal that cannot be written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'))
  afterAll(() => { chmodSync(dir, 0o700); rmSync(dir, { recursive: true, force: true }) })

  it('never leaves a task pending: it runs and ends, and the failure is counted', async () => {
    const journal = new TaskJournal(join(dir, 'tasks.jsonl'))
    journal.load()
    // the disk is gone from under it: every write fails
    journal.close()
    const h = await harness({ w: async req => answer(req, req.payload) }, {}, journal)
    const record = await h.submitter.submit({ type: 'echo', payload: new TextEncoder().encode('hi') }, { durable: true })
    expect(record.state).toBe('done')
    expect(h.submitter.get(record.id)?.state).toBe('done')
    expect(await h.counter('p2p_task_journal_errors_total')).toBeGreaterThanOrEqual(2)
  })
})

describe('the circuit breaker', () => {
  afterAll(() => { vi.useRealTimers() })

  it('a worker whose task stream cannot be opened (gone, or not speaking the protocol it advertises) is set aside, for longer each time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { AttemptError } = await import('../../src/tasks/network.js')
    const h = await harness({
      mute: async () => { throw new AttemptError('rejected', 'cannot open a task stream: protocol selection failed', true) },
      honest: async req => answer(req, req.payload)
    })
    // the honest worker looks busier: the mute one is picked whenever it is not set aside
    h.table.find(m => m.name === 'honest')!.load = 3
    const round = async (): Promise<number> => {
      for (let i = 0; i < 4; i++) expect((await h.submitter.submit({ type: 'echo', payload: new Uint8Array([i]) })).state).toBe('done')
      return h.asked.filter(n => n === 'mute').length
    }
    const later = (ms: number): void => { vi.setSystemTime(Date.now() + ms) }
    expect(await round()).toBe(1) // skipped for 2 s after a failure
    later(2100)
    expect(await round()).toBe(2) // the second failure in a row: set aside for 2 s
    expect(await h.counter('p2p_task_workers_set_aside_total')).toBe(1)
    later(2100)
    expect(await round()).toBe(3) // the third: 4 s
    later(2100)
    expect(await round()).toBe(3)
    later(2100)
    expect(await round()).toBe(4)
    expect(await h.counter('p2p_task_workers_set_aside_total')).toBe(3)
  })
})
