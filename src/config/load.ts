import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism, hostname, networkInterfaces } from 'node:os'
import { dirname, isAbsolute, resolve } from 'node:path'
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml'
import { ConfigError, type ConfigIssue } from '../util/errors.js'
import { interpolate } from './interpolate.js'
import { fromSeed, isSeed, seedSchema } from './seed.js'
import { configSchema, controlSchema, failoverSchema, failoverServiceSchema, handlerSchema, healthCheckSchema, hooksSchema, restartSchema, stateSchema, loggingSchema, metricsSchema, networkSchema, nodeSchema, tasksSchema, type RawConfig } from './schema.js'
import { normalize, type Secrets } from './normalize.js'
import type { NodeConfig } from './types.js'

const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(configSchema.shape),
  node: Object.keys(nodeSchema.shape),
  network: Object.keys(networkSchema.shape),
  metrics: Object.keys(metricsSchema.shape),
  control: Object.keys(controlSchema.shape),
  logging: Object.keys(loggingSchema.shape),
  tasks: Object.keys(tasksSchema.shape),
  failover: Object.keys(failoverSchema.shape),
  'failover.services.*': Object.keys(failoverServiceSchema.shape),
  'failover.services.*.health_check': Object.keys(healthCheckSchema.shape),
  'failover.services.*.hooks': Object.keys(hooksSchema.shape),
  'failover.services.*.restart': Object.keys(restartSchema.shape),
  'failover.services.*.state': Object.keys(stateSchema.shape),
  'tasks.handlers.*': Object.keys(handlerSchema.shape)
}

export interface ParseOptions {
  /** environment for ${VAR} interpolation */
  env?: Record<string, string | undefined>
  /** path of the file, for messages and for resolving relative paths */
  file?: string
  /** fallback for node.name */
  hostname?: string
  /** CPU count, for concurrency defaults */
  cpus?: number
  /** this host's interface addresses (the seed format picks its own entry by them) */
  localAddresses?: string[]
  /** reads secret files (network.psk_file, metrics.api_token_file); default: the file system */
  readFile?: (path: string) => Buffer
  /** whether a file is there (tasks.handlers.*.module); default: the file system */
  fileExists?: (path: string) => boolean
}

/** Reads and validates a config file. Throws ConfigError (naming key and line) on any mistake. */
export function loadConfig (file: string, env: Record<string, string | undefined> = process.env): NodeConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err: any) {
    throw new ConfigError([{ path: '', file, message: err.code === 'ENOENT' ? 'config file not found' : `cannot read config file: ${err.message}` }])
  }
  const localAddresses = Object.values(networkInterfaces()).flat().filter(a => a != null).map(a => a.address)
  return parseConfig(text, { env, file: resolve(file), hostname: hostname(), cpus: availableParallelism(), localAddresses })
}

