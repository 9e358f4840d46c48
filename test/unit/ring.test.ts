import { describe, expect, it } from 'vitest'
import { Ring } from '../../src/util/ring.js'

describe('Ring', () => {
  it('keeps the newest `capacity` items, oldest first, across many wraps', () => {
    const r = new Ring<number>(3)
    expect(r.toArray()).toEqual([])
    expect(r.first()).toBeUndefined()
    for (let i = 1; i <= 2; i++) r.push(i)
    expect(r.toArray()).toEqual([1, 2])
    for (let i = 3; i <= 10; i++) r.push(i)
    expect(r.toArray()).toEqual([8, 9, 10])
    expect(r.first()).toBe(8)
    expect(r.size).toBe(3)
  })
})
