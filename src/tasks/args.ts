import { parseDuration } from '../config/duration.js'
import type { TaskSpec } from './types.js'

export type ParsedTaskArgs = { ok: true, spec: TaskSpec } | { ok: false, error: string }

export const TASK_USAGE = 'task <type> [payload | --payload-file PATH] [--timeout 5s] [--reward N] [--capability NAME] [--broadcast] [--retries N] [--cost N] [--param key=value] [--follow]'

const TYPE_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/
const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/
const whole = (v: unknown): number | undefined => Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : undefined

/**
 * The rules for a task's optional fields, shared by the command line (`--timeout 5s`) and the JSON API
 * (`"timeout": "5s"`): what each accepts, what a mistake says, and where the value goes in the TaskSpec.
 * A command-line word is read as a number first for the numeric fields.
 */
const FIELDS: Record<string, { accept: (v: unknown) => unknown, expects: string, set: (spec: TaskSpec & { params: Record<string, string> }, v: any) => void, numeric?: boolean }> = {
  timeout: {
    accept: v => { const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : undefined; return ms != null && ms > 0 ? ms : undefined },
    expects: 'a duration such as 5s or 500ms (or milliseconds)',
    set: (spec, ms: number) => { spec.timeoutMs = ms }
  },
  reward: { accept: whole, expects: 'a whole number of credits', set: (spec, v: number) => { spec.reward = v }, numeric: true },
  retries: { accept: v => { const n = whole(v); return n != null && n <= 100 ? n : undefined }, expects: 'a number from 0 to 100', set: (spec, v: number) => { spec.maxRetries = v }, numeric: true },
  capability: { accept: v => typeof v === 'string' && NAME_RE.test(v) ? v : undefined, expects: 'a capability name', set: (spec, v: string) => { spec.capability = v } },
  broadcast: { accept: v => typeof v === 'boolean' ? v : undefined, expects: 'true or false', set: (spec, v: boolean) => { spec.broadcast = v } },
  follow: { accept: v => typeof v === 'boolean' ? v : undefined, expects: 'true or false', set: (spec, v: boolean) => { spec.follow = v } },
  cost: { accept: whole, expects: 'a whole number', set: (spec, v: number) => { spec.params.cost = String(v) }, numeric: true }
}
const PARAMS_MAX = 16

/** applies one optional field by the shared rules; the error names it as the caller spells it */
function applyField (spec: TaskSpec & { params: Record<string, string> }, field: string, value: unknown, label: string): string | undefined {
  const rule = FIELDS[field]
  const v = rule.accept(value)
  if (v === undefined) return `${label}: ${rule.expects}, got ${JSON.stringify(value ?? '')}`
  rule.set(spec, v)
  return undefined
}

/** the type and payload checks and the params bound, then the spec (params left out when empty) */
function finish (spec: TaskSpec & { params: Record<string, string> }, type: unknown, label: string): ParsedTaskArgs {
  if (typeof type !== 'string' || !TYPE_RE.test(type)) return { ok: false, error: `${label}: a task type name (lowercase letters, digits, . _ -) is required, got ${JSON.stringify(type ?? '')}` }
  if (Object.keys(spec.params).length > PARAMS_MAX) return { ok: false, error: `params: at most ${PARAMS_MAX}` }
  const { params, ...rest } = spec
  return { ok: true, spec: { ...rest, type, ...(Object.keys(params).length > 0 ? { params } : {}) } }
}

/**
 * Parses `task` words (after the command name) into a TaskSpec. Pure; the same words come from the REPL,
 * the one-shot CLI and the control socket. The payload is taken as UTF-8 text; a missing payload is empty.
 */