/** Pure: YAML text + environment -> validated NodeConfig, or a ConfigError naming every bad key and its line. */
export function parseConfig (text: string, opts: ParseOptions = {}): NodeConfig {
  const env = opts.env ?? {}
  const file = opts.file
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const textLines = text.split('\n')
    throw new ConfigError(doc.errors.map(e => {
      const line = e.linePos?.[0].line
      // the usual trap: announce: [/ip4/${POD_IP}/tcp/4001], where { } inside [ ] is a YAML mapping
      const hint = line != null && /\[[^\]]*\$\{|\{[^}]*\$\{/.test(textLines[line - 1] ?? '') ? ' (quote values that contain ${...} inside [ ] or { }, e.g. ["/ip4/${POD_IP}/tcp/4001"])' : ''
      return { path: '', file, line, message: `YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}${hint}` }
    }))
  }
  const lineOf = (path: PropertyKey[]): number | undefined => findLine(doc, lines, path)

  // interpolate ${VAR} in values; plain (unquoted) scalars are re-typed, so `port: ${PORT}` is a number
  const issues: ConfigIssue[] = []
  visit(doc, {
    Scalar (key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return
      const path = pathOf(ancestors, node)
      try {
        const replaced = interpolate(node.value, env, path.join('.'))
        node.value = node.type === 'PLAIN' ? retype(replaced) : replaced
      } catch (err: any) {
        issues.push({ ...err.issues[0], file, line: lineOf(path) })
      }
    }
  })
  if (issues.length > 0) throw new ConfigError(issues)

  let raw: any
  try {
    // resolving aliases can still fail here (an alias whose anchor comes later or never: `*a`), or explode
    // (an alias bomb, stopped by maxAliasCount)
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (err: any) {
    const offset = (err.source?.range?.[0] ?? err.pos?.[0]) as number | undefined
    throw new ConfigError([{ path: '', file, line: offset != null ? lines.linePos(offset).line : undefined, message: `YAML error: ${String(err.message).split('\n')[0]}` }])
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', file, line: 1, message: 'the config must be a mapping with a `node` section' }])
  }
  let warnings: string[] = []
  if (isSeed(raw)) {
    // the seed p2p-failover format: validated as such (its own keys in errors), then turned into ours
    const seed = seedSchema.safeParse(raw, { reportInput: true })
    if (!seed.success) {
      throw new ConfigError(seed.error.issues.map(issue => ({ path: issue.path.join('.'), file, line: lineOf(issue.path), message: (issue as { input?: unknown }).input === undefined && issue.code !== 'custom' ? 'required by the seed p2p-failover format' : describe(issue) })))
    }
    const converted = fromSeed(seed.data, raw, { env, hostname: opts.hostname, localAddresses: opts.localAddresses ?? [] })
    if (converted.issues.length > 0) throw new ConfigError(converted.issues.map(({ at, ...i }) => ({ ...i, file, line: lineOf(at) })))
    raw = converted.config
    warnings = converted.warnings
  }
  const result = configSchema.safeParse(raw, { reportInput: true })
  if (!result.success) {
    throw new ConfigError(result.error.issues.flatMap(issue => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map(k => ({
          path: [...issue.path, k].join('.'), file, line: lineOf([...issue.path, k]), message: `unknown key${suggest(k, issue.path)}`
        }))
      }
      return [{ path: issue.path.join('.'), file, line: lineOf(issue.path), message: describe(issue) }]
    }))
  }
  const secrets = readSecrets(result.data, opts, lineOf)
  const c = result.data
  if (c.node.role === 'worker' && c.network.psk_file == null) {
    for (const s of c.failover.services.filter(s => s.open_group && s.members.length === 0)) {
      warnings.push(`failover service "${s.name}" is an open group (open_group: true, no members, no psk_file): any peer that reaches this node can claim or stop it`)
    }
  }
  return { ...normalize(c, opts, secrets), ...(warnings.length > 0 ? { warnings } : {}) }
}

/**
 * Reads the files that hold secrets (network.psk_file, metrics.api_token_file): a missing, unreadable or
 * malformed one is a config error naming its key and line, like any other. The contents are never logged.
 */
