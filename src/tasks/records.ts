import { BoundedCache } from './bounded-cache.js'
import type { Followers } from './followers.js'
import type { JournalEntry, TaskJournal } from './journal.js'
import type { TaskRecord, TaskSpec } from './types.js'

/** a task taken here that has not ended, as the records see it */
export interface OpenTask {
  record: TaskRecord
  spec: TaskSpec
  /** its record is journalled */
  durable: boolean
  /** accepted with `wait: false`: run again after a restart while unfinished */
  resumable: boolean
}

/** a task taken here that has not ended, as the submitter holds it: what a cancel or a follower reaches */
export interface ActiveTask extends OpenTask {
  spec: TaskSpec & { exclude?: string[] }
  cancel: AbortController
  done: Promise<void>
  settle: () => void
  followers: Followers
}

/** how a task reached this node: durable ones (REPL, CLI, API) are journalled; resumable ones are run again after a restart */
export interface AcceptOptions {
  /** keep its record on disk (the task journal) */
  durable?: boolean
  /** accepted with `wait: false`: nobody waits for it, so a restart takes it up again */
  resumable?: boolean
}

export interface TaskRecordsInit {
  /** the task journal; without one, records live in memory only */
  journal?: TaskJournal
  /** how long a record is kept after it was accepted (tasks.result_ttl) */
  ttlMs: number
  /** how many records each cache keeps (tasks.records_max) */
  maxEntries: number
  /** and the bytes of their results (tasks.records_max_bytes) */
  maxBytes: number
  /** the tasks taken here that have not ended: never forgotten by the journal, whatever the bounds */
  active: () => Iterable<OpenTask>
  isActive: (id: string) => boolean
  /** a journal write failed (a full disk): the task goes on, its record in memory only */
  onWriteError?: (err: Error) => void
}

/** what `load` found in the journal */
export interface LoadedRecords {
  /** unfinished tasks accepted with `wait: false`: to run again */
  resumable: Array<{ record: TaskRecord, spec: TaskSpec }>
  /** unfinished tasks somebody waited for: marked failed */
  interrupted: number
  /** records kept (what the bounds left) */
  kept: number
  /** lines of the journal that could not be read */
  unreadable: number
}

const INTERRUPTED = 'interrupted: this node restarted while the task ran, and its caller was waiting for it (only tasks accepted with wait: false are resumed); it may still have run on a worker'

/**
 * The records of the tasks taken here: what `tasks` lists and GET /api/tasks/<id> answers, bounded by age, count
 * and result bytes, and on disk in the task journal for durable tasks. Tasks accepted with `wait: false` are
 * kept apart from the rest, each bounded the same way, so a steady stream of tasks whose callers waited (they
 * have their result) never pushes out a result somebody will come back for.
 */
export class TaskRecords {
  private readonly waited: BoundedCache<TaskRecord>
  private readonly detached: BoundedCache<TaskRecord>

  constructor (private readonly init: TaskRecordsInit) {
    const limits = {
      ttlMs: init.ttlMs,
      maxEntries: init.maxEntries,
      maxBytes: init.maxBytes,
      // an unfinished task stays in the journal whatever the bounds: it is forgotten only once it has ended
      onEvict: (id: string) => { if (!init.isActive(id)) init.journal?.forget(id) }
    }
    this.waited = new BoundedCache(limits)
    this.detached = new BoundedCache(limits)
  }

  private cacheOf (record: TaskRecord): BoundedCache<TaskRecord> {
    return record.detached === true ? this.detached : this.waited
  }

  /**
   * Reads the journal: ended tasks come back as records; unfinished ones accepted with `wait: false` are returned
   * to be run again; unfinished ones somebody waited for are marked failed (that caller is gone), so none is
   * silently forgotten.
   */
  load (now = Date.now()): LoadedRecords {
    const journal = this.init.journal
    const resumable: LoadedRecords['resumable'] = []
    if (journal == null) return { resumable, interrupted: 0, kept: 0, unreadable: 0 }
    const entries = journal.load().sort((a, b) => a.record.submittedAt - b.record.submittedAt)
    let interrupted = 0
    for (const { record, spec } of entries) {
      if (now - record.submittedAt > this.init.ttlMs) { journal.forget(record.id); continue }
      if (isOpen(record)) {
        if (spec != null) {
          resumable.push({ record, spec })
        } else {
          record.state = 'failed'
          record.error = INTERRUPTED
          record.finishedAt = now
          journal.put({ record })
          interrupted++
        }
      }
      this.cacheOf(record).set(record.id, record, record.submittedAt, weight(record))
    }
    return { resumable, interrupted, kept: this.waited.size + this.detached.size, unreadable: journal.skipped }
  }

  /** keeps a task's record from now on (its results are weighed as they come: `weigh`) */
  add (record: TaskRecord): void {
    this.cacheOf(record).set(record.id, record, Date.now())
  }

  /** counts a record's results, as they are now, against the bytes bound */
  weigh (record: TaskRecord): void {
    this.cacheOf(record).weigh(record.id, weight(record), Date.now())
  }

  /**
   * Writes a durable task's record to the journal, with its spec while it is unfinished and resumable (what it
   * takes to run it again). Rewrites the journal when superseded lines dominate it.
   */
  save (task: OpenTask): void {
    const journal = this.init.journal
    if (journal == null || !task.durable) return
    try {
      this.write(journal, task)
    } catch (err: any) {
      // never a reason for a task to stay pending: it runs and ends in memory, and the failure is told
      this.init.onWriteError?.(err)
    }
  }

  private write (journal: TaskJournal, task: OpenTask): void {
    journal.put(entryOf(task))
    if (!journal.bloated) return
    // the file holds mostly superseded lines: rewrite it with the journalled tasks still kept or unfinished
    const live = new Map<string, JournalEntry>()
    for (const r of [...this.waited.values(), ...this.detached.values()]) if (journal.has(r.id)) live.set(r.id, { record: r })
    for (const t of this.init.active()) if (t.durable) live.set(t.record.id, entryOf(t))
    journal.rewrite([...live.values()])
  }

  /** a task has ended and been saved: when the bounds have already dropped its record, the journal forgets it too */
  ended (record: TaskRecord): void {
    if (this.cacheOf(record).get(record.id, Date.now()) == null) this.init.journal?.forget(record.id)
  }

  get (id: string): TaskRecord | undefined { return this.waited.get(id, Date.now()) ?? this.detached.get(id, Date.now()) }

  /** newest first */
  list (): TaskRecord[] { return [...this.waited.values(), ...this.detached.values()].sort((a, b) => b.submittedAt - a.submittedAt) }
}

/** the task has not ended yet */
export function isOpen (record: TaskRecord): boolean {
  return record.state === 'pending' || record.state === 'running'
}

/** a task's journal line: its spec too while it is unfinished and resumable (what it takes to run it again) */
function entryOf (task: OpenTask): JournalEntry {
  return { record: task.record, spec: task.resumable && isOpen(task.record) ? task.spec : undefined }
}

/** what a record's results hold, roughly: what it counts against the bytes bound */
function weight (record: TaskRecord): number {
  return record.results.reduce((n, r) => n + (r.output?.length ?? r.outputBase64?.length ?? 0) + (r.error?.length ?? 0) + 300, 300)
}
