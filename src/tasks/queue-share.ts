/**
 * Who holds a worker's queue: payload bytes waiting, all told and per submitter, and the rule that keeps one
 * submitter from taking all of it (docs/guides/security.md, "Task protocol").
 */
export class QueueShare {
  private bytes = 0
  private readonly by = new Map<string, { count: number, bytes: number }>()

  constructor (private readonly maxBytes = Infinity) {}

  /**
   * Why a task of `size` payload bytes from `submitter` cannot wait in a queue holding `queued` of `capacity` now,
   * or undefined when it can: the queue is full (by count or by payload bytes), or it is half full and this
   * submitter holds half of it already.
   */
  refusal (size: number, submitter: string, queued: number, capacity: number): string | undefined {
    if (queued >= capacity) return 'queue full'
    if (this.bytes + size > this.maxBytes) return `queue full (${this.bytes} payload bytes waiting; tasks.max_queue_bytes)`
    const mine = this.by.get(submitter)
    const busy = queued * 2 >= capacity || this.bytes * 2 >= this.maxBytes
    if (busy && mine != null && (mine.count * 2 > queued || mine.bytes * 2 > this.bytes) && this.by.size > 1) {
      return 'queue half full and half of it is yours: wait for your tasks to run'
    }
    return undefined
  }

  added (submitter: string, size: number): void {
    this.bytes += size
    const mine = this.by.get(submitter) ?? { count: 0, bytes: 0 }
    mine.count++
    mine.bytes += size
    this.by.set(submitter, mine)
  }

  removed (submitter: string, size: number): void {
    this.bytes -= size
    const mine = this.by.get(submitter)
    if (mine == null) return
    mine.count--
    mine.bytes -= size
    if (mine.count <= 0) this.by.delete(submitter)
  }
}