export function parseTaskArgs (words: string[]): ParsedTaskArgs {
  const positional: string[] = []
  const spec: TaskSpec & { params: Record<string, string> } = { type: '', payload: new Uint8Array(), params: {} }
  let binary: Uint8Array | undefined
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (!w.startsWith('--') || w === '--') { positional.push(w); continue }
    const [flag, inline] = w.includes('=') && !w.startsWith('--param') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined]
    const field = flag.slice(2)
    if (field === 'broadcast') { spec.broadcast = true; continue }
    if (field === 'follow') { spec.follow = true; continue }
    const word = inline ?? words[++i]
    // what --payload-file becomes on its way to the daemon (the file is read where the command is typed)
    if (field === 'payload-base64') {
      if (word == null || !/^[A-Za-z0-9+/]*={0,2}$/.test(word)) return { ok: false, error: '--payload-base64: the payload as base64' }
      binary = new Uint8Array(Buffer.from(word, 'base64'))
      continue
    }
    if (field === 'param') {
      const eq = word?.indexOf('=') ?? -1
      if (word == null || eq <= 0) return { ok: false, error: '--param: key=value' }
      spec.params[word.slice(0, eq)] = word.slice(eq + 1)
      continue
    }
    if (!Object.hasOwn(FIELDS, field)) return { ok: false, error: `unknown option ${flag} (usage: ${TASK_USAGE})` }
    const value = FIELDS[field].numeric === true && word != null && /^\d+$/.test(word) ? Number(word) : word
    const error = applyField(spec, field, value, flag)
    if (error != null) return { ok: false, error }
  }
  if (positional.length === 0) return { ok: false, error: `missing task type (usage: ${TASK_USAGE})` }
  if (positional.length > 2) return { ok: false, error: `too many words: quote a payload with spaces (usage: ${TASK_USAGE})` }
  const [type, payload] = positional
  if (binary != null && payload != null) return { ok: false, error: `give the payload once: as a word or from a file (usage: ${TASK_USAGE})` }
  spec.payload = binary ?? new TextEncoder().encode(payload ?? '')
  return finish(spec, type, 'type')
}

/**
 * Parses the JSON body of POST /api/tasks: { type, payload | payload_base64, timeout, reward, capability,
 * broadcast, retries, cost, params, wait }. Pure; every mistake names the field.
 */
export function parseTaskJson (body: unknown): { ok: true, spec: TaskSpec, wait: boolean } | { ok: false, error: string } {
  if (typeof body !== 'object' || body == null || Array.isArray(body)) return { ok: false, error: 'body must be a JSON object' }
  const b = body as Record<string, unknown>
  const known = new Set(['type', 'payload', 'payload_base64', 'params', 'wait', ...Object.keys(FIELDS)])
  const unknown = Object.keys(b).filter(k => !known.has(k))
  if (unknown.length > 0) return { ok: false, error: `unknown field(s): ${unknown.join(', ')}` }
  const spec: TaskSpec & { params: Record<string, string> } = { type: '', payload: new Uint8Array(), params: {} }
  if (b.payload != null && b.payload_base64 != null) return { ok: false, error: 'payload, payload_base64: give one of the two, not both' }
  if (b.payload_base64 != null) {
    if (typeof b.payload_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload_base64)) return { ok: false, error: 'payload_base64: must be base64' }
    spec.payload = new Uint8Array(Buffer.from(b.payload_base64, 'base64'))
  } else if (b.payload == null || typeof b.payload === 'string') {
    spec.payload = new TextEncoder().encode((b.payload as string | undefined) ?? '')
  } else {
    return { ok: false, error: 'payload: must be a string (or use payload_base64)' }
  }
  if (b.params != null) {
    if (typeof b.params !== 'object' || Array.isArray(b.params)) return { ok: false, error: 'params: an object of strings' }
    for (const [k, v] of Object.entries(b.params as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number') return { ok: false, error: `params.${k}: a string` }
      spec.params[k] = String(v)
    }
  }
  for (const field of Object.keys(FIELDS)) {
    if (b[field] == null) continue
    const error = applyField(spec, field, b[field], field)
    if (error != null) return { ok: false, error }
  }
  if (b.wait != null && typeof b.wait !== 'boolean') return { ok: false, error: 'wait: true or false' }
  const parsed = finish(spec, b.type, 'type')
  return parsed.ok ? { ...parsed, wait: b.wait !== false } : parsed
}
