/**
 * A bounded queue ordered by reward (highest first), then age (oldest first). Pure data structure:
 * a binary heap, O(log n) push and pop.
 */
export interface QueueItem { reward: number, enqueuedAt: number, seq: number }

export function before (a: QueueItem, b: QueueItem): boolean {
  if (a.reward !== b.reward) return a.reward > b.reward
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt
  return a.seq < b.seq
}

export class TaskQueue<T extends QueueItem> {
  private readonly heap: T[] = []
  constructor (readonly capacity: number) {}

  get size (): number { return this.heap.length }
  get full (): boolean { return this.heap.length >= this.capacity }

  /** false when full: the caller answers busy */
  push (item: T): boolean {
    if (this.full) return false
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
    return true
  }

  pop (): T | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let best = i
        if (l < h.length && before(h[l], h[best])) best = l
        if (r < h.length && before(h[r], h[best])) best = r
        if (best === i) break
        ;[h[i], h[best]] = [h[best], h[i]]
        i = best
      }
    }
    return top
  }

  /** removes the items for which `drop` is true (expired tasks) */
  removeWhere (drop: (item: T) => boolean): T[] {
    const removed = this.heap.filter(drop)
    if (removed.length === 0) return []
    const kept = this.heap.filter(i => !drop(i))
    this.heap.length = 0
    for (const i of kept) this.push(i)
    return removed
  }
}
