import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { parseDuration } from './duration.js'

/**
 * What a key means, for docs/reference/configuration.md (generated from this file: npm run docs), and the default
 * as the reference shows it when the value alone would mislead (computed defaults, `[]` meaning anyone).
 */
export interface KeyDoc { doc: string, shown?: string }
function doc<T extends z.ZodType> (schema: T, text: string, shown?: string): T {
  return schema.meta({ doc: text, ...(shown != null ? { shown } : {}) } satisfies KeyDoc)
}

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
  }).meta({ kind: 'duration' })
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
  role: doc(z.enum(ROLES), '`bootstrap`, `relay` or `worker`'),
  name: doc(name.optional(), 'name shown to operators (letters, digits, `.`, `_`, `-`)', '`<role>-<hostname>`'),
  listen_host: doc(z.string().min(1).default('0.0.0.0'), 'IPv4 address to listen on'),
  listen_port: doc(port.default(4001), 'TCP port (0: any free port)'),
  announce: doc(addressList(16).default([]), 'multiaddrs to announce instead of the listen addresses (e.g. the pod IP, an external address); announced exactly as written. An empty entry (an unset `"${VAR:-}"`) is left out'),
  capabilities: doc(z.array(capability).max(64).default([]), 'what a worker offers (lowercase names), e.g. `[compute, storage]`'),
  max_connections: doc(z.int().min(1).max(100_000).default(100), 'connection limit (libp2p connection manager)'),
  heartbeat_interval: doc(duration({ min: 50, max: 3_600_000 }).default(5000), 'how often this node publishes a heartbeat'),
  heartbeat_misses: doc(z.int().min(1).max(1000).default(3), 'a member is gone after this many of its own intervals without a heartbeat'),
  member_expiry: doc(duration({ min: 0 }).default(60_000), 'how long a gone member stays listed before it is removed'),
  drain_timeout: doc(duration({ min: 0, max: 3_600_000 }).default(30_000), 'how long a leaving node (SIGTERM, `p2p-node drain`) waits for the tasks it is running, and those it took, to end before it stops anyway; keep it below the pod\'s `terminationGracePeriodSeconds`'),
  data_dir: doc(z.string().min(1).optional(), 'identity, control socket, task journal, blobs, REPL history (made 0700)', '`$P2P_DATA_DIR` (the image sets `/data`), else `data/<name>`'),
  identity_file: doc(z.string().min(1).optional(), 'the peer\'s private key; created (mode 0600) on first start, so the peer id survives restarts', '`<data_dir>/peer.key`'),
  pass_env: doc(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'a variable name, or a prefix ending in *')).max(256).default([]), 'more of the node\'s environment for the programs it starts (handlers, failover programs, hooks, health checks): names, or prefixes ending in `*`. They always get `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, `LANG`, `LANGUAGE`, `LC_*`, `TZ`, `TMPDIR`, `TERM` and their own `env:`, nothing else (docs/guides/security.md)')
})

export const networkSchema = z.strictObject({
  protocol_version: doc(z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').default('p2p-network'), 'prefix of every topic and of the DHT protocol: networks with different values never mix'),
  mesh_network: doc(z.boolean().default(true), 'connect to every live member (full mesh, best for small fleets); `false`: only to bootstrap peers and what mDNS/DHT offer while short of peers'),
  enable_mdns: doc(z.boolean().default(true), 'mDNS discovery on the local link (service name derived from `protocol_version`)'),
  enable_relay: doc(z.boolean().default(true), 'workers: reserve a slot on a relay (listen on `/p2p-circuit`) and accept DCUtR upgrades'),
  connection_timeout: doc(duration({ min: 100 }).default(30_000), 'dial timeout'),
  bootstrap: doc(addressList(256).default([]), 'multiaddrs to join through, with or without `/p2p/<id>`; DNS names are resolved on every attempt to all their addresses; an empty entry is left out'),
  bootstrap_max_backoff: doc(duration({ min: 100 }).default(30_000), 'cap of the retry backoff while the node has no peers or has lost a bootstrap peer, and of the pause between relay search rounds'),
  ping_interval: doc(duration({ min: 100 }).default(10_000), 'how often connected peers are pinged (RTT; three timeouts in a row close the connection). A ping is a ping frame of the connection\'s Yamux multiplexer, not a stream of its own'),
  psk_file: doc(optionalPath, 'libp2p private-network swarm key (`p2p-node keygen`): peers without the same key cannot connect at all. An empty value is off'),
  allowed_peers: doc(z.array(peerIdString).max(4096).default([]), 'peer ids this node connects to or accepts, and the only authors whose membership messages it takes (whoever forwards them); anyone else is refused after the handshake', '`[]` (anyone)'),
  infrastructure_peers: doc(z.array(peerIdString).max(1024).default([]), 'peer ids allowed to announce themselves as `bootstrap` or `relay`, and the only relays a worker reserves slots on', '`[]` (anyone)'),
  require_relay: doc(z.boolean().default(false), 'workers with `enable_relay`: `/readyz` fails (`no relay reservation`) while the node holds no relay reservation — for a node that is only reachable through a relay (behind NAT)')
})

export const metricsSchema = z.strictObject({
  enabled: doc(z.boolean().default(true), 'serve the HTTP endpoints (metrics, health, API, console)'),
  host: doc(z.string().min(1).default('0.0.0.0'), 'where they listen'),
  port: doc(port.default(9090), 'their port'),
  api_token_file: doc(optionalPath, 'file with the token every endpoint but `/metrics`, `/healthz` and `/readyz` needs (`Authorization: Bearer …`, or the console\'s session cookie); without one, reads are open and writes are accepted only from loopback'),
  allowed_hosts: doc(z.array(z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/, 'a host name (letters, digits, dots and dashes)')).max(64).default([]), 'host names the HTTP `Host` header may carry besides IP addresses and `localhost` (an ingress\'s name, a Service\'s); any other is refused (DNS rebinding)'),
  history_interval: doc(duration({ min: 1000, max: 600_000 }).default(10_000), 'how often the node samples its own history (`GET /api/history`, the console\'s charts); 180 samples are kept (30 minutes at 10 s)')
})

