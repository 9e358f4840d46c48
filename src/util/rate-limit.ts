/**
 * Per-peer token buckets: `rate` tokens a second up to `burst`. Memory is bounded: past `maxKeys` peers the
 * least recently seen is forgotten (it starts again with a full bucket, which only favours an honest peer).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (private readonly rate: number, private readonly burst: number, private readonly maxKeys = 4096) {}

  /** takes one token for `key`; false when its bucket is empty (rate 0: never limits) */
  take (key: string, now = performance.now()): boolean {
    if (this.rate <= 0) return true
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now }
    this.buckets.delete(key)
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate / 1000)
    b.at = now
    const ok = b.tokens >= 1
    if (ok) b.tokens -= 1
    this.buckets.set(key, b)
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
    return ok
  }

  get size (): number { return this.buckets.size }
}
