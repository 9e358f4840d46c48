import type { Role } from '../config/schema.js'

/** What this node knows of another member, built from its heartbeats and capability adverts. */
export interface Member {
  peerId: string
  name: string
  role: Role
  version: string
  capabilities: string[]
  /** the addresses the member announces, multiaddr bytes (from its heartbeats; empty until one carries them) */
  addresses: Uint8Array[]
  taskTypes: string[]
  maxConcurrency: number
  queueCapacity: number
  load: number
  healthy: boolean
  /** highest heartbeat sequence seen; older ones are replays and are ignored */
  seq: bigint
  /** the sender's own heartbeat interval and miss count */
  intervalMs: number
  misses: number
  firstSeen: number
  lastSeen: number
  state: MemberState
}

export type MemberState = { phase: 'alive' } | { phase: 'gone', since: number }

export interface HeartbeatInput {
  name: string
  role: Role
  version: string
  seq: bigint
  intervalMs: number
  misses: number
  load: number
  healthy: boolean
  capabilities: string[]
  addresses: Uint8Array[]
}

export interface CapabilitiesInput {
  name: string
  role: Role
  capabilities: string[]
  taskTypes: string[]
  maxConcurrency: number
  queueCapacity?: number
}

export type MembershipEvent =
  | { type: 'joined', peerId: string }
  | { type: 'returned', peerId: string }
  | { type: 'gone', peerId: string }
  | { type: 'removed', peerId: string }

/**
 * What this node believes of a member's own claims (docs/guides/security.md, "Everything from outside is a claim"). A peer
 * states its heartbeat interval, miss count and capacity; the node bounds them by its own policy, so a lying peer
 * (interval and misses 2^32-1, capacity 2^32-1) neither stays listed for good nor draws every task.
 */
export interface ClaimLimits {
  /** the longest silence (interval x misses) after which any member is declared gone */
  maxWindowMs: number
  maxMisses: number
  maxConcurrency: number
  maxQueue: number
}

/** this node's policy from its own heartbeat: a member may be four times as slow, and never under a minute */
export function claimLimits (own: { intervalMs: number, misses: number }): ClaimLimits {
  return { maxWindowMs: Math.max(60_000, 4 * own.intervalMs * own.misses), maxMisses: 10, maxConcurrency: 1024, maxQueue: 65_536 }
}

export const DEFAULT_CLAIM_LIMITS: ClaimLimits = claimLimits({ intervalMs: 5000, misses: 3 })

/** a heartbeat's interval and misses as this node takes them: misses at most `maxMisses`, their product at most `maxWindowMs` */
export function clampLiveness (intervalMs: number, misses: number, limits: ClaimLimits): { intervalMs: number, misses: number } {
  const m = Math.max(1, Math.min(misses, limits.maxMisses))
  return { intervalMs: Math.max(1, Math.min(intervalMs, Math.floor(limits.maxWindowMs / m))), misses: m }
}

export type HeartbeatDecision =
  | { accept: true, member: Member, event?: MembershipEvent }
  | { accept: false, reason: 'stale' }

/** Applies a heartbeat from `peerId` received at `now`. A sequence number not above the last one is a replay. */
export function applyHeartbeat (prev: Member | undefined, peerId: string, hb: HeartbeatInput, now: number, limits = DEFAULT_CLAIM_LIMITS): HeartbeatDecision {
  if (prev != null && hb.seq <= prev.seq) return { accept: false, reason: 'stale' }
  const liveness = clampLiveness(hb.intervalMs, hb.misses, limits)
  const member: Member = {
    peerId,
    name: hb.name,
    role: hb.role,
    version: hb.version,
    capabilities: hb.capabilities,
    addresses: hb.addresses,
    taskTypes: prev?.taskTypes ?? [],
    maxConcurrency: prev?.maxConcurrency ?? 0,
    queueCapacity: prev?.queueCapacity ?? 0,
    load: hb.load,
    healthy: hb.healthy,
    seq: hb.seq,
    intervalMs: liveness.intervalMs,
    misses: liveness.misses,
    firstSeen: prev?.firstSeen ?? now,
    lastSeen: now,
    state: { phase: 'alive' }
  }
  if (prev == null) return { accept: true, member, event: { type: 'joined', peerId } }
  if (prev.state.phase === 'gone') return { accept: true, member, event: { type: 'returned', peerId } }
  return { accept: true, member }
}

/** Capability adverts update what a member can do; they do not count as liveness. */
export function applyCapabilities (prev: Member | undefined, peerId: string, claimed: CapabilitiesInput, now: number, limits = DEFAULT_CLAIM_LIMITS): Member {
  const ad = { ...claimed, maxConcurrency: Math.min(claimed.maxConcurrency, limits.maxConcurrency), queueCapacity: claimed.queueCapacity == null ? undefined : Math.min(claimed.queueCapacity, limits.maxQueue) }
  if (prev == null) {
    // known only from its advert until its first heartbeat: listed, but already past its deadline
    return {
      peerId, name: ad.name, role: ad.role, version: '', capabilities: ad.capabilities, addresses: [], taskTypes: ad.taskTypes,
      maxConcurrency: ad.maxConcurrency, queueCapacity: ad.queueCapacity ?? 0, load: 0, healthy: false, seq: -1n, intervalMs: 0, misses: 0,
      firstSeen: now, lastSeen: now, state: { phase: 'gone', since: now }
    }
  }
  return { ...prev, name: ad.name, capabilities: ad.capabilities, taskTypes: ad.taskTypes, maxConcurrency: ad.maxConcurrency, queueCapacity: ad.queueCapacity ?? prev.queueCapacity }
}

/** When a member whose last heartbeat came at `lastSeen` is declared gone. */
export function goneAt (m: Pick<Member, 'lastSeen' | 'intervalMs' | 'misses'>): number {
  return m.lastSeen + m.intervalMs * m.misses
}

/**
 * Ages the view: alive members past `misses` intervals without a heartbeat become gone; gone members
 * are removed `expiryMs` after that. Returns the members to keep and what changed.
 */
export function sweep (members: Iterable<Member>, now: number, expiryMs: number): { members: Member[], events: MembershipEvent[] } {
  const kept: Member[] = []
  const events: MembershipEvent[] = []
  for (const m of members) {
    if (m.state.phase === 'alive') {
      if (now > goneAt(m)) {
        kept.push({ ...m, state: { phase: 'gone', since: now } })
        events.push({ type: 'gone', peerId: m.peerId })
      } else {
        kept.push(m)
      }
    } else if (now - m.state.since > expiryMs) {
      events.push({ type: 'removed', peerId: m.peerId })
    } else {
      kept.push(m)
    }
  }
  return { members: kept, events }
}

export function countByRole (members: Iterable<Member>): Record<Role, number> {
  const counts: Record<Role, number> = { bootstrap: 0, relay: 0, worker: 0 }
  for (const m of members) if (m.state.phase === 'alive') counts[m.role]++
  return counts
}
