/**
 * What a Startable component hands its dials and pings: a signal that ends at the timeout or when the
 * component stops, whichever comes first. `start` after a `stop` begins a new lifetime.
 */
export class Lifetime {
  private abort = new AbortController()

  start (): void { if (this.abort.signal.aborted) this.abort = new AbortController() }
  stop (): void { this.abort.abort() }
  /** aborted after `ms`, or at stop */
  signal (ms: number): AbortSignal { return AbortSignal.any([this.abort.signal, AbortSignal.timeout(ms)]) }
}

/** settles as soon as the signal aborts (with its reason), even if `work` ignores it; `work` settles unwatched then */
export async function raceAbort<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(v => { signal.removeEventListener('abort', onAbort); resolve(v) }, e => { signal.removeEventListener('abort', onAbort); reject(e) })
  })
}

/** resolves after `ms`, or as soon as `signal` aborts (it never rejects: the caller looks at the signal) */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** resolves once `done()` is true (checked every `intervalMs`) or `signal` aborts; true when it was done */
export async function until (done: () => boolean, signal: AbortSignal, intervalMs = 100): Promise<boolean> {
  while (!done()) {
    if (signal.aborted) return false
    await sleep(intervalMs, signal)
  }
  return true
}
