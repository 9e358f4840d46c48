import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeAtomic } from '../util/files.js'
import type { FailoverServiceConfig } from '../config/types.js'

export interface Snapshot { term: number, version: number, sha256: Uint8Array, data: Uint8Array }

/** (term, version) order: which of two snapshots is newer */
export const newer = (a: { term: number, version: number }, b?: { term: number, version: number }): boolean =>
  b == null || a.term > b.term || (a.term === b.term && a.version > b.version)

const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest())
const same = (a?: Uint8Array, b?: Uint8Array): boolean => a != null && b != null && Buffer.from(a).equals(Buffer.from(b))

/**
 * One service's state file on one member: the newest snapshot received from an active (kept under the data
 * dir, so a restart does not lose it), and what this member produced itself when it was active, so that an
 * activation restores a received snapshot only when it is newer than what this member last had.
 */
export class StateStore {
  private readonly dir: string
  received?: Snapshot
  produced?: { term: number, version: number, sha256: Uint8Array }
  private lastStat = ''

  constructor (private readonly cfg: NonNullable<FailoverServiceConfig['state']>, dataDir: string, service: string) {
    this.dir = join(dataDir, 'failover', service)
    try {
      const meta = JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8'))
      if (meta.received != null) {
        const data = new Uint8Array(readFileSync(join(this.dir, 'received.bin')))
        if (same(sha256(data), Buffer.from(meta.received.sha256, 'hex'))) this.received = { ...meta.received, sha256: sha256(data), data }
      }
      if (meta.produced != null) this.produced = { ...meta.produced, sha256: Buffer.from(meta.produced.sha256, 'hex') }
    } catch {}
  }

  get path (): string { return this.cfg.path }

  /** the highest term of a snapshot this member holds or produced: an election here starts above it */
  get heldTerm (): number {
    return Math.max(this.received?.term ?? 0, this.produced?.term ?? 0)
  }

  private saveMeta (): void {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
    writeAtomic(join(this.dir, 'state.json'), Buffer.from(JSON.stringify({
      received: this.received != null ? { term: this.received.term, version: this.received.version, sha256: hex(this.received.sha256) } : undefined,
      produced: this.produced != null ? { ...this.produced, sha256: hex(this.produced.sha256) } : undefined
    })))
  }

  /** keeps a snapshot from the active if it is newer than the one held; false: older, or corrupt */
  accept (snap: Snapshot): 'kept' | 'stale' | 'corrupt' | 'too_large' {
    if (snap.data.byteLength > this.cfg.maxBytes) return 'too_large'
    if (!same(sha256(snap.data), snap.sha256)) return 'corrupt'
    if (!newer(snap, this.received)) return 'stale'
    writeAtomic(join(this.dir, 'received.bin'), snap.data)
    this.received = snap
    this.saveMeta()
    return 'kept'
  }

  /**
   * Before this member starts the program in `term`: puts the newest received snapshot in place if it is newer
   * than what this member itself last produced. Returns the snapshot restored, if any.
   */
  restore (term: number): Snapshot | undefined {
    const r = this.received
    const restored = r != null && newer(r, this.produced) ? r : undefined
    // the program's file keeps the mode it had (a validator's key-adjacent state stays 0600)
    if (restored != null) writeAtomic(this.cfg.path, restored.data, modeOf(this.cfg.path) ?? 0o600)
    // from now on this member produces the state; its versions start over in its own term
    const current = restored?.sha256 ?? this.produced?.sha256 ?? new Uint8Array()
    this.produced = { term, version: 0, sha256: current }
    this.lastStat = ''
    this.saveMeta()
    return restored
  }