function readSecrets (c: RawConfig, opts: ParseOptions, lineOf: (path: PropertyKey[]) => number | undefined): Secrets {
  const base = opts.file != null ? dirname(opts.file) : process.cwd()
  const read = opts.readFile ?? ((path: string) => readFileSync(path))
  const issues: ConfigIssue[] = []
  const secrets: Secrets = {}
  const load = (key: [string, string], value: string | undefined, check: (data: Buffer) => string | undefined): Buffer | undefined => {
    if (value == null) return undefined
    const path = isAbsolute(value) ? value : resolve(base, value)
    let data: Buffer
    try { data = read(path) } catch (err: any) {
      issues.push({ path: key.join('.'), file: opts.file, line: lineOf(key), message: err.code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${err.message}` })
      return undefined
    }
    const problem = check(data)
    if (problem != null) { issues.push({ path: key.join('.'), file: opts.file, line: lineOf(key), message: `${path}: ${problem}` }); return undefined }
    return data
  }
  const psk = load(['network', 'psk_file'], c.network.psk_file, data => pskProblem(data))
  if (psk != null) secrets.psk = new Uint8Array(psk)
  const token = load(['metrics', 'api_token_file'], c.metrics.api_token_file, data => data.toString('utf8').trim().length < 16 ? 'the token must be at least 16 characters (p2p-node keygen writes one: api.token)' : undefined)
  if (token != null) secrets.apiToken = token.toString('utf8').trim()
  // a module handler's file must be there when the node starts, not at its first task
  for (const [type, h] of Object.entries(c.tasks.handlers)) {
    if (h.module == null) continue
    const key = ['tasks', 'handlers', type, 'module']
    const path = isAbsolute(h.module) ? h.module : resolve(base, h.module)
    if (!(opts.fileExists ?? existsSync)(path)) issues.push({ path: key.join('.'), file: opts.file, line: lineOf(key), message: `${path} does not exist` })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return secrets
}

/** a libp2p swarm key: `/key/swarm/psk/1.0.0/`, `/base16/`, then 64 hex digits (32 bytes) */
export function pskProblem (data: Uint8Array): string | undefined {
  const lines = Buffer.from(data).toString('utf8').trim().split(/\r?\n/)
  if (lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/') return 'not a libp2p swarm key (first lines must be /key/swarm/psk/1.0.0/ and /base16/; p2p-node keygen writes one)'
  if (!/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) return 'the key line must be 64 hex digits (32 bytes)'
  return undefined
}

function retype (value: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value)
  if (value === 'true' || value === 'false') return value === 'true'
  return value
}

function describe (issue: { code: string, message: string, expected?: unknown, input?: unknown, values?: unknown[] }): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'required key is missing' : `expected ${String(issue.expected)}, got ${typeName(issue.input)} ${JSON.stringify(issue.input)}`
  }
  if (issue.code === 'invalid_value' && Array.isArray(issue.values)) {
    const choices = issue.values.map(v => JSON.stringify(v)).join(', ')
    return issue.input === undefined ? `required key is missing (one of ${choices})` : `must be one of ${choices}, got ${JSON.stringify(issue.input)}`
  }
  if (issue.code === 'invalid_union' && issue.input === undefined) return 'required key is missing'
  if (issue.code === 'invalid_union') return `not a valid value: ${typeName(issue.input)} ${JSON.stringify(issue.input)?.slice(0, 80)}`
  return issue.message
}

function typeName (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'list'
  return typeof v === 'object' ? 'mapping' : typeof v
}

function suggest (key: string, parent: PropertyKey[]): string {
  const known = KNOWN_KEYS[parent.join('.')] ?? KNOWN_KEYS[parent.map((p, i) => i === 2 && (parent[1] === 'handlers' || parent[1] === 'services') ? '*' : p).join('.')]
  if (known == null) return ''
  const close = known.find(k => distance(k, key) <= 2)
  return close != null ? ` (did you mean ${close}?)` : ` (known keys: ${known.join(', ')})`
}

function distance (a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
  }
  return d[a.length][b.length]
}

/** the key path of a scalar, from the visitor's ancestors */
function pathOf (ancestors: readonly unknown[], node: unknown): PropertyKey[] {
  const path: PropertyKey[] = []
  const chain = [...ancestors, node]
  for (let i = 0; i < chain.length - 1; i++) {
    const here: any = chain[i]
    const next = chain[i + 1]
    if (here?.items != null && Array.isArray(here.items)) {
      const idx = here.items.indexOf(next)
      if (idx >= 0 && !isMap(here)) path.push(idx)
    } else if (here?.key != null && here.value === next) {
      path.push(isScalar(here.key) ? String(here.key.value) : String(here.key))
    }
  }
  return path
}

/** the 1-based line of the deepest node of `path` that exists in the document */
function findLine (doc: Document, lines: LineCounter, path: PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n)
    const parent = n === 0 ? doc.contents : doc.getIn(prefix.slice(0, -1), true)
    let target: YamlNode | undefined
    if (n === 0) {
      target = doc.contents as YamlNode | undefined
    } else if (isMap(parent)) {
      const pair = parent.items.find(p => isScalar(p.key) && String(p.key.value) === String(prefix[n - 1]))
      target = pair?.key as YamlNode | undefined
    } else {
      target = doc.getIn(prefix, true) as YamlNode | undefined
    }
    const offset = target?.range?.[0]
    if (offset !== undefined) return lines.linePos(offset).line
  }
  return undefined
}
