/** Exponential backoff with full jitter: attempt 0 waits up to `baseMs`, doubling up to `maxMs`. */
export function backoffDelay (attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(cap / 2 + random() * cap / 2)
}
