import type { TaskOutput, TaskRecord } from './types.js'

/** what a follower of a task gets: output as it comes, then the record once the task has ended */
export interface TaskFollower {
  output: (o: TaskOutput) => void
  end: (record: TaskRecord) => void
}

/** the latest pieces kept for followers who join late, bounded by count and by bytes */
const KEEP = 500
const KEEP_BYTES = 256 * 1024
const decoder = new TextDecoder()

/** A running task's output on the submitting node: the latest pieces (bounded) and who follows them. */
export class Followers {
  private readonly kept: TaskOutput[] = []
  private keptBytes = 0
  private seq = 0
  private readonly followers = new Set<TaskFollower>()

  /** a piece from `worker`: kept and passed on; `dropped`: pieces lost before it */
  push (worker: string, data: Uint8Array, dropped: number): void {
    const o: TaskOutput = { seq: ++this.seq, worker, text: decoder.decode(data), dropped }
    this.kept.push(o)
    this.keptBytes += o.text.length
    while (this.kept.length > KEEP || this.keptBytes > KEEP_BYTES) this.keptBytes -= this.kept.shift()!.text.length
    for (const f of this.followers) f.output(o)
  }

  /** the pieces kept so far, then the rest as they come; returns the function that stops following */
  add (follower: TaskFollower): () => void {
    for (const o of this.kept) follower.output(o)
    this.followers.add(follower)
    return () => { this.followers.delete(follower) }
  }

  /** the task has ended: every follower gets its record */
  end (record: TaskRecord): void {
    for (const f of this.followers) f.end(record)
  }
}
