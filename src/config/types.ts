import type { Role } from './schema.js'

/** The validated, fully defaulted configuration every other module receives. Durations are in ms. */
export interface NodeConfig {
  /** keys that were read but not used (the seed format's extras): logged at start */
  warnings?: string[]
  /** absolute path of the file it came from, when it came from a file */
  file?: string
  node: {
    role: Role
    name: string
    listenHost: string
    listenPort: number
    announce: string[]
    capabilities: string[]
    maxConnections: number
    heartbeatIntervalMs: number
    heartbeatMisses: number
    memberExpiryMs: number
    drainTimeoutMs: number
    dataDir: string
    identityFile: string
    /** node.pass_env: more of the node's environment for the programs it starts (names, or prefixes ending in *) */
    passEnv: string[]
  }
  network: {
    protocolVersion: string
    meshNetwork: boolean
    enableMdns: boolean
    enableRelay: boolean
    connectionTimeoutMs: number
    bootstrap: string[]
    bootstrapMaxBackoffMs: number
    pingIntervalMs: number
    /** the private-network key (contents of psk_file) */
    psk?: Uint8Array
    allowedPeers: string[]
    infrastructurePeers: string[]
    /** /readyz fails while this worker holds no relay reservation */
    requireRelay: boolean
  }
  /** the relay role's limits (0: none) */
  relay: { maxReservations: number, reservationTtlMs: number, maxCircuits: number, circuitDurationMs: number, circuitDataBytes: number }
  /** apiToken: the token every endpoint but /metrics, /healthz and /readyz requires (contents of api_token_file) */
  metrics: { enabled: boolean, host: string, port: number, apiToken?: string, allowedHosts: string[], historyIntervalMs: number }
  control: { socket: string }
  tasks: {
    maxConcurrency: number
    maxQueue: number
    /** payload bytes the worker's queue holds at most */
    maxQueueBytes: number
    maxPayload: number
    defaultTimeoutMs: number
    /** the longest timeout granted to another peer's task */
    maxTimeoutMs: number
    /** rewards above this count as this (queue order, ledger) */
    maxReward: number
    /** bytes the storage capability keeps at most */
    storageMaxBytes: number
    /** tasks taken here and not finished, and their payload bytes, at most */
    maxPending: number
    maxPendingBytes: number
    maxRetries: number
    dedupTtlMs: number
    dedupMaxEntries: number
    dedupMaxBytes: number
    computeThreads: number
    storageReplicas: number
    rawEcho: boolean
    /** task records kept (memory and data_dir/tasks.jsonl): for this long after acceptance, this many, this many bytes */
    resultTtlMs: number
    recordsMax: number
    recordsMaxBytes: number
    handlers: Record<string, HandlerConfig>
    allowedSubmitters: string[]
    /** per-peer token bucket: requests per second (0: off) and burst */
    rateLimit: number
    rateBurst: number
  }
  logging: { level: string }
  failover: { services: FailoverServiceConfig[] }
}

/**
 * A configured handler: `command` runs a program with the payload on stdin and returns its stdout; `module` (an
 * absolute path) runs a JavaScript module's `run(payload, ctx)` on a pool of worker threads.
 */
export interface HandlerConfig {
  command?: string[]
  module?: string
  /** module handlers: threads in the pool, and each one's heap limit (bytes) */
  threads: number
  maxMemory: number
  /** the capability a worker needs to offer this type (default: the type name) */
  capability: string
  timeoutMs: number
  maxOutput: number
  env: Record<string, string>
}

/** one supervised program (docs/adr/0003-failover-design.md) */
export interface FailoverServiceConfig {
  name: string
  argv: string[]
  priority: number
  /** members the group is configured to have (n), self included */
  groupSize: number
  /** members (self included) that must vote; a majority */
  quorum: number
  intervalMs: number
  misses: number
  /** how long a member honours an active's lease, or its own vote, after the beat or vote */
  leaseMs: number
  /** subtracted from the active's deadline: clock-rate skew and the time to kill the program */
  marginMs: number
  preempt: boolean
  preemptDelayMs: number
  stopTimeoutMs: number
  env: Record<string, string>
  /** peers allowed in the group (empty: any) */
  members: string[]
  /** no members listed outside a private network, by choice (open_group: true): warned about at start */
  openGroup: boolean
  /** where the program, hooks and health check run (the config file's directory) */
  cwd?: string
  healthCheck?: { argv: string[], intervalMs: number, timeoutMs: number, rise: number, fall: number }
  hooks: Record<HookEvent, Hook[]>
  restart: { maxRestarts: number, windowMs: number, delayMs: number }
  state?: { path: string, intervalMs: number, maxBytes: number }
  dryRun: boolean
}

export type HookEvent = 'before_active' | 'after_active' | 'before_passive' | 'after_passive'
export interface Hook { argv: string[], timeoutMs: number, mustSucceed: boolean }
