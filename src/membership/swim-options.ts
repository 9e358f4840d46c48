// The SWIM core's messages, settings and shared roster (src/membership/swim.ts has the protocol itself).

export type SwimState = 'alive' | 'suspect' | 'dead'

export interface SwimUpdate { kind: SwimState, id: string, incarnation: number, from: string }

export type SwimMessage =
  | { type: 'ping', seq: number, from: string, updates: SwimUpdate[] }
  | { type: 'ack', seq: number, from: string, updates: SwimUpdate[] }
  | { type: 'ping-req', seq: number, from: string, target: string, updates: SwimUpdate[] }
  | { type: 'nack', seq: number, from: string }
  | { type: 'gossip', from: string, updates: SwimUpdate[] }
  /**
   * push-pull: the sender's table digest, and its whole table only when the two may differ (a join, a digest that
   * did not match: `want` asks the other side for its own)
   */
  | { type: 'sync', from: string, reply: boolean, digest: number, members?: SwimUpdate[], want?: boolean }

export interface Outgoing { to: string, msg: SwimMessage }

export interface SwimOptions {
  probeIntervalMs: number
  probeTimeoutMs: number
  /** members asked to probe for us when a direct probe fails (k) */
  indirectChecks: number
  /** the suspicion timeout is suspicionMult x log10(n) periods at least, suspicionMaxMult times that at most */
  suspicionMult: number
  suspicionMaxMult: number
  /** each change is piggybacked retransmitMult x log10(n + 1) times */
  retransmitMult: number
  /** changes on one message, at most */
  maxPiggyback: number
  /** while there are changes to spread, this often to gossipNodes random members besides the probes */
  gossipIntervalMs: number
  gossipNodes: number
  /** Lifeguard's local health score ceiling (the period is multiplied by score + 1) */
  awarenessMax: number
  /** push-pull sync with one member this often (stretched by log2(n / 32) past 32 members) */
  syncIntervalMs: number
  /** a dead member stays in the table this long (a sync partner now and then, so partitions heal) */
  deadKeepMs: number
  /** members this node keeps at most (a peer that makes up ids cannot grow the table past it) */
  maxMembers: number
  /** an incarnation more than this above what this node knows of a member is a lie, and ignored */
  maxIncarnationJump: number
}

/** no incarnation past this is taken (a refutation adds one: a liar must not push a member to the float's end) */
export const MAX_INCARNATION = 2 ** 48

// memberlist's LAN settings, with a faster period (a fleet's members are one network hop apart): a death is known
// in a few seconds at 100 members (issue 28's aim: under 5 s p99)
export const SWIM_DEFAULTS: SwimOptions = {
  probeIntervalMs: 500,
  probeTimeoutMs: 200,
  indirectChecks: 3,
  suspicionMult: 2,
  suspicionMaxMult: 6,
  retransmitMult: 4,
  maxPiggyback: 16,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  awarenessMax: 8,
  syncIntervalMs: 30_000,
  deadKeepMs: 120_000,
  maxMembers: 65_536,
  maxIncarnationJump: 1_000_000
}

/**
 * Members known alive at incarnation 1 without an entry of their own (a joiner's first snapshot; in the simulator
 * one list shared by every node): a node's table holds only what differs from it, so 10,000 simulated nodes do not
 * hold 10,000 tables of 10,000 entries.
 */
export interface Roster { ids: readonly string[], index: ReadonlyMap<string, number>, digest: number }

export function roster (ids: readonly string[]): Roster {
  let digest = 0
  for (const id of ids) digest ^= entryHash(id, 1, 'alive')
  return { ids, index: new Map(ids.map((id, i) => [id, i])), digest }
}

/**
 * One member as a table digest counts it (FNV-1a over id, incarnation and state); a table's digest is the XOR of
 * its members', kept up to date on every change, so two nodes that agree have the same number
 */
export function entryHash (id: string, incarnation: number, state: SwimState): number {
  let h = 0x811c9dc5
  const text = `${id}|${incarnation}|${state}`
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

