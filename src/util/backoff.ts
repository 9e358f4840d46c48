/** Exponential backoff, the one formula: `baseMs` at step 0, doubling each step, never past `maxMs`. */
export function exponentialDelay (step: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, step), 30))
}

/** The same with jitter (between half and all of it), for dials many nodes make at once. */
export function backoffDelay (attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = exponentialDelay(attempt, baseMs, maxMs)
  return Math.round(cap / 2 + random() * cap / 2)
}
