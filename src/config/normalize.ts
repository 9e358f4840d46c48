import { dirname, isAbsolute, resolve } from 'node:path'
import type { RawConfig } from './schema.js'

/** the contents of the files that hold secrets (network.psk_file, metrics.api_token_file) */
export interface Secrets { psk?: Uint8Array, apiToken?: string }

/** where the config came from, for paths and computed defaults */
export interface NormalizeContext {
  /** the config file: relative paths are resolved from its folder (else the working directory) */
  file?: string
  /** fallback for node.name */
  hostname?: string
  /** CPU count, for concurrency defaults */
  cpus?: number
  env?: Record<string, string | undefined>
}

/**
 * The validated YAML (snake_case, as the schema parsed it: every default filled in, durations in ms) -> the
 * configuration every other module receives (camelCase). This function is its definition: NodeConfig
 * (./types.ts) is the type of what it returns, so a key is named here once and typed by the schema. Only
 * computed defaults live here (they depend on other keys or on the host); plain ones are in the schema.
 */
export function normalize (c: RawConfig, ctx: NormalizeContext, secrets: Secrets = {}) {
  const base = ctx.file != null ? dirname(ctx.file) : process.cwd()
  const abs = (p: string): string => isAbsolute(p) ? p : resolve(base, p)
  const name = c.node.name ?? `${c.node.role}-${ctx.hostname ?? 'local'}`
  const cpus = ctx.cpus ?? 2
  const concurrency = c.tasks.max_concurrency ?? Math.max(2, 2 * cpus)
  // the image sets P2P_DATA_DIR=/data (its volume): a config without data_dir uses it there
  const dataDir = abs(c.node.data_dir ?? (ctx.env?.P2P_DATA_DIR != null && ctx.env.P2P_DATA_DIR !== '' ? ctx.env.P2P_DATA_DIR : `data/${name}`))
  return {
    /** absolute path of the file it came from, when it came from a file */
    file: ctx.file,
    node: {
      role: c.node.role,
      name,
      listenHost: c.node.listen_host,
      listenPort: c.node.listen_port,
      announce: c.node.announce,
      capabilities: [...new Set(c.node.capabilities)],
      maxConnections: c.node.max_connections,
      heartbeatIntervalMs: c.node.heartbeat_interval,
      heartbeatMisses: c.node.heartbeat_misses,
      memberExpiryMs: c.node.member_expiry,
      drainTimeoutMs: c.node.drain_timeout,
      dataDir,
      identityFile: abs(c.node.identity_file ?? `${dataDir}/peer.key`),
      /** node.pass_env: more of the node's environment for the programs it starts (names, or prefixes ending in *) */
      passEnv: c.node.pass_env
    },
    network: {
      protocolVersion: c.network.protocol_version,
      meshNetwork: c.network.mesh_network,
      enableMdns: c.network.enable_mdns,
      enableRelay: c.network.enable_relay,
      connectionTimeoutMs: c.network.connection_timeout,
      bootstrap: c.network.bootstrap,
      bootstrapMaxBackoffMs: c.network.bootstrap_max_backoff,
      pingIntervalMs: c.network.ping_interval,
      /** the private-network key (contents of psk_file) */
      psk: secrets.psk,
      allowedPeers: c.network.allowed_peers,
      infrastructurePeers: c.network.infrastructure_peers,
      /** /readyz fails while this worker holds no relay reservation */
      requireRelay: c.network.require_relay
    },
    /** the relay role's limits (0: none) */
    relay: {
      maxReservations: c.relay.max_reservations ?? Math.max(16, c.node.max_connections),
      reservationTtlMs: c.relay.reservation_ttl,
      maxCircuits: c.relay.max_circuits,
      circuitDurationMs: c.relay.circuit_duration,
      circuitDataBytes: c.relay.circuit_data
    },
    metrics: {
      enabled: c.metrics.enabled,
      host: c.metrics.host,
      port: c.metrics.port,
      /** the token every endpoint but /metrics, /healthz and /readyz requires (contents of api_token_file) */
      apiToken: secrets.apiToken,
      allowedHosts: c.metrics.allowed_hosts,
      historyIntervalMs: c.metrics.history_interval
    },
    control: { socket: abs(c.control.socket ?? `${dataDir}/control.sock`) },
    tasks: {
      maxConcurrency: concurrency,
      maxQueue: c.tasks.max_queue,
      /** payload bytes the worker's queue holds at most */
      maxQueueBytes: c.tasks.max_queue_bytes,
      maxPayload: c.tasks.max_payload,
      defaultTimeoutMs: c.tasks.default_timeout,
      /** the longest timeout granted to another peer's task */
      maxTimeoutMs: c.tasks.max_timeout,
      /** rewards above this count as this (queue order, ledger) */
      maxReward: c.tasks.max_reward,
      /** bytes the storage capability keeps at most */
      storageMaxBytes: c.tasks.storage_max_bytes,
      /** tasks taken here and not finished, and their payload bytes, at most */
      maxPending: c.tasks.max_pending,
      maxPendingBytes: c.tasks.max_pending_bytes,
      maxRetries: c.tasks.max_retries,
      dedupTtlMs: c.tasks.dedup_ttl,
      dedupMaxEntries: c.tasks.dedup_max_entries,
      dedupMaxBytes: c.tasks.dedup_max_bytes,
      computeThreads: c.tasks.compute_threads ?? Math.max(1, cpus - 1),
      storageReplicas: c.tasks.storage_replicas,
      rawEcho: c.tasks.raw_echo,
      /** task records kept (memory and data_dir/tasks.jsonl): for this long after acceptance, this many, this many bytes */
      resultTtlMs: c.tasks.result_ttl,
      recordsMax: c.tasks.records_max,
      recordsMaxBytes: c.tasks.records_max_bytes,
      allowedSubmitters: c.tasks.allowed_submitters,
      /** per-peer token bucket: requests per second (0: off) and burst */
      rateLimit: c.tasks.rate_limit,
      rateBurst: c.tasks.rate_burst ?? Math.max(1, Math.ceil(c.tasks.rate_limit * 2)),
      /**
       * configured handlers: `command` runs a program with the payload on stdin and returns its stdout; `module`
       * (an absolute path) runs a JavaScript module's `run(payload, ctx)` on a pool of worker threads
       */
      handlers: Object.fromEntries(Object.entries(c.tasks.handlers).map(([type, h]) => [type, {
        command: h.command,
        module: h.module == null ? undefined : abs(h.module),
        /** module handlers: threads in the pool, and each one's heap limit (bytes) */
        threads: h.threads ?? concurrency,
        maxMemory: h.max_memory,
        /** the capability a worker needs to offer this type (default: the type name) */
        capability: h.capability ?? type,
        timeoutMs: h.timeout,
        maxOutput: h.max_output,
        env: h.env
      }]))
    },
    logging: { level: c.logging.level },
    failover: { services: c.failover.services.map(f => failoverService(f, ctx.file != null ? dirname(ctx.file) : undefined, abs)) }
  }
}

