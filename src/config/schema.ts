import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { parseDuration } from './duration.js'

export const ROLES = ['bootstrap', 'relay', 'worker'] as const
export type Role = typeof ROLES[number]
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** seconds (`30`) or a duration string (`500ms`, `1m30s`), parsed to milliseconds */
function duration (opts: { min?: number, max?: number } = {}) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = parseDuration(value)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use seconds such as 30, or a string such as 500ms or 1m)` })
      return z.NEVER
    }
    if (opts.min !== undefined && ms < opts.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${opts.min}ms, got ${ms}ms` })
      return z.NEVER
    }
    if (opts.max !== undefined && ms > opts.max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${opts.max}ms, got ${ms}ms` })
      return z.NEVER
    }
    return ms
  })
}

const port = z.int().min(0).max(65535)
// a file path that may be left empty: `psk_file: "${P2P_PSK_FILE:-}"` is off unless the variable is set
const optionalPath = z.preprocess(v => v === '' ? undefined : v, z.string().min(1).optional())
const peerIdString = z.string().refine(v => { try { peerIdFromString(v); return true } catch { return false } }, { message: 'not a peer id (p2p-node keygen prints one; e.g. 12D3KooW...)' })

const multiaddrString = z.string().refine(value => {
  try { multiaddr(value); return value.startsWith('/') } catch { return false }
}, { message: 'not a valid multiaddr (e.g. /dns4/p2p-bootstrap/tcp/4001 or /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...)' })

// a list of addresses in which an empty entry is left out: `"${P2P_EXTERNAL_ADDRESS:-}"` adds one only when set
const addressList = (max: number) => z.preprocess(v => Array.isArray(v) ? v.filter(x => x !== '') : v, z.array(multiaddrString).max(max))

const name = z.string().min(1).max(63).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit')
const capability = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "_" and "-" only')

export const nodeSchema = z.strictObject({
  role: z.enum(ROLES),
  name: name.optional(),
  listen_host: z.string().min(1).default('0.0.0.0'),
  listen_port: port.default(4001),
  announce: addressList(16).default([]),
  capabilities: z.array(capability).max(64).default([]),
  max_connections: z.int().min(1).max(100_000).default(100),
  heartbeat_interval: duration({ min: 50, max: 3_600_000 }).default(5000),
  heartbeat_misses: z.int().min(1).max(1000).default(3),
  member_expiry: duration({ min: 0 }).default(60_000),
  data_dir: z.string().min(1).optional(),
  identity_file: z.string().min(1).optional(),
  // environment variables handlers, hooks, health checks and supervised programs get from the node's own,
  // besides the few every program needs (PATH, HOME, LANG, TZ, ...): names, or a prefix ending in *
  pass_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'a variable name, or a prefix ending in *')).max(256).default([])
})

export const networkSchema = z.strictObject({
  protocol_version: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').default('p2p-network'),
  mesh_network: z.boolean().default(true),
  enable_mdns: z.boolean().default(true),
  enable_relay: z.boolean().default(true),
  connection_timeout: duration({ min: 100 }).default(30_000),
  bootstrap: addressList(256).default([]),
  bootstrap_max_backoff: duration({ min: 100 }).default(30_000),
  ping_interval: duration({ min: 100 }).default(10_000),
  // a libp2p private-network swarm key (p2p-node keygen writes one): without it no peer can connect at all
  psk_file: optionalPath,
  // if set, the only peers this node connects to or accepts (connection gater); anyone else is refused
  allowed_peers: z.array(peerIdString).max(4096).default([]),
  // if set, only these peers may announce themselves as bootstrap or relay nodes
  infrastructure_peers: z.array(peerIdString).max(1024).default([]),
  // a worker that must be reachable through a relay (behind NAT): /readyz fails while it holds no reservation
  require_relay: z.boolean().default(false)
})

export const metricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(9090),
  // a file holding the token every endpoint but /metrics, /healthz and /readyz requires; without it reads are open
  // and writes accept only loopback clients
  api_token_file: optionalPath,
  // host names the HTTP Host header may carry besides IP addresses and localhost (DNS rebinding): e.g. the name of
  // an ingress or of the Service a client reaches the node by
  allowed_hosts: z.array(z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/, 'a host name (letters, digits, dots and dashes)')).max(64).default([]),
  // how often the node samples its own history (GET /api/history, the console's charts); 180 samples are kept
  history_interval: duration({ min: 1000, max: 600_000 }).default(10_000)
})

export const controlSchema = z.strictObject({
  socket: z.string().min(1).optional()
})

const taskType = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only')

/** a byte size: a number of bytes, or a string such as 64KiB, 1MiB, 512kB */
function byteSize (opts: { min?: number, max?: number } = {}) {
  return z.union([z.int(), z.string()]).transform((value, ctx) => {
    const n = parseByteSize(value)
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(value)} (use bytes such as 65536, or 64KiB, 1MiB)` })
      return z.NEVER
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      ctx.addIssue({ code: 'custom', message: `must be between ${opts.min ?? 0} and ${opts.max ?? Infinity} bytes, got ${n}` })
      return z.NEVER
    }
    return n
  })
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 }
export function parseByteSize (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim())
  if (m == null) return undefined
  const unit = SIZE_UNITS[m[2].toLowerCase()]
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit)
}

