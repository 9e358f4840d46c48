import { InstallationError } from '../errors.js'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface LedgerEntry { tasks: number, credits: number }

/** Credits this worker earned, per task type, kept in a JSON file in the data dir. */
export class Ledger {
  private entries: Record<string, LedgerEntry> = {}
  private dirty = false
  private writing?: Promise<void>
  private timer?: NodeJS.Timeout

  constructor (private readonly file: string, private readonly flushMs = 1000) {}

  async load (): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8'))
      if (typeof parsed === 'object' && parsed != null) {
        for (const [type, e] of Object.entries(parsed as Record<string, any>)) {
          if (Number.isFinite(e?.tasks) && Number.isFinite(e?.credits)) this.entries[type] = { tasks: e.tasks, credits: e.credits }
        }
      }
    } catch (err: any) {
      if (err.code !== 'ENOENT') throw new InstallationError(`cannot read the reward ledger ${this.file}: ${err.message}`)
    }
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
      await mkdir(dirname(this.file), { recursive: true })
      await writeFile(tmp, JSON.stringify(this.entries, null, 2))
      await rename(tmp, this.file)
    })()
    await this.writing
  }
}
