/**
 * Remembers tasks by id for `ttlMs`, at most `max` entries (oldest evicted first), so a repeated attempt
 * joins the running one or gets the first result instead of running again.
 */
export class DedupCache<V> {
  private readonly entries = new Map<string, { value: V, at: number }>()
  constructor (private readonly ttlMs: number, private readonly max: number) {}

  get (id: string, now: number): V | undefined {
    const e = this.entries.get(id)
    if (e == null) return undefined
    if (now - e.at > this.ttlMs) {
      this.entries.delete(id)
      return undefined
    }
    return e.value
  }

  set (id: string, value: V, now: number): void {
    this.entries.delete(id)
    this.entries.set(id, { value, at: now })
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  get size (): number { return this.entries.size }
}