/** a size as people read it, in the units the config takes: 1 MiB, 1.4 MiB, 512 KiB, 100 B */
export function formatByteSize (n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`
  }
  return `${n} B`
}

// a handler is a program (`command`: payload on stdin, result from stdout) or a JavaScript module (`module`:
// `export async function run (payload, ctx)`, run on a pool of worker threads)
export const handlerSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1, 'command needs at least the program').optional(),
  module: z.string().min(1).regex(/\.(mjs|js|cjs)$/, 'a JavaScript file (.mjs, .js or .cjs; compile TypeScript first)').optional(),
  capability: capability.optional(),
  timeout: duration({ min: 10 }).default(30_000),
  max_output: byteSize({ min: 1, max: 64 * 1024 ** 2 }).default(1024 ** 2),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  // module handlers: threads in the pool (default: tasks.max_concurrency), and each thread's heap limit
  threads: z.int().min(1).max(256).optional(),
  max_memory: byteSize({ min: 16 * 1024 ** 2, max: 64 * 1024 ** 3 }).default(256 * 1024 ** 2)
}).superRefine((h, ctx) => {
  if ((h.command == null) === (h.module == null)) {
    ctx.addIssue({ code: 'custom', path: h.command == null ? [] : ['module'], message: 'give either command (a program) or module (a JavaScript file), not both or neither' })
  }
  if (h.command != null) {
    for (const key of ['threads'] as const) if (h[key] != null) ctx.addIssue({ code: 'custom', path: [key], message: 'only for module handlers' })
  }
})

export const tasksSchema = z.strictObject({
  max_concurrency: z.int().min(1).max(1024).optional(),
  max_queue: z.int().min(0).max(1_000_000).default(1000),
  // the payload bytes the queue may hold at once (past it: BUSY), whatever max_queue allows
  max_queue_bytes: byteSize({ min: 1024, max: 16 * 1024 ** 3 }).default(64 * 1024 ** 2),
  max_payload: byteSize({ min: 1, max: 16 * 1024 ** 2 }).default(1024 ** 2),
  default_timeout: duration({ min: 10 }).default(30_000),
  // the longest timeout this worker grants a task another peer sends (a longer request is cut to it)
  max_timeout: duration({ min: 10, max: 86_400_000 }).default(3_600_000),
  // the highest reward that orders the queue and is credited to the ledger; a larger claim counts as this
  max_reward: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
  // bytes the storage capability keeps in data_dir/storage (past it: storage.put is refused)
  storage_max_bytes: byteSize({ min: 0, max: 1024 ** 4 }).default(1024 ** 3),
  // tasks this node has taken (REPL, CLI, API, handlers) and not finished, and their payload bytes: past
  // either a new one is refused (HTTP 429, the CLI's BUSY) instead of queued without limit
  max_pending: z.int().min(1).max(10_000_000).default(10_000),
  max_pending_bytes: byteSize({ min: 1024, max: 64 * 1024 ** 3 }).default(256 * 1024 ** 2),
  max_retries: z.int().min(0).max(100).default(3),
  dedup_ttl: duration({ min: 0 }).default(600_000),
  // the deduplication cache is also bounded by count and by the bytes of the answers it keeps (oldest go first)
  dedup_max_entries: z.int().min(0).max(10_000_000).default(10_000),
  dedup_max_bytes: byteSize({ min: 0, max: 4 * 1024 ** 3 }).default(32 * 1024 ** 2),
  compute_threads: z.int().min(1).max(256).optional(),
  storage_replicas: z.int().min(1).max(16).default(2),
  // if set, the only peers whose task requests this worker runs; others are answered REJECTED
  allowed_submitters: z.array(peerIdString).max(4096).default([]),
  // per-peer token bucket on task requests (requests per second; 0: off); over it a request is answered BUSY
  rate_limit: z.number().min(0).max(1_000_000).default(5000),
  rate_burst: z.int().min(1).max(1_000_000).optional(),
  // serves /<pv>/raw-echo/1.0.0, a bare echo of stream bytes: the baseline bench/tasks.mjs compares tasks with
  raw_echo: z.boolean().default(false),
  // the task records of the tasks this node took (REPL, CLI, API), kept on disk in data_dir/tasks.jsonl: how
  // long (after acceptance), how many and how many bytes of results; unfinished wait: false tasks are resumed
  result_ttl: duration({ min: 1000 }).default(24 * 3_600_000),
  records_max: z.int().min(10).max(1_000_000).default(1000),
  records_max_bytes: byteSize({ min: 64 * 1024, max: 4 * 1024 ** 3 }).default(32 * 1024 ** 2),
  handlers: z.record(taskType, handlerSchema).default({})
}).superRefine((t, ctx) => {
  // a word of the REPL's task command (task cancel <id>), not a type
  if (Object.hasOwn(t.handlers, 'cancel')) ctx.addIssue({ code: 'custom', path: ['handlers', 'cancel'], message: '"cancel" is reserved (task cancel <id> stops a task); name the type otherwise' })
})

// an argv list, or a shell string (run with sh -c), like the seed's `instructions`
const commandLine = z.union([z.array(z.string().min(1)).min(1), z.string().min(1)])

export const healthCheckSchema = z.strictObject({
  command: commandLine,
  interval: duration({ min: 50, max: 3_600_000 }).default(1000),
  timeout: duration({ min: 10, max: 3_600_000 }).default(1000),
  // consecutive results it takes to change state: rise successes to become healthy, fall failures to become unhealthy
  rise: z.int().min(1).max(100).default(2),
  fall: z.int().min(1).max(100).default(3)
})

// a hook is a shell string or a mapping (whose command may be an argv list); an event takes one hook or a list
// of them, so a list at the event is always a list of hooks, never an argv
const hookSchema = z.union([
  z.string().min(1).transform(command => ({ command, timeout: undefined, must_succeed: undefined })),
  z.strictObject({ command: commandLine, timeout: duration({ min: 10, max: 3_600_000 }).optional(), must_succeed: z.boolean().optional() })
])
const hookList = z.union([hookSchema.transform(h => [h]), z.array(hookSchema).max(16)]).default([])

export const hooksSchema = z.strictObject({
  before_active: hookList,
  after_active: hookList,
  before_passive: hookList,
  after_passive: hookList
})

export const restartSchema = z.strictObject({
  // restarts allowed within `window` before the member gives the service up (0: hand off at the first exit)
  max_restarts: z.int().min(0).max(1000).default(3),
  window: duration({ min: 100 }).default(60_000),
  delay: duration({ min: 0, max: 600_000 }).default(1000)
})

export const stateSchema = z.strictObject({
  path: z.string().min(1),
  interval: duration({ min: 50, max: 3_600_000 }).default(1000),
  max_size: byteSize({ min: 1, max: 64 * 1024 ** 2 }).default(16 * 1024 ** 2)
})

export const failoverServiceSchema = z.strictObject({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
  command: commandLine,
  priority: z.int().min(-1_000_000).max(1_000_000),
  // members the group has: quorum and safety depend on it, so it is never guessed
  group_size: z.int().min(1).max(64),
  quorum: z.int().min(1).max(64).optional(),
  heartbeat_interval: duration({ min: 20, max: 60_000 }).default(200),
  misses: z.int().min(1).max(100).default(3),
  lease: duration({ min: 50 }).optional(),
  preempt: z.boolean().default(true),
  preempt_delay: duration({ min: 0 }).default(5000),
  stop_timeout: duration({ min: 0 }).default(5000),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  // if set, the only peers whose beats (and state files) count for this service; must hold group_size ids or fewer
  members: z.array(peerIdString).max(64).default([]),
  // without members: beats from any peer that reaches this node count. Allowed only in a private network
  // (network.psk_file), or with this opt-in, which logs a warning at start
  open_group: z.boolean().default(false),
  health_check: healthCheckSchema.optional(),
  hooks: hooksSchema.default(() => hooksSchema.parse({})),
  restart: restartSchema.default(() => restartSchema.parse({})),
  state: stateSchema.optional(),
  // take part in the election and log what would run, but run nothing (program, hooks, health checks)
  dry_run: z.boolean().default(false)
}).superRefine((s, ctx) => {
  // two quorums must always share a member, or two sides of a partition could both run the program
  if (s.members.length > s.group_size) {
    ctx.addIssue({ code: 'custom', path: ['members'], message: `lists ${s.members.length} peers but group_size is ${s.group_size}` })
  }
  if (s.quorum != null && (s.quorum * 2 <= s.group_size || s.quorum > s.group_size)) {
    ctx.addIssue({ code: 'custom', path: ['quorum'], message: `must be a majority of group_size ${s.group_size} (${Math.floor(s.group_size / 2) + 1} to ${s.group_size}), or two partitions could both run the program` })
  }
})

export const failoverSchema = z.strictObject({
  services: z.array(failoverServiceSchema).max(16).default([])
})

// the relay role's limits. libp2p's defaults (2 minutes and 128 KiB per relayed connection) cut a task stream
// in the middle; these carry tasks, and a circuit that hits one is re-established with its tasks retried
export const relaySchema = z.strictObject({
  max_reservations: z.int().min(1).max(100_000).optional(),
  reservation_ttl: duration({ min: 1000 }).default(2 * 3600_000),
  // relayed connections open at once (HOP streams in, STOP streams out)
  max_circuits: z.int().min(1).max(100_000).default(256),
  // per relayed connection; 0: no limit
  circuit_duration: duration({ min: 0, max: 2 ** 31 - 1 }).default(3600_000),
  circuit_data: byteSize({ min: 0, max: 2 ** 50 }).default(1024 ** 3)
})

export const loggingSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info')
})

export const configSchema = z.strictObject({
  node: nodeSchema,
  network: networkSchema.default(() => networkSchema.parse({})),
  metrics: metricsSchema.default(() => metricsSchema.parse({})),
  control: controlSchema.default(() => controlSchema.parse({})),
  tasks: tasksSchema.default(() => tasksSchema.parse({})),
  failover: failoverSchema.default(() => failoverSchema.parse({})),
  relay: relaySchema.default(() => relaySchema.parse({})),
  logging: loggingSchema.default(() => loggingSchema.parse({}))
}).superRefine((c, ctx) => {
  if (c.network.require_relay && (c.node.role !== 'worker' || !c.network.enable_relay)) {
    ctx.addIssue({ code: 'custom', path: ['network', 'require_relay'], message: 'needs node.role: worker and network.enable_relay: true (only workers reserve relay slots)' })
  }
  // a group anyone can join is a service anyone can claim or stop (docs/SECURITY.md, "Failover")
  if (c.node.role === 'worker' && c.network.psk_file == null) {
    c.failover.services.forEach((s, i) => {
      if (s.members.length > 0 || s.open_group) return
      ctx.addIssue({
        code: 'custom',
        path: ['failover', 'services', i, 'members'],
        message: `service "${s.name}" has no members, so any peer that reaches this node could claim or stop it: list the members' peer ids, set network.psk_file (a private network), or set open_group: true to accept that`
      })
    })
  }
})

export type RawConfig = z.output<typeof configSchema>