export const controlSchema = z.strictObject({
  socket: doc(z.string().min(1).optional(), 'the control socket the CLI and REPL attach to', '`<data_dir>/control.sock`')
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
  }).meta({ kind: 'bytes' })
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
  command: doc(z.array(z.string().min(1)).min(1, 'command needs at least the program').optional(), 'a program as an argv list: the payload on stdin (never through a shell), its stdout the answer'),
  module: doc(z.string().min(1).regex(/\.(mjs|js|cjs)$/, 'a JavaScript file (.mjs, .js or .cjs; compile TypeScript first)').optional(), 'a JavaScript module (`.mjs`, `.js`, `.cjs`; relative to the config file) exporting `async run(payload, ctx)`, run on a pool of worker threads'),
  capability: doc(capability.optional(), 'the capability a worker must offer to run it', 'the type name'),
  timeout: doc(duration({ min: 10 }).default(30_000), 'the process group is killed (a module\'s signal aborts) when it runs out'),
  max_output: doc(byteSize({ min: 1, max: 64 * 1024 ** 2 }).default(1024 ** 2), 'more output is a task error; an answer is also capped by `tasks.max_payload`'),
  env: doc(z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}), 'added to the environment (`P2P_TASK_ID` and `P2P_TASK_TYPE` are set too)'),
  threads: doc(z.int().min(1).max(256).optional(), 'module handlers: threads in the pool, started on demand', '`tasks.max_concurrency`'),
  max_memory: doc(byteSize({ min: 16 * 1024 ** 2, max: 64 * 1024 ** 3 }).default(256 * 1024 ** 2), 'module handlers: each thread\'s JavaScript heap; over it a clean task error and a fresh thread')
}).superRefine((h, ctx) => {
  if ((h.command == null) === (h.module == null)) {
    ctx.addIssue({ code: 'custom', path: h.command == null ? [] : ['module'], message: 'give either command (a program) or module (a JavaScript file), not both or neither' })
  }
  if (h.command != null) {
    for (const key of ['threads'] as const) if (h[key] != null) ctx.addIssue({ code: 'custom', path: [key], message: 'only for module handlers' })
  }
})

