/**
 * Who held a failover service when, as this member saw it (`failover` status, the console's timeline): each
 * change of the active member or its term, with why it moved as far as this member can tell — its own release
 * reason when it was the holder, else what the old holder's last beat said (released, or went silent).
 */
import { Ring } from '../util/ring.js'
import { fresh } from './election.js'
import { holderOf, termOf, type Holding, type MachineConfig, type ServiceState } from './service-state.js'

export type { Holding }

export class Timeline {
  private readonly ring: Ring<Holding>
  private last: { active?: string, term: number } = { term: 0 }
  /** why this member last released (a release is over before the group sees the next holder) */
  private released?: string

  constructor (keep = 100) {
    this.ring = new Ring(keep)
  }

  entries (): Holding[] { return this.ring.toArray() }

  /** looks at the state after an event; returns the new entry when the holder or its term changed */
  observe (s: ServiceState, now: number, cfg: MachineConfig): Holding | undefined {
    if (s.phase.name === 'stopping' || s.phase.name === 'losing') this.released = s.phase.reason
    const next = holderOf(s, now, cfg)
    const prev = this.last
    if (next.active === prev.active && (next.active == null || next.term === prev.term)) return undefined
    this.last = next
    const entry: Holding = { at: Date.now(), active: next.active, term: next.term, reason: reasonFor(s, prev.active, next.active, now, cfg, this.ring.first() == null, this.released) }
    if (prev.active === cfg.self) this.released = undefined
    this.ring.push(entry)
    return entry
  }
}

function reasonFor (s: ServiceState, prev: string | undefined, next: string | undefined, now: number, cfg: MachineConfig, first: boolean, released?: string): string {
  if (prev == null) return next === cfg.self ? `elected here (term ${termOf(s)})` : first ? 'active when this member started' : 'took over'
  if (next === prev) return 'a new term'
  if (prev === cfg.self) return released != null ? `released here: ${released}` : 'no longer held here'
  const v = s.views[prev]
  if (v == null || !fresh(v, now, cfg)) return 'the holder went silent (its lease ran out)'
  return v.state === 'released' ? 'the holder released it' : `the holder is ${v.state} now`
}
