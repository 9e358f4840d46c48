import { describe, expect, it } from 'vitest'
import { EventHub, type EventSink } from '../../src/control/events.js'

/** a client that takes what it is sent (or, `stalled`, takes nothing: its bytes pile up) */
function client (stalled = false) {
  const frames: string[] = []
  let pending = 0
  let closed = false
  const sink: EventSink = {
    write: chunk => { frames.push(chunk); if (stalled) pending += chunk.length },
    pending: () => pending,
    close: () => { closed = true }
  }
  const ids = (): number[] => frames.map(f => Number(/^id: (\d+)/.exec(f)?.[1]))
  const types = (): string[] => frames.map(f => /\nevent: (\S+)/.exec(f)?.[1] ?? '')
  return { sink, frames, ids, types, closed: () => closed }
}

describe('event stream (/api/events)', () => {
  it('every client gets every event in order, in the SSE format', () => {
    const hub = new EventHub()
    const a = client()
    const b = client()
    hub.subscribe(a.sink)
    hub.subscribe(b.sink)
    hub.publish('member', { peerId: 'p1', state: 'alive' })
    hub.publish('member', { peerId: 'p1', state: 'gone' })
    expect(a.frames).toEqual(b.frames)
    expect(a.frames[0]).toBe('id: 1\nevent: member\ndata: {"peerId":"p1","state":"alive"}\n\n')
    expect(a.ids()).toEqual([1, 2])
  })

  it('a client that reconnects with Last-Event-ID gets what it missed, and nothing twice', () => {
    const hub = new EventHub()
    for (let i = 0; i < 5; i++) hub.publish('task', { n: i })
    const again = client()
    hub.subscribe(again.sink, 3)
    hub.publish('task', { n: 5 })
    expect(again.ids()).toEqual([4, 5, 6])
  })

  it('one whose last event is no longer kept, or from before the node restarted, is told to start over', () => {
    const hub = new EventHub({}, { keep: 3 })
    for (let i = 0; i < 10; i++) hub.publish('task', { n: i })
    const old = client()
    hub.subscribe(old.sink, 2)
    expect(old.types()).toEqual(['reset'])
    const fromBefore = client()
    hub.subscribe(fromBefore.sink, 5000)
    expect(fromBefore.types()).toEqual(['reset'])
  })

  it('a slow client is dropped once its unsent bytes pass the bound; the others carry on; the drop is counted', () => {
    let dropped = 0
    const hub = new EventHub({ onDropped: () => { dropped++ } }, { maxPendingBytes: 1000 })
    const slow = client(true)
    const fast = client()
    hub.subscribe(slow.sink)
    hub.subscribe(fast.sink)
    for (let i = 0; i < 100; i++) hub.publish('task', { n: i, pad: 'x'.repeat(50) })
    expect(slow.closed()).toBe(true)
    expect(slow.frames.reduce((n, f) => n + f.length, 0)).toBeLessThanOrEqual(1000)
    expect(fast.ids()).toHaveLength(100)
    expect(hub.clients).toBe(1)
    expect(dropped).toBe(1)
  })
})
