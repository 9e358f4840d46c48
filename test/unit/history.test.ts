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
})
