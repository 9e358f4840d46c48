// The shapes the console reads from the node's HTTP API (src/control/views.ts, commands.ts, history.ts,
// discovery/topology.ts, failover/service-state.ts). Only the fields the page uses.

export interface Peer {
  peerId: string
  name?: string
  role?: string
  capabilities: string[]
  addresses: string[]
  connection: 'direct' | 'relayed' | 'stale' | 'none'
  via?: string[]
  rttMs?: number
  lastHeartbeatAgeMs?: number
  state: 'alive' | 'gone' | 'unknown'
  version?: string
  load?: number
  maxConcurrency?: number
  queueCapacity?: number
}

export interface Status {
  peerId: string
  name: string
  role: string
  version: string
  protocolVersion: string
  listenAddresses: string[]
  announceAddresses: string[]
  uptimeSeconds: number
  connectedPeers: number
  members: { bootstrap: number, relay: number, worker: number, gone: number }
  capabilities: string[]
  health: { healthy: boolean, ready: boolean, reasons: string[] }
  reachability?: { state: string }
  relay?: { reservations: string[], searching: boolean }
  tasks?: { load: number, maxConcurrency: number, queueCapacity: number }
  rewards?: { total: { tasks: number, reward: number } }
}

export interface TaskSummary {
  id: string
  type: string
  state: 'pending' | 'running' | 'done' | 'failed' | 'cancelled'
  broadcast: boolean
  attempts: number
  submittedAt: string
  workers: string[]
  durationMs?: number
  error?: string
}

export interface TaskResult {
  ok: boolean
  worker?: string
  workerName?: string
  attempts: number
  durationMs: number
  output?: string
  outputBase64?: string
  error?: string
  cancelled?: boolean
}

export interface TaskRecord extends Omit<TaskSummary, 'submittedAt' | 'workers' | 'durationMs'> {
  submittedAt: number
  results: TaskResult[]
}

export interface Holding { at: number, active?: string, term: number, reason: string }

export interface FailoverStatus {
  service: string
  state: string
  phase: string
  term: number
  running: boolean
  priority: number
  active?: string
  program: string
  dryRun: boolean
  health: { healthy: boolean, check?: string, holdMs: number }
  restarts: number
  members: Array<{ peerId: string, priority: number, state: string, healthy: boolean, term: number, lastBeatAgeMs: number }>
  timeline?: Holding[]
}

export interface Sample {
  at: number
  connections: number
  messagesPerSecond: number
  rssBytes: number
  loopLagP50Ms: number
  loopLagMaxMs: number
  tasksPerSecond?: number
  taskFailures?: number
  taskP50Ms?: number
  taskP99Ms?: number
}

export interface Topology {
  nodes: Array<{ peerId: string, name?: string, role?: string, state?: string, self?: boolean }>
  links: Array<{ from: string, to: string, relayed: boolean }>
  unanswered: string[]
}

export interface LogLine { time?: number, level?: number | string, msg?: string, [k: string]: unknown }

export interface Capabilities { taskTypes: Record<string, number> }
