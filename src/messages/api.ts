/**
 * The JSON the HTTP API and the control socket answer with: one type per response, shared by the node (the
 * modules that build them re-export these) and the web console (ui/src/types.ts imports them). Self-contained on
 * purpose, no imports: the console's compiler reads this file and nothing else of src/. Times are wall-clock ms.
 */

export type ReachabilityState = 'public' | 'private' | 'unknown'

/** one bootstrap's or relay's answer */
export interface DialBackCheck {
  /** who dialled back (peer id), and its name when it is a member */
  by: string
  byName?: string
  result: 'reachable' | 'unreachable' | 'no_address'
  /** reachable: the address the dial back reached */
  address?: string
  /** this node's address as that peer saw its connection (after any NAT) */
  observed?: string
}

export interface ReachabilityView {
  /** public: every peer that checked could dial this node back; private: at least one could not */
  state: ReachabilityState
  checks: DialBackCheck[]
  checkedAgoMs?: number
}

export interface LedgerEntry { tasks: number, credits: number }

export interface PeerView {
  peerId: string
  name?: string
  role?: string
  capabilities: string[]
  addresses: string[]
  /** stale: a connection is open but the member missed its heartbeats (frozen, or cut off) */
  connection: 'direct' | 'relayed' | 'stale' | 'none'
  /** relayed: the relay(s) the connection goes through (peer id) */
  via?: string[]
  rttMs?: number
  lastHeartbeatAgeMs?: number
  state: 'alive' | 'gone' | 'unknown'
  /** workers: it says it takes no new task (draining: leaving the network) */
  draining?: boolean
  /** the member's software version, from its heartbeats */
  version?: string
  /** workers: tasks queued and running there (heartbeat), and what it advertises it takes */
  load?: number
  maxConcurrency?: number
  queueCapacity?: number
}

export interface StatusView {
  peerId: string
  /** the process id: the local network's launcher stops, by it, nodes of the network that are not its children (control socket only: GET /api/status leaves it out) */
  pid?: number
  name: string
  role: string
  version: string
  protocolVersion: string
  listenAddresses: string[]
  /** what this node tells others about itself (identify, DHT): node.announce when set */
  announceAddresses: string[]
  /** workers: whether others can dial this node, from a bootstrap's or relay's dial back */
  reachability?: ReachabilityView
  uptimeSeconds: number
  connectedPeers: number
  members: { bootstrap: number, relay: number, worker: number, gone: number }
  topics: string[]
  capabilities: string[]
  health: { healthy: boolean, ready: boolean, reasons: string[] }
  /** leaving the network: taking no new task, its running ones finishing */
  draining?: boolean
  /** where this node serves /metrics, /healthz, /readyz (when enabled) */
  metricsUrl?: string
  /** workers with enable_relay: the relays this node holds a reservation on, and the search for one */
  relay?: { reservations: string[], searching: boolean, searchRounds: number, nextSearchInMs?: number }
  /** workers: tasks queued and running, and the reward ledger per task type */
  tasks?: { load: number, maxConcurrency: number, queueCapacity: number, queued: Record<string, number> }
  rewards?: { total: LedgerEntry, byType: Record<string, LedgerEntry> }
}

export interface CapabilitiesView {
  self: { capabilities: string[], taskTypes: string[] }
  network: Record<string, string[]>
  /** task types offered in the network, with how many live workers offer each */
  taskTypes: Record<string, number>
}

export type TaskState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled'

/** One entry of the `tasks` list and GET /api/tasks/<id>. */
export interface TaskRecord {
  id: string
  type: string
  state: TaskState
  submittedAt: number
  broadcast: boolean
  attempts: number
  results: TaskResultView[]
  error?: string
  /** when it ended (done, failed, cancelled) */
  finishedAt?: number
  /** times this node took it up again after a restart (accepted with wait: false, unfinished when the node died) */
  resumed?: number
  /** accepted with wait: false (nobody waited for it): resumed after a restart, and kept apart from the records of waited-for tasks */
  detached?: boolean
  /** tasks accepted with wait: false: the workers an attempt went to (peer ids), so a resumed task goes back there first */
  sentTo?: string[]
}

