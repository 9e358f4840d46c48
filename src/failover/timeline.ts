/**
 * Who held a failover service when, as this member saw it (`failover` status, the console's timeline): each
 * change of the active member or its term, with why it moved as far as this member can tell — its own release
 * reason when it was the holder, else what the old holder's last beat said (released, or went silent).
 */
import { Ring } from '../ring.js'
import { fresh } from './election.js'
import { holds, termOf, type Holding, type MachineConfig, type ServiceState } from './service-state.js'

export type { Holding }


/** the active member and its term in `s`, as `failover` status reports it */
export function holderOf (s: ServiceState, now: number, cfg: MachineConfig): { active?: string, term: number } {
  if (holds(s)) return { active: cfg.self, term: termOf(s) }
  const v = Object.values(s.views).find(v => v.state === 'active' && fresh(v, now, cfg))
  return v != null ? { active: v.id, term: v.term } : { term: termOf(s) }
}

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
  let why: string
  if (prev == null) why = next === cfg.self ? `elected here (term ${termOf(s)})` : first ? 'active when this member started' : 'took over'
  else if (prev === cfg.self) why = released != null ? `released here: ${released}` : 'no longer held here'
  else {
    const v = s.views[prev]
    if (v == null || !fresh(v, now, cfg)) why = 'the holder went silent (its lease ran out)'
    else if (v.state === 'released') why = 'the holder released it'
    else why = `the holder is ${v.state} now`
  }
  if (next != null && prev != null && next === prev) why = 'a new term'
  return why
}
