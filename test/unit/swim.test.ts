import { describe, expect, it } from 'vitest'
import { SwimSim } from '../harness/swim-sim.js'

// The SWIM core (src/membership/swim.ts) on a simulated network and clock: behaviour, not speed (the figures at
// 1,000 and 10,000 members are bench/swim.mjs's). Defaults: 500 ms period, 200 ms probe timeout, k = 3; the
// suspicion timeout at 20 members is 1.3 s to 7.8 s (2 x log10(n) periods, down from 6 times that as others confirm).
const suspicionsOf = (sim: SwimSim, id: string, kind: 'suspect' | 'dead' | 'raised'): number =>
  [...sim.nodes.values()].reduce((n, node) => n + node.events.filter(e => e.type === kind && 'id' in e && e.id === id).length, 0)

describe('SWIM membership core (simulated network)', () => {
  it('a steady fleet with no loss suspects nobody', () => {
    const sim = new SwimSim({ n: 50, seed: 3 })
    sim.run(20_000)
    for (const id of sim.ids) expect(suspicionsOf(sim, id, 'suspect'), id).toBe(0)
    expect(sim.share('n0', s => s === 'alive')).toBe(1)
  })

  it('a killed member is suspected, then declared dead by every member', () => {
    const sim = new SwimSim({ n: 50, seed: 4 })
    sim.run(3000)
    sim.kill('n7')
    const at = sim.run(60_000, () => sim.share('n7', s => s === 'dead') === 1)
    expect(sim.share('n7', s => s === 'dead')).toBe(1)
    expect(suspicionsOf(sim, 'n7', 'suspect')).toBeGreaterThan(0)
    expect(at).toBeLessThan(30_000)
    // nobody else was touched
    for (const id of sim.ids.filter(i => i !== 'n7')) expect(suspicionsOf(sim, id, 'dead'), id).toBe(0)
  })

  it('a member one node cannot reach directly is reached through others (ping-req): not suspected', () => {
    const sim = new SwimSim({ n: 20, seed: 5 })
    sim.cut('n1', 'n2')
    sim.run(30_000)
    expect(sim.nodes.get('n1')!.state('n2')).toBe('alive')
    expect(suspicionsOf(sim, 'n2', 'suspect')).toBe(0)
    expect(suspicionsOf(sim, 'n1', 'suspect')).toBe(0)
  })

  it('a member slower than the probe timeout but within the period is not suspected (the relayed probes wait too)', () => {
    const sim = new SwimSim({ n: 20, seed: 6 })
    // each way 120 ms more: its acks miss the 200 ms timeout, so ping-reqs go out, but come within the period
    sim.slow('n3', 120)
    sim.run(30_000)
    expect(suspicionsOf(sim, 'n3', 'suspect')).toBe(0)
  })

  it('a member that stops (a GC pause) until someone suspects it, refutes when it wakes, and is never declared dead', () => {
    const sim = new SwimSim({ n: 20, seed: 6 })
    sim.run(3000)
    sim.freeze('n3')
    // it wakes as soon as a probe of it has failed somewhere, well within the suspicion timeout
    sim.run(10_000, () => suspicionsOf(sim, 'n3', 'raised') > 0)
    sim.thaw('n3')
    sim.run(sim.now + 20_000)
    expect(suspicionsOf(sim, 'n3', 'suspect')).toBeGreaterThan(0)
    expect(suspicionsOf(sim, 'n3', 'dead')).toBe(0)
    expect(sim.nodes.get('n3')!.incarnationOf('n3')).toBeGreaterThan(1)
    expect(sim.share('n3', s => s === 'alive')).toBe(1)
  })

  it('a partition: each side declares the other dead; after the heal everyone sees everyone alive again', () => {
    const sim = new SwimSim({ n: 30, seed: 7, swim: { syncIntervalMs: 5000 } })
    sim.run(2000)
    const a = sim.ids.slice(0, 15)
    sim.partition(a)
    sim.run(40_000)
    expect(sim.share('n20', s => s === 'dead')).toBeGreaterThan(0.4)
    sim.heal()
    const allAlive = (): boolean => sim.ids.every(id => sim.share(id, s => s === 'alive') === 1)
    sim.run(200_000, allAlive)
    expect(allAlive()).toBe(true)
  })

  it('a joiner that knows one seed is known to every member, alive', () => {
    const sim = new SwimSim({ n: 50, seed: 8 })
    sim.run(2000)
    sim.join('new', 'n5')
    sim.run(30_000, () => sim.share('new', s => s === 'alive') === 1)
    expect(sim.share('new', s => s === 'alive')).toBe(1)
    // and it knows every member (the seed's sync)
    expect(sim.nodes.get('new')!.list().filter(m => m.state === 'alive')).toHaveLength(50)
  })

  it('with 5 % of messages lost a killed member is still found dead by everyone, and live ones are not declared dead', () => {
    const sim = new SwimSim({ n: 100, seed: 9, loss: 0.05 })
    sim.run(5000)
    sim.kill('n42')
    sim.run(60_000, () => sim.share('n42', s => s === 'dead') === 1)
    expect(sim.share('n42', s => s === 'dead')).toBe(1)
    for (const id of sim.ids.filter(i => i !== 'n42')) expect(suspicionsOf(sim, id, 'dead'), id).toBe(0)
  })

  it('a liar\'s death of a live member with an incarnation far above what anyone knows is ignored everywhere', () => {
    const sim = new SwimSim({ n: 20, seed: 10 })
    sim.run(2000)
    for (const incarnation of [2 ** 50, 5_000_000, Number.MAX_SAFE_INTEGER, -1, 1.5]) {
      sim.inject('n1', { type: 'gossip', from: 'liar', updates: [{ kind: 'dead', id: 'n4', incarnation, from: 'liar' }] })
      sim.inject('n2', { type: 'sync', from: 'liar', reply: true, digest: 0, members: [{ kind: 'suspect', id: 'n4', incarnation, from: 'liar' }] })
    }
    sim.run(10_000)
    expect(sim.share('n4', s => s === 'alive')).toBe(1)
    expect(sim.nodes.get('n4')!.incarnationOf('n4')).toBe(1)
  })

  it('a liar\'s suspicion with a believable incarnation is refuted by its victim: never declared dead', () => {
    const sim = new SwimSim({ n: 20, seed: 11 })
    sim.run(2000)
    sim.inject('n1', { type: 'gossip', from: 'liar', updates: [{ kind: 'suspect', id: 'n4', incarnation: 1, from: 'liar' }] })
    sim.run(20_000)
    expect(suspicionsOf(sim, 'n4', 'dead')).toBe(0)
    expect(sim.nodes.get('n4')!.incarnationOf('n4')).toBe(2)
    expect(sim.share('n4', s => s === 'alive')).toBe(1)
  })

  it('made-up members from a liar cannot grow a table past maxMembers', () => {
    const sim = new SwimSim({ n: 10, seed: 12, swim: { maxMembers: 64 } })
    sim.run(1000)
    const fakes = Array.from({ length: 10_000 }, (_, i) => ({ kind: 'alive' as const, id: `fake-${i}`, incarnation: 1, from: 'liar' }))
    sim.inject('n1', { type: 'sync', from: 'liar', reply: true, digest: 0, members: fakes })
    sim.inject('n1', { type: 'gossip', from: 'liar', updates: fakes.slice(0, 500) })
    sim.run(10_000)
    for (const node of sim.nodes.values()) expect(node.list().length).toBeLessThanOrEqual(64)
    // the real members are all still there, alive
    expect(sim.ids.every(id => sim.share(id, s => s === 'alive') === 1)).toBe(true)
  })

  it('made-up members that die and are forgotten leave nothing behind, however many rounds a liar sends', () => {
    // kept dead for 20 s (the default is 120 s): long enough for every member to have heard of the death first
    const sim = new SwimSim({ n: 10, seed: 13, swim: { deadKeepMs: 20_000 } })
    sim.run(1000)
    for (let round = 0; round < 5; round++) {
      sim.inject('n1', { type: 'gossip', from: 'liar', updates: Array.from({ length: 50 }, (_, i) => ({ kind: 'alive' as const, id: `fake-${round}-${i}`, incarnation: 1, from: 'liar' })) })
      // unreachable: suspected, declared dead, then forgotten
      sim.run(sim.now + 60_000)
    }
    sim.run(sim.now + 120_000)
    for (const node of sim.nodes.values()) {
      expect(node.list().filter(m => m.id.startsWith('fake-'))).toEqual([])
      expect((node as unknown as { extras: string[] }).extras).toEqual([])
    }
    expect(sim.ids.every(id => sim.share(id, s => s === 'alive') === 1)).toBe(true)
  })
})
