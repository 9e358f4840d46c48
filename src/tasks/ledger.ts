import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { LedgerEntry } from '../messages/api.js'
export type { LedgerEntry } from '../messages/api.js'


/** Credits this worker earned, per task type, kept in a JSON file in the data dir. */
export class Ledger {
  private entries: Record<string, LedgerEntry> = {}
  private dirty = false
  private writing?: Promise<void>
  private timer?: NodeJS.Timeout

  constructor (private readonly file: string, private readonly flushMs = 1000) {}

  /**
   * Reads the ledger back. A file that is not a ledger (empty, torn, edited by hand) does not stop the worker:
   * it is moved aside to `<file>.corrupt-<time>` (nothing is lost) and the ledger starts empty; the path of the
   * copy is returned, for the caller to warn about.
   */
  async load (): Promise<{ keptAside?: string }> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err: any) {
      if (err.code === 'ENOENT') return {}
      throw err
    }
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch {}
    if (typeof parsed !== 'object' || parsed == null || Array.isArray(parsed)) {
      const aside = `${this.file}.corrupt-${Date.now()}`
      await rename(this.file, aside)
      return { keptAside: aside }
    }
    for (const [type, e] of Object.entries(parsed as Record<string, any>)) {
      if (Number.isFinite(e?.tasks) && Number.isFinite(e?.credits)) this.entries[type] = { tasks: e.tasks, credits: e.credits }
    }
    return {}
  }

  credit (type: string, reward: number): void {
    const e = this.entries[type] ??= { tasks: 0, credits: 0 }
    e.tasks++
    e.credits += reward
    this.dirty = true
    this.timer ??= setTimeout(() => { this.timer = undefined; void this.flush() }, this.flushMs)
  }

  snapshot (): Record<string, LedgerEntry> {
    return structuredClone(this.entries)
  }

  total (): LedgerEntry {
    return Object.values(this.entries).reduce((a, e) => ({ tasks: a.tasks + e.tasks, credits: a.credits + e.credits }), { tasks: 0, credits: 0 })
  }

  /** writes the ledger if it changed (write to a temp file, then rename: never a torn file) */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.writing
    if (!this.dirty) return
    this.dirty = false
    const tmp = `${this.file}.tmp`
    this.writing = (async () => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 })
      await writeFile(tmp, JSON.stringify(this.entries, null, 2), { mode: 0o600 })
      await rename(tmp, this.file)
    })()
    await this.writing
  }
}
