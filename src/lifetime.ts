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
