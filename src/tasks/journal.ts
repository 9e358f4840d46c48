import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { InstallationError } from '../util/errors.js'
import type { TaskRecord, TaskSpec } from './types.js'

/** a task as the journal keeps it: its record, and for one that may be resumed, what it takes to run it again */
export interface JournalEntry {
  record: TaskRecord
  /** present while a task accepted with `wait: false` is unfinished: it is resumed after a restart */
  spec?: TaskSpec
}

interface Line { record: TaskRecord, spec?: StoredSpec }
type StoredSpec = Omit<TaskSpec, 'payload'> & { payload: string }

/**
 * The submitting node's task records on disk (`<data_dir>/tasks.jsonl`): one JSON line per change (accepted,
 * ended), the last line of an id wins. Each line is written before the caller is answered, with a plain
 * write: a killed process loses nothing (the kernel has it); `fdatasync` follows within a second for a
 * machine that goes down. The file is rewritten with only the live entries once it holds more than twice
 * what they take, so it stays bounded by what the submitter keeps (`tasks.result_ttl`, `records_max`,
 * `records_max_bytes`).
 */
export class TaskJournal {
  private fd?: number
  private written = 0
  /** bytes of the last line of each live id: what a rewrite would keep */
  private readonly sizes = new Map<string, number>()
  private liveBytes = 0
  private syncTimer?: NodeJS.Timeout
  /** lines that could not be read at load (a torn last line after a crash, or a foreign edit) */
  skipped = 0

  constructor (private readonly file: string) {}

  /** reads the journal: the latest entry of every id, oldest first; opens it for appending */
  load (): JournalEntry[] {
    let text = ''
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (err: any) {
      if (err.code !== 'ENOENT') throw new InstallationError(`cannot read the task journal ${this.file}: ${err.message}`)
    }
    const latest = new Map<string, Line>()
    for (const raw of text.split('\n')) {
      if (raw === '') continue
      try {
        const line = JSON.parse(raw) as Line
        if (typeof line?.record?.id !== 'string' || typeof line.record.state !== 'string') throw new Error('not a task line')
        latest.delete(line.record.id)
        latest.set(line.record.id, line)
        this.track(line.record.id, Buffer.byteLength(raw) + 1)
      } catch {
        this.skipped++
      }
    }
    this.written = Buffer.byteLength(text)
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 })
    this.fd = openSync(this.file, 'a', 0o600)
    // a line torn by a crash: end it, or the next line would be glued to it and lost with it
    if (text !== '' && !text.endsWith('\n')) this.write('\n')
    return [...latest.values()].map(l => ({ record: l.record, spec: l.spec == null ? undefined : { ...l.spec, payload: new Uint8Array(Buffer.from(l.spec.payload, 'base64')) } }))
  }

  /** writes the entry now (synchronously: it is on its way to disk when this returns) */
  put (entry: JournalEntry): void {
    const line = serialize(entry)
    this.write(line)
    this.track(entry.record.id, Buffer.byteLength(line))
  }

  /** the entry is no longer kept (evicted or expired): a rewrite leaves it out */
  forget (id: string): void {
    const n = this.sizes.get(id)
    if (n == null) return
    this.liveBytes -= n
    this.sizes.delete(id)
  }

  /** the journal holds a live entry for this id */
  has (id: string): boolean { return this.sizes.has(id) }

  /** true once the file holds more than twice the live entries (and at least 1 MiB): time to `rewrite` */
  get bloated (): boolean { return this.written > 2 * this.liveBytes + 1024 * 1024 }

  /** replaces the file with `entries` alone (a temporary file, synced, then renamed over it) */
  rewrite (entries: JournalEntry[]): void {
    const tmp = `${this.file}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    this.sizes.clear()
    this.liveBytes = 0
    let total = 0
    try {
      for (const e of entries) {
        const line = serialize(e)
        const buf = Buffer.from(line)
        writeSync(fd, buf)
        total += buf.length
        this.track(e.record.id, buf.length)
      }
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.file)
    if (this.fd != null) closeSync(this.fd)
    this.fd = openSync(this.file, 'a', 0o600)
    this.written = total
  }

  close (): void {
    clearTimeout(this.syncTimer)
    this.syncTimer = undefined
    if (this.fd == null) return
    try { fsyncSync(this.fd) } catch {}
    closeSync(this.fd)
    this.fd = undefined
  }

  private write (line: string): void {
    if (this.fd == null) throw new Error('task journal not open')
    const buf = Buffer.from(line)
    writeSync(this.fd, buf)
    this.written += buf.length
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined
      if (this.fd != null) fdatasync(this.fd, () => {})
    }, 1000)
    this.syncTimer.unref()
  }

  private track (id: string, bytes: number): void {
    this.liveBytes += bytes - (this.sizes.get(id) ?? 0)
    this.sizes.set(id, bytes)
  }
}

function serialize (e: JournalEntry): string {
  const line: Line = { record: e.record }
  if (e.spec != null) {
    const { exclude: _exclude, ...spec } = e.spec as TaskSpec & { exclude?: string[] }
    line.spec = { ...spec, payload: Buffer.from(spec.payload).toString('base64') }
  }
  return JSON.stringify(line) + '\n'
}