  /** while active: the state file as a new snapshot if it changed since the last one, else undefined */
  poll (): Snapshot | undefined {
    if (this.produced == null) return undefined
    let st
    try { st = statSync(this.cfg.path) } catch { return undefined }
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`
    if (key === this.lastStat) return undefined
    if (st.size > this.cfg.maxBytes) return undefined
    const data = new Uint8Array(readFileSync(this.cfg.path))
    this.lastStat = key
    const hash = sha256(data)
    if (same(hash, this.produced.sha256) && this.produced.version > 0) return undefined
    this.produced = { term: this.produced.term, version: this.produced.version + 1, sha256: hash }
    this.saveMeta()
    return { term: this.produced.term, version: this.produced.version, sha256: hash, data }
  }

  /** the newest snapshot this member produced in its current term, read again from the file (for new members) */
  current (): Snapshot | undefined {
    if (this.produced == null || this.produced.version === 0) return undefined
    try {
      const data = new Uint8Array(readFileSync(this.cfg.path))
      const hash = sha256(data)
      return same(hash, this.produced.sha256) ? { term: this.produced.term, version: this.produced.version, sha256: hash, data } : undefined
    } catch { return undefined }
  }
}

function modeOf (path: string): number | undefined {
  try { return statSync(path).mode & 0o777 } catch { return undefined }
}

/** pause between two tries of the final push to a member it did not reach */
const RETRY_MS = 100

/**
 * The active's side of state sync: every `state.interval` a changed file goes to every live member, and
 * members that lack the latest snapshot (new, or a failed push) get it too; on release the final file goes
 * out and is awaited. One push at a time per member.
 */
export class StateReplicator {
  private latest?: Snapshot
  private readonly pushedTo = new Map<string, string>()
  private readonly pushing = new Set<string>()
  private timer?: NodeJS.Timeout

  readonly store: StateStore

  constructor (private readonly components: {
    store: StateStore
    /** sends one snapshot to a member (beats.ts) */
    push: (to: string, snap: Snapshot, timeoutMs: number) => Promise<void>
    metrics: { failoverStateSnapshots: { inc: (labels: { service: string, outcome: string }) => void } }
    logger: { debug: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }
    /** the members heard recently (peer ids) */
    live: () => string[]
    /** the members the final state goes to: heard within a wider window (default: `live`) */
    recent?: () => string[]
  }, private readonly init: { service: string, intervalMs: number }) {
    this.store = components.store
  }

  /** before the start in `term`: the newest received state file in place (counted and logged when there is one) */
  restore (term: number): void {
    const restored = this.store.restore(term)
    if (restored == null) return
    this.components.metrics.failoverStateSnapshots.inc({ service: this.init.service, outcome: 'restored' })
    this.components.logger.info({ service: this.init.service, term: restored.term, version: restored.version, bytes: restored.data.byteLength, path: this.store.path }, 'state file restored before the start')
  }

  /** a snapshot pushed to this member: kept unless `refusal` (or the store) says why not; counted and logged */
  receive (from: string, snap: Snapshot, refusal: string | undefined): string {
    const outcome = refusal ?? this.store.accept(snap)
    const { metrics, logger } = this.components
    const { service } = this.init
    metrics.failoverStateSnapshots.inc({ service, outcome })
    if (outcome === 'kept') logger.debug({ service, term: snap.term, version: snap.version, bytes: snap.data.byteLength }, 'state snapshot received')
    else logger.warn({ service, from, term: snap.term, version: snap.version, outcome }, 'state snapshot refused')
    return outcome
  }

  /** this member became active (after `restore`): push from now on */
  start (): void {
    this.latest = undefined
    this.pushedTo.clear()
    clearInterval(this.timer)
    this.timer = setInterval(() => { void this.send(Math.max(1000, 2 * this.init.intervalMs), false) }, this.init.intervalMs)
  }

  stop (): void { clearInterval(this.timer) }

  /**
   * The program has stopped: its last state to every live member that lacks it, awaited. A member it does not
   * reach at once (a connection being re-established, a relay restarting) is tried again until `timeoutMs` is
   * up: the next active restores what it holds, and a handoff that outran one blip would hand it an older copy.
   */
  async pushFinal (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    await this.send(timeoutMs, true, this.final())
    while (this.lacking().length > 0 && deadline - Date.now() > RETRY_MS) {
      await new Promise(resolve => setTimeout(resolve, RETRY_MS))
      await this.send(Math.max(RETRY_MS, deadline - Date.now()), true, this.final())
    }
    const lacking = this.lacking()
    if (lacking.length > 0) this.components.logger.warn({ service: this.init.service, members: lacking }, 'final state not delivered to every member: the next active may start from an older copy')
  }

  /** who the final state goes to */
  private final (): string[] {
    return (this.components.recent ?? this.components.live)()
  }

  /** members the final state goes to that do not hold the latest snapshot */
  private lacking (): string[] {
    const snap = this.latest
    if (snap == null) return []
    return this.final().filter(id => this.pushedTo.get(id) !== `${snap.term}:${snap.version}`)
  }

  private async send (timeoutMs: number, wait: boolean, to: string[] = this.components.live()): Promise<void> {
    this.latest = this.store.poll() ?? this.latest
    const snap = this.latest
    if (snap == null) return
    const key = `${snap.term}:${snap.version}`
    const targets = to.filter(id => this.pushedTo.get(id) !== key && (wait || !this.pushing.has(id)))
    const pushes = targets.map(async id => {
      this.pushing.add(id)
      try { await this.pushTo(id, snap, timeoutMs) } finally { this.pushing.delete(id) }
    })
    if (wait) await Promise.all(pushes)
  }

  private async pushTo (id: string, snap: Snapshot, timeoutMs: number): Promise<void> {
    const { metrics } = this.components
    const { service } = this.init
    try {
      await this.components.push(id, snap, timeoutMs)
      this.pushedTo.set(id, `${snap.term}:${snap.version}`)
      metrics.failoverStateSnapshots.inc({ service, outcome: 'sent' })
    } catch (err: any) {
      metrics.failoverStateSnapshots.inc({ service, outcome: 'send_failed' })
      this.components.logger.debug({ service, to: id, err: err.message }, 'state snapshot not delivered')
    }
  }
}