/** one piece of a followed task's output, as `task --follow` and GET /api/tasks/<id>/events give it */
export interface TaskOutput {
  /** 1, 2, … per task on this node */
  seq: number
  /** the worker's name (or peer id) */
  worker: string
  text: string
  /** pieces lost before this one because a reader or the worker's stream was behind */
  dropped: number
}

/** A result as shown to people and over JSON: output as text when it is UTF-8, else base64. */
export interface TaskResultView {
  id: string
  type: string
  ok: boolean
  /** worker peer id and name that produced the result */
  worker?: string
  workerName?: string
  attempts: number
  durationMs: number
  queueMs?: number
  runMs?: number
  reward: number
  /** the output as text when it is UTF-8, else base64 */
  output?: string
  outputBase64?: string
  error?: string
  duplicate?: boolean
  /** stopped by a cancel (queued or running) */
  cancelled?: boolean
}

/** one change of a service's holder, as a member saw it (timeline.ts) */
export interface Holding {
  /** wall-clock ms of the change, as seen here */
  at: number
  /** the member holding the service from then on (none: no member is active) */
  active?: string
  term: number
  /** why the previous holder no longer holds it, or how this one came to (for people) */
  reason: string
}

export interface FailoverStatus {
  service: string
  state: string
  /** where the member is in the service state machine */
  phase: 'starting' | 'standby' | 'candidate' | 'preparing' | 'active' | 'losing' | 'stopping' | 'held-down' | 'left'
  term: number
  running: boolean
  priority: number
  active?: string
  /** the program on this member: running, restarting (after an exit, within the restart policy), stopped, or dry-run */
  program: 'running' | 'restarting' | 'stopped' | 'dry-run'
  dryRun: boolean
  /** this member's own health: the damped state, and the latest check's outcome */
  health: { healthy: boolean, check?: string, holdMs: number }
  restarts: number
  /** the newest state snapshot held here (produced when active, received when standby) */
  stateFile?: { term: number, version: number }
  members: Array<{ peerId: string, priority: number, state: string, healthy: boolean, term: number, lastBeatAgeMs: number }>
  /** who held the service when, as this member saw it, oldest first (the last 100 changes) */
  timeline?: Holding[]
}

export interface HistorySample {
  /** wall-clock ms */
  at: number
  connections: number
  /** gossip messages received per second over the interval */
  messagesPerSecond: number
  rssBytes: number
  /** event-loop delay over the interval, ms */
  loopLagP50Ms: number
  loopLagMaxMs: number
  /** tasks taken here (REPL, CLI, API) that finished in the interval, per second, and how many failed */
  tasksPerSecond: number
  taskFailures: number
  /** their submit → result time, ms (0 when none finished) */
  taskP50Ms: number
  taskP99Ms: number
}

export interface TopologyNode { peerId: string, name?: string, role?: string, state?: string, self?: boolean }

export interface TopologyLink { from: string, to: string, relayed: boolean }

export interface TopologyView {
  nodes: TopologyNode[]
  links: TopologyLink[]
  /** members that did not answer (their own links are missing from the graph) */
  unanswered: string[]
}

/** a `tasks` entry (GET /api/tasks): a record without its outputs */
export interface TaskSummary {
  id: string
  type: string
  state: TaskState
  broadcast: boolean
  attempts: number
  /** wall-clock ms, as in the record */
  submittedAt: number
  /** the workers' names (or peer ids) */
  workers: string[]
  durationMs?: number
  error?: string
}

/** a line of GET /api/logs: pino's JSON object */
export interface LogLine { time?: number, level?: number | string, msg?: string, [k: string]: unknown }