type RawService = RawConfig['failover']['services'][number]
type RawHook = RawService['hooks']['before_active'][number]

/** one supervised program (docs/adr/0003-failover-design.md) */
function failoverService (f: RawService, cwd: string | undefined, abs: (p: string) => string) {
  // acks come back within milliseconds (members answer an active's beat at once), so the active renews long
  // before its deadline; the extra two intervals absorb a lost beat or a GC pause
  const leaseMs = f.lease ?? Math.max(f.heartbeat_interval * (f.misses + 2), 300)
  // only a hook that prepares the member for the service can stop it from taking the service, unless it says
  const hooks = (list: RawHook[], mustByDefault: boolean) => list.map(h => ({ argv: argvOf(h.command), timeoutMs: h.timeout ?? 10_000, mustSucceed: h.must_succeed ?? mustByDefault }))
  return {
    name: f.name,
    argv: argvOf(f.command),
    priority: f.priority,
    /** members the group is configured to have (n), self included */
    groupSize: f.group_size,
    /** members (self included) that must vote; a majority */
    quorum: f.quorum ?? Math.floor(f.group_size / 2) + 1,
    intervalMs: f.heartbeat_interval,
    misses: f.misses,
    /** how long a member honours an active's lease, or its own vote, after the beat or vote */
    leaseMs,
    /** subtracted from the active's deadline: clock-rate skew and the time to kill the program */
    marginMs: Math.max(50, Math.round(leaseMs * 0.15)),
    preempt: f.preempt,
    preemptDelayMs: f.preempt_delay,
    stopTimeoutMs: f.stop_timeout,
    env: f.env,
    /** peers allowed in the group (empty: any) */
    members: f.members,
    /** no members listed outside a private network, by choice (open_group: true): warned about at start */
    openGroup: f.open_group,
    /** where the program, hooks and health check run (the config file's directory) */
    cwd,
    healthCheck: f.health_check != null
      ? { argv: argvOf(f.health_check.command), intervalMs: f.health_check.interval, timeoutMs: f.health_check.timeout, rise: f.health_check.rise, fall: f.health_check.fall }
      : undefined,
    hooks: {
      before_active: hooks(f.hooks.before_active, true),
      after_active: hooks(f.hooks.after_active, false),
      before_passive: hooks(f.hooks.before_passive, false),
      after_passive: hooks(f.hooks.after_passive, false)
    },
    restart: { maxRestarts: f.restart.max_restarts, windowMs: f.restart.window, delayMs: f.restart.delay },
    state: f.state != null ? { path: abs(f.state.path), intervalMs: f.state.interval, maxBytes: f.state.max_size } : undefined,
    dryRun: f.dry_run
  }
}

/** a command as configured: an argv list as is, a string through sh -c */
function argvOf (command: string | string[]): string[] {
  return typeof command === 'string' ? ['sh', '-c', command] : command
}
