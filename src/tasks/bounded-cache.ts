export interface CacheLimits<V = unknown> {
  /** how long an id is remembered */
  ttlMs: number
  /** at most this many ids */
  maxEntries: number
  /** at most this many bytes of remembered values (as `weigh` reports them) */
  maxBytes?: number
  /** called for every entry dropped by a bound (not for `set` over an existing id) */
  onEvict?: (id: string, value: V) => void
}

/**
 * A map by id bounded three ways: by age (`ttlMs`: expired entries are dropped as new ones arrive, not only
 * when asked for), by count and by bytes (oldest evicted first). The executor's deduplication cache and the
 * submitter's task records use it. Bounded by time alone, a busy worker kept every answer of the last ten
 * minutes: ~4 MiB a minute at 100 tasks/s.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V, at: number, bytes: number }>()
  private totalBytes = 0

  constructor (private readonly limits: CacheLimits<V>) {}

  get (id: string, now: number): V | undefined {
    const e = this.entries.get(id)
    if (e == null) return undefined
    if (now - e.at > this.limits.ttlMs) {
      this.remove(id)
      this.limits.onEvict?.(id, e.value)
      return undefined
    }
    return e.value
  }

  /** remembers `value` under `id`; `bytes` is what it holds (0 until known: see `weigh`) */
  set (id: string, value: V, now: number, bytes = 0): void {
    this.remove(id)
    this.entries.set(id, { value, at: now, bytes })
    this.totalBytes += bytes
    this.evict(now)
  }

  /** records what an entry holds once that is known (e.g. when its answer is ready) */
  weigh (id: string, bytes: number, now: number): void {
    const e = this.entries.get(id)
    if (e == null) return
    this.totalBytes += bytes - e.bytes
    e.bytes = bytes
    this.evict(now)
  }

  /** when the oldest entry was stored (undefined when empty): how far back the cache reaches */
  oldest (): number | undefined {
    for (const e of this.entries.values()) return e.at
    return undefined
  }

  /** the live entries, oldest first */
  values (): V[] { return [...this.entries.values()].map(e => e.value) }

  get size (): number { return this.entries.size }
  get bytes (): number { return this.totalBytes }

  private remove (id: string): void {
    const e = this.entries.get(id)
    if (e == null) return
    this.totalBytes -= e.bytes
    this.entries.delete(id)
  }

  /** entries are kept in insertion order, which is age order: the oldest go first */
  private evict (now: number): void {
    const maxBytes = this.limits.maxBytes ?? Infinity
    for (const [id, e] of this.entries) {
      const over = this.entries.size > this.limits.maxEntries || this.totalBytes > maxBytes
      if (!over && now - e.at <= this.limits.ttlMs) break
      this.remove(id)
      this.limits.onEvict?.(id, e.value)
    }
  }
}
