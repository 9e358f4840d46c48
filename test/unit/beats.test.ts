import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createFailoverBeats } from '../../src/failover/beats.js'
import { silentLogger, freshMetrics } from '../harness/fixtures.js'

// The failover wire against a recording pubsub: what it subscribes, validates and leaves behind.
async function harness () {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const calls: string[] = []
  const listeners = new Set<unknown>()
  const pubsub = {
    topicValidators: new Map<string, unknown>(),
    subscribe: (t: string) => { calls.push(`subscribe ${t}`) },
    unsubscribe: (t: string) => { calls.push(`unsubscribe ${t}`) },
    addEventListener: (_e: string, l: unknown) => { listeners.add(l) },
    removeEventListener: (_e: string, l: unknown) => { listeners.delete(l) },
    publish: async () => ({ recipients: [] })
  }
  const beats = createFailoverBeats({
    peerId, pubsub: pubsub as any, streams: {} as any, metrics: freshMetrics(), logger: silentLogger()
  }, { protocolVersion: 'pv' })
  return { beats, calls, pubsub, listeners }
}

describe('failover beats (the wire)', () => {
  it('open subscribes once per service with a validator; one message listener for all services', async () => {
    const h = await harness()
    const a = h.beats.add('a', { members: [], onBeat: () => {} })
    const b = h.beats.add('b', { members: [], onBeat: () => {} })
    a.open(); a.open(); b.open()
    expect(h.calls).toEqual(['subscribe pv/failover/a/1', 'subscribe pv/failover/b/1'])
    expect([...h.pubsub.topicValidators.keys()]).toEqual(['pv/failover/a/1', 'pv/failover/b/1'])
    expect(h.listeners.size).toBe(1)
  })

  it('close drops the validator and, with the last service, the listener, but never unsubscribes', async () => {
    // an unsubscribe sends every mesh peer a PRUNE with backoff: when the same peer id comes back after a
    // restart, they refuse its GRAFT, score it down and stop sending it beats for a while (a takeover after
    // the next crash then took a lease longer; found by bench/failover.mjs)
    const h = await harness()
    const a = h.beats.add('a', { members: [], onBeat: () => {} })
    const b = h.beats.add('b', { members: [], onBeat: () => {} })
    a.open(); b.open()
    a.close(); a.close()
    expect(h.listeners.size).toBe(1)
    b.close()
    expect(h.listeners.size).toBe(0)
    expect(h.pubsub.topicValidators.size).toBe(0)
    expect(h.calls.filter(c => c.startsWith('unsubscribe'))).toEqual([])
  })
})

describe('the state stream: who may push a snapshot', () => {
  const fakeStream = () => {
    const calls: string[] = []
    return { calls, stream: { abort: (err: Error) => { calls.push(`abort: ${err.message}`) }, addEventListener: (e: string) => { calls.push(`listen ${e}`) }, close: async () => {} } }
  }
  it('a sender that is no member is cut off before a byte is read; a member is read', async () => {
    const { serveSnapshots } = await import('../../src/failover/beats.js')
    const invalid: string[] = []
    const serve = serveSnapshots(1024, from => from === 'member', () => {}, reason => { invalid.push(reason) })
    const outsider = fakeStream()
    serve(outsider.stream as any, { remotePeer: { toString: () => 'outsider' } } as any)
    expect(outsider.calls).toEqual(['abort: not a member of any service with a state file'])
    expect(invalid).toEqual(['state_not_member'])
    const member = fakeStream()
    serve(member.stream as any, { remotePeer: { toString: () => 'member' } } as any)
    expect(member.calls).toEqual(['listen message', 'listen close'])
  })
})