export const tasksSchema = z.strictObject({
  max_concurrency: doc(z.int().min(1).max(1024).optional(), 'tasks a worker runs at once', '2 × CPUs'),
  max_queue: doc(z.int().min(0).max(1_000_000).default(1000), 'tasks a worker queues beyond that before answering busy'),
  max_queue_bytes: doc(byteSize({ min: 1024, max: 16 * 1024 ** 3 }).default(64 * 1024 ** 2), 'payload bytes the queue holds at most (busy past it); once the queue is half full (by count or bytes), no submitter may hold more than half of it'),
  max_payload: doc(byteSize({ min: 1, max: 16 * 1024 ** 2 }).default(1024 ** 2), 'largest payload submitted or accepted (bytes, or `64KiB`, `1MiB`)'),
  default_timeout: doc(duration({ min: 10 }).default(30_000), 'per-attempt timeout when the task names none'),
  max_timeout: doc(duration({ min: 10, max: 86_400_000 }).default(3_600_000), 'the longest timeout this worker grants a task another peer sends (a longer one is cut to it)'),
  max_reward: doc(z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(1_000_000), 'a claimed reward orders the queue and is credited to the ledger up to this'),
  storage_max_bytes: doc(byteSize({ min: 0, max: 1024 ** 4 }).default(1024 ** 3), 'what the `storage` capability keeps in `<data_dir>/blobs`; past it `storage.put` is refused'),
  max_pending: doc(z.int().min(1).max(10_000_000).default(10_000), 'unfinished tasks this node has taken (REPL, CLI, API); past it a new one is refused (HTTP 429)'),
  max_pending_bytes: doc(byteSize({ min: 1024, max: 64 * 1024 ** 3 }).default(256 * 1024 ** 2), 'and their payload bytes; past it a new one is refused (HTTP 429)'),
  max_retries: doc(z.int().min(0).max(100).default(3), 'retries on other workers after a timeout, a lost worker or a refusal (a busy worker is retried until the deadline instead)'),
  dedup_ttl: doc(duration({ min: 0 }).default(600_000), 'how long a worker remembers a task id and its answer'),
  dedup_max_entries: doc(z.int().min(0).max(10_000_000).default(10_000), 'the same cache bounded by count (oldest dropped first); at high rates the window is entries ÷ rate — keep it above your tasks\' deadline, `timeout × (retries + 1)` (`p2p_task_dedup_window_seconds` shows it)'),
  dedup_max_bytes: doc(byteSize({ min: 0, max: 4 * 1024 ** 3 }).default(32 * 1024 ** 2), 'and by the bytes of the answers it keeps'),
  compute_threads: doc(z.int().min(1).max(256).optional(), 'worker threads for `compute`', 'CPUs − 1 (≥ 1)'),
  storage_replicas: doc(z.int().min(1).max(16).default(2), 'copies `storage.put` makes (on distinct storage workers)'),
  allowed_submitters: doc(z.array(peerIdString).max(4096).default([]), 'peer ids whose task requests this worker runs; others get `REJECTED`', '`[]` (anyone)'),
  rate_limit: doc(z.number().min(0).max(1_000_000).default(5000), 'per-peer token bucket on task requests (per second; `0`: off); over it a request gets `BUSY`'),
  rate_burst: doc(z.int().min(1).max(1_000_000).optional(), 'the bucket\'s size', '2 × `rate_limit`'),
  raw_echo: doc(z.boolean().default(false), 'also serve a bare echo protocol, the baseline `bench/tasks.mjs` measures tasks against'),
  result_ttl: doc(duration({ min: 1000 }).default(24 * 3_600_000), 'how long this node keeps the records of the tasks it took (REPL, CLI, API), in memory and in `<data_dir>/tasks.jsonl`, counted from acceptance; unfinished `wait: false` tasks are resumed after a restart'),
  records_max: doc(z.int().min(10).max(1_000_000).default(1000), 'the same records bounded by count (oldest dropped first; an unfinished task is never dropped from the journal). Tasks accepted with `wait: false` have bounds of their own, the same values'),
  records_max_bytes: doc(byteSize({ min: 64 * 1024, max: 4 * 1024 ** 3 }).default(32 * 1024 ** 2), 'and by the bytes of their results'),
  handlers: doc(z.record(taskType, handlerSchema).default({}), 'configured handlers by task type: a program (`command`) or a JavaScript module (`module`); keys below. `cancel` is not a type name (`task cancel ID`)')
}).superRefine((t, ctx) => {
  // a word of the REPL's task command (task cancel <id>), not a type
  if (Object.hasOwn(t.handlers, 'cancel')) ctx.addIssue({ code: 'custom', path: ['handlers', 'cancel'], message: '"cancel" is reserved (task cancel <id> stops a task); name the type otherwise' })
})

// an argv list, or a shell string (run with sh -c), like the seed's `instructions`
const commandLine = z.union([z.array(z.string().min(1)).min(1), z.string().min(1)])

export const healthCheckSchema = z.strictObject({
  command: doc(commandLine, 'exit 0 = pass; killed (with its group) after `timeout`'),
  interval: doc(duration({ min: 50, max: 3_600_000 }).default(1000), 'how often it runs'),
  timeout: doc(duration({ min: 10, max: 3_600_000 }).default(1000), 'how long one run may take'),
  rise: doc(z.int().min(1).max(100).default(2), 'passes in a row to become healthy (the first result decides at once)'),
  fall: doc(z.int().min(1).max(100).default(3), 'failures in a row to become unhealthy')
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
  max_restarts: doc(z.int().min(0).max(1000).default(3), 'restarts allowed within `window` before the member gives the service up (`0`: hand off at the first exit)'),
  window: doc(duration({ min: 100 }).default(60_000), 'the window they are counted in'),
  delay: doc(duration({ min: 0, max: 600_000 }).default(1000), 'pause before a restart')
})

