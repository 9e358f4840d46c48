import { describe, expect, it } from 'vitest'
import { History } from '../../src/control/history.js'

describe('node history (GET /api/history)', () => {
  it('samples connections, messages per second, RSS and event-loop lag into a bounded ring', async () => {
    let messages = 0
    const h = new History({ connections: () => 3, messages: () => messages }, { intervalMs: 60_000, keep: 2 })
    h.start()
    messages += 50
    await new Promise(resolve => setTimeout(resolve, 100))
    const s = h.sample()
    expect(s.connections).toBe(3)
    // 50 messages in about 0.1 s
    expect(s.messagesPerSecond).toBeGreaterThan(100)
    expect(s.messagesPerSecond).toBeLessThan(1000)
    expect(s.rssBytes).toBeGreaterThan(10 * 1024 ** 2)
    expect(s.loopLagMaxMs).toBeGreaterThanOrEqual(s.loopLagP50Ms)
    h.sample()
    h.sample()
    expect(h.samples()).toHaveLength(2)
    expect(h.samples()[1].messagesPerSecond).toBe(0)
    h.stop()
  })

  it('counts the tasks finished in each interval, their failures and latency p50/p99, and reports each sample', () => {
    const seen: number[] = []
    const h = new History({ connections: () => 0, messages: () => 0, onSample: s => { seen.push(s.taskP99Ms) } }, { intervalMs: 60_000 })
    for (let i = 1; i <= 100; i++) h.taskFinished(i, i % 10 !== 0)
    const s = h.sample()
    expect(s.taskFailures).toBe(10)
    expect(s.taskP50Ms).toBe(50)
    expect(s.taskP99Ms).toBe(99)
    expect(s.tasksPerSecond).toBeGreaterThan(0)
    // the next interval starts empty
    const next = h.sample()
    expect([next.tasksPerSecond, next.taskFailures, next.taskP50Ms, next.taskP99Ms]).toEqual([0, 0, 0, 0])
    expect(seen).toEqual([99, 0])
  })
})

describe('log ring (GET /api/logs)', () => {
  it('keeps the latest lines, bounded by count and line length, and filters by level when read', async () => {
    const { LogRing, createLogger } = await import('../../src/util/logger.js')
    const ring = new LogRing(3, 300)
    const log = createLogger({ level: 'debug', pretty: false, ring })
    log.debug('one')
    log.info({ peer: 'p' }, 'two')
    log.warn('three')
    log.error({ big: 'x'.repeat(1000) }, 'four')
    // pino writes to the ring synchronously
    const all = ring.read()
    expect(all.map(e => e.msg)).toEqual(['two', 'three', expect.stringMatching(/…\(cut\)$/)])
    expect(all[0]).toMatchObject({ level: 30, peer: 'p' })
    expect(all[2].level).toBe(50)
    expect(ring.read('warn').map(e => e.level)).toEqual([40, 50])
  })
})
