/**
 * A worker's task queue: bounded, ordered by reward (highest first), and within one reward fair among
 * submitters: each submitter's tasks wait in their own first-in-first-out line and the lines take turns, so
 * one submitter's ten thousand tasks do not stand in front of another's single one. Pure data structure.
 */
export interface QueueItem {
  reward: number
  /** who sent it (the submitting peer): the unit of fairness */
  submitter: string
}

/** one reward's lines, one per submitter, in turn order (a Map keeps insertion order) */
class RewardClass<T> {
  readonly lines = new Map<string, T[]>()
  size = 0
}

/** the priority classes `status` and the queue-depth metric report: rewards grouped by order of magnitude */
export const PRIORITY_CLASSES = ['0', '1-9', '10-99', '100-999', '1000+'] as const
export type PriorityClass = typeof PRIORITY_CLASSES[number]

export function priorityClass (reward: number): PriorityClass {
  if (reward <= 0) return '0'
  if (reward < 10) return '1-9'
  if (reward < 100) return '10-99'
  if (reward < 1000) return '100-999'
  return '1000+'
}

export class TaskQueue<T extends QueueItem> {
  private readonly classes = new Map<number, RewardClass<T>>()
  /** the rewards that have tasks waiting, highest first */
  private rewards: number[] = []
  private count = 0

  constructor (readonly capacity: number) {}

  get size (): number { return this.count }
  get full (): boolean { return this.count >= this.capacity }

  /** false when full: the caller answers busy */
  push (item: T): boolean {
    if (this.full) return false
    let cls = this.classes.get(item.reward)
    if (cls == null) {
      this.classes.set(item.reward, cls = new RewardClass())
      // few distinct rewards wait at once in practice; a sorted insert keeps pop O(1) in the class lookup
      const at = this.rewards.findIndex(r => r < item.reward)
      if (at < 0) this.rewards.push(item.reward)
      else this.rewards.splice(at, 0, item.reward)
    }
    const line = cls.lines.get(item.submitter)
    if (line == null) cls.lines.set(item.submitter, [item])
    else line.push(item)
    cls.size++
    this.count++
    return true
  }

  /** the next task: the highest reward; among its submitters, the one whose turn it is; their oldest task */
  pop (): T | undefined {
    const reward = this.rewards[0]
    if (reward === undefined) return undefined
    const cls = this.classes.get(reward)!
    const [submitter, line] = cls.lines.entries().next().value as [string, T[]]
    const item = line.shift()!
    // this submitter goes to the back of the turn order (or leaves it, with nothing left)
    cls.lines.delete(submitter)
    if (line.length > 0) cls.lines.set(submitter, line)
    cls.size--
    this.count--
    if (cls.size === 0) {
      this.classes.delete(reward)
      this.rewards.shift()
    }
    return item
  }

  /** removes the items for which `drop` is true (expired or cancelled tasks, or all when stopping) */
  removeWhere (drop: (item: T) => boolean): T[] {
    const removed: T[] = []
    for (const [reward, cls] of this.classes) {
      for (const [submitter, line] of cls.lines) {
        const kept: T[] = []
        for (const i of line) (drop(i) ? removed : kept).push(i)
        if (kept.length === line.length) continue
        cls.size -= line.length - kept.length
        if (kept.length === 0) cls.lines.delete(submitter)
        else cls.lines.set(submitter, kept)
      }
      if (cls.size === 0) this.classes.delete(reward)
    }
    this.count -= removed.length
    this.rewards = this.rewards.filter(r => this.classes.has(r))
    return removed
  }

  /** tasks waiting per priority class (every class listed, zeros included) */
  depthByClass (): Record<PriorityClass, number> {
    const out = Object.fromEntries(PRIORITY_CLASSES.map(c => [c, 0])) as Record<PriorityClass, number>
    for (const [reward, cls] of this.classes) out[priorityClass(reward)] += cls.size
    return out
  }
}