export const stateSchema = z.strictObject({
  path: doc(z.string().min(1), 'the state file (relative to the config file)'),
  interval: doc(duration({ min: 50, max: 3_600_000 }).default(1000), 'how often the active checks it for changes and sends it'),
  max_size: doc(byteSize({ min: 1, max: 64 * 1024 ** 2 }).default(16 * 1024 ** 2), 'largest file sent or taken')
})

export const failoverServiceSchema = z.strictObject({
  name: doc(z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'), 'the service (letters, digits, `.`, `_`, `-`); one gossip topic per service'),
  command: doc(commandLine, 'argv list, or a string run with `sh -c`'),
  priority: doc(z.int().min(-1_000_000).max(1_000_000), 'higher wins; ties go to the smaller peer id'),
  group_size: doc(z.int().min(1).max(64), 'members the group has (1–64): quorum and safety depend on it, so it is never guessed'),
  quorum: doc(z.int().min(1).max(64).optional(), 'members (self included) that must vote; a majority of `group_size`, so two partitions can never both run the program', 'majority'),
  heartbeat_interval: doc(duration({ min: 20, max: 60_000 }).default(200), 'how often members beat'),
  misses: doc(z.int().min(1).max(100).default(3), 'a member is gone after this many intervals without a beat'),
  lease: doc(duration({ min: 50 }).optional(), 'how long a member honours an active\'s lease, or its own vote', 'interval × (misses + 2)'),
  preempt: doc(z.boolean().default(true), 'a better member takes over from the active'),
  preempt_delay: doc(duration({ min: 0 }).default(5000), 'once it has been present this long'),
  stop_timeout: doc(duration({ min: 0 }).default(5000), 'SIGTERM → SIGKILL of the program\'s process group'),
  env: doc(z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}), 'extra environment for the program, hooks and health check'),
  members: doc(z.array(peerIdString).max(64).default([]), 'peer ids allowed in the group (at most `group_size`); beats and state files from others are refused. Without members the group is anyone who reaches the node: allowed only with `network.psk_file` (a private network) or `open_group: true`', '`[]` (anyone)'),
  open_group: doc(z.boolean().default(false), 'accept a group without members outside a private network (any peer could claim or stop the service); warned about at start'),
  health_check: doc(healthCheckSchema.optional(), 'a command run every `interval`: exit 0 passes; keys below'),
  hooks: doc(hooksSchema.default(() => hooksSchema.parse({})), 'commands run around each change: `before_active`, `after_active`, `before_passive`, `after_passive`; each a shell string, a `{command, timeout, must_succeed}` mapping, or a list of them. A hook\'s process group is killed after its `timeout` (10 s); a failing `before_active` hook (`must_succeed`, on by default there) aborts the promotion', 'none'),
  restart: doc(restartSchema.default(() => restartSchema.parse({})), 'what the active does when its program exits; keys below'),
  state: doc(stateSchema.optional(), 'a file the active hands to the others (the next active starts from it); keys below'),
  dry_run: doc(z.boolean().default(false), 'elect, log, run nothing (program, hooks and health check)')
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
  max_reservations: doc(z.int().min(1).max(100_000).optional(), 'the relay role: peers it holds a slot for', 'max(16, `node.max_connections`)'),
  reservation_ttl: doc(duration({ min: 1000 }).default(2 * 3600_000), 'how long a reservation lasts before the holder must renew it'),
  max_circuits: doc(z.int().min(1).max(100_000).default(256), 'relayed connections through this relay at once (HOP streams in, STOP streams out)'),
  circuit_duration: doc(duration({ min: 0, max: 2 ** 31 - 1 }).default(3600_000), 'how long one relayed connection may last (`0`: no limit). libp2p\'s own default, 2 minutes, cuts a task stream in the middle; a connection that hits a limit closes like any lost connection, and tasks in flight on it are retried with the same id'),
  circuit_data: doc(byteSize({ min: 0, max: 2 ** 50 }).default(1024 ** 3), 'bytes one relayed connection may carry (`0`: no limit; libp2p\'s own default is 128 KiB)')
})

export const loggingSchema = z.strictObject({
  level: doc(z.enum(LOG_LEVELS).default('info'), '`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent` (`LOG_LEVEL` overrides it)')
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
  // a group anyone can join is a service anyone can claim or stop (docs/guides/security.md, "Failover")
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
