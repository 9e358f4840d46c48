import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeAtomic } from '../util/files.js'

/**
 * The highest term this member has seen for one service, on disk (`<data_dir>/failover/<service>/term.json`), so
 * that terms never go backwards across a restart, of one member or of all: after a full restart an election
 * starts above every term a member saw or holds a state snapshot of, the active's snapshots are not refused as
 * stale by members that kept an older run's, and the term (the program's fencing token) only grows. Written
 * before the member acts in a new term (a sync write: terms change a few times a day, not per beat).
 */
export class TermStore {
  private readonly file: string
  private saved: number

  constructor (dataDir: string, service: string) {
    this.file = join(dataDir, 'failover', service, 'term.json')
    let term = 0
    try {
      const t = JSON.parse(readFileSync(this.file, 'utf8')).maxTerm
      if (Number.isSafeInteger(t) && t > 0) term = t
    } catch {}
    this.saved = term
  }

  /** the highest term saved */
  get term (): number { return this.saved }

  /** saves `term` if it is higher than the one saved */
  raise (term: number): void {
    if (!(term > this.saved)) return
    writeAtomic(this.file, Buffer.from(JSON.stringify({ maxTerm: term }) + '\n'))
    this.saved = term
  }
}
