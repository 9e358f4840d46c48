import { parseDuration } from '../config/duration.js'
import type { TaskSpec } from './types.js'

export type ParsedTaskArgs = { ok: true, spec: TaskSpec } | { ok: false, error: string }

export const TASK_USAGE = 'task <type> <payload> [--timeout 5s] [--reward N] [--capability NAME] [--broadcast] [--retries N] [--cost N] [--param key=value]'

/**
 * Parses `task` words (after the command name) into a TaskSpec. Pure; the same words come from the REPL,
 * the one-shot CLI and the control socket. The payload is taken as UTF-8 text; a missing payload is empty.
 */
export function parseTaskArgs (words: string[]): ParsedTaskArgs {
  const positional: string[] = []
  const spec: Partial<TaskSpec> & { params: Record<string, string> } = { params: {} }
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (!w.startsWith('--') || w === '--') { positional.push(w); continue }
    const [flag, inline] = w.includes('=') && !w.startsWith('--param') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined]
    const value = (): string | undefined => inline ?? words[++i]
    switch (flag) {
      case '--broadcast': spec.broadcast = true; break
      case '--timeout': {
        const v = value()
        const ms = parseDuration(v)
        if (ms == null || ms <= 0) return { ok: false, error: `--timeout takes a duration such as 5s or 500ms, got ${JSON.stringify(v ?? '')}` }
        spec.timeoutMs = ms
        break
      }
      case '--reward': {
        const v = Number(value())
        if (!Number.isSafeInteger(v) || v < 0) return { ok: false, error: '--reward takes a whole number of credits' }
        spec.reward = v
        break
      }
      case '--retries': {
        const v = Number(value())
        if (!Number.isSafeInteger(v) || v < 0 || v > 100) return { ok: false, error: '--retries takes a number from 0 to 100' }
        spec.maxRetries = v
        break
      }
      case '--capability': {
        const v = value()
        if (v == null || !/^[a-z0-9][a-z0-9_-]*$/.test(v)) return { ok: false, error: '--capability takes a capability name' }
        spec.capability = v
        break
      }
      case '--cost': {
        const v = value()
        if (v == null || !/^\d+$/.test(v)) return { ok: false, error: '--cost takes a whole number' }
        spec.params.cost = v
        break
      }
      case '--param': {
        const v = value()
        const eq = v?.indexOf('=') ?? -1
        if (v == null || eq <= 0) return { ok: false, error: '--param takes key=value' }
        spec.params[v.slice(0, eq)] = v.slice(eq + 1)
        break
      }
      default: return { ok: false, error: `unknown option ${flag} (usage: ${TASK_USAGE})` }
    }
  }
  if (positional.length === 0) return { ok: false, error: `missing task type (usage: ${TASK_USAGE})` }
  if (positional.length > 2) return { ok: false, error: `too many words: quote a payload with spaces (usage: ${TASK_USAGE})` }
  const [type, payload = ''] = positional
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(type)) return { ok: false, error: `invalid task type ${JSON.stringify(type)}` }
  return { ok: true, spec: { ...spec, type, payload: new TextEncoder().encode(payload) } as TaskSpec }
}

/**
 * Parses the JSON body of POST /api/tasks: { type, payload | payload_base64, timeout, reward, capability,
 * broadcast, retries, params, wait }. Pure; every mistake names the field.
 */
export function parseTaskJson (body: unknown): { ok: true, spec: TaskSpec, wait: boolean } | { ok: false, error: string } {
  if (typeof body !== 'object' || body == null || Array.isArray(body)) return { ok: false, error: 'body must be a JSON object' }
  const b = body as Record<string, unknown>
  const known = new Set(['type', 'payload', 'payload_base64', 'timeout', 'reward', 'capability', 'broadcast', 'retries', 'params', 'wait', 'cost'])
  const unknown = Object.keys(b).filter(k => !known.has(k))
  if (unknown.length > 0) return { ok: false, error: `unknown field(s): ${unknown.join(', ')}` }
  if (typeof b.type !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(b.type)) return { ok: false, error: 'type: a task type name is required' }
  let payload: Uint8Array
  if (b.payload != null && b.payload_base64 != null) return { ok: false, error: 'payload, payload_base64: give one of the two, not both' }
  if (b.payload_base64 != null) {
    if (typeof b.payload_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload_base64)) return { ok: false, error: 'payload_base64: must be base64' }
    payload = new Uint8Array(Buffer.from(b.payload_base64, 'base64'))
  } else if (b.payload == null || typeof b.payload === 'string') {
    payload = new TextEncoder().encode((b.payload as string | undefined) ?? '')
  } else {
    return { ok: false, error: 'payload: must be a string (or use payload_base64)' }
  }
  const spec: TaskSpec = { type: b.type, payload }
  if (b.timeout != null) {
    const ms = typeof b.timeout === 'number' ? b.timeout : parseDuration(b.timeout)
    if (ms == null || !(ms > 0)) return { ok: false, error: 'timeout: milliseconds, or a duration string such as "5s"' }
    spec.timeoutMs = ms
  }
  if (b.reward != null) {
    if (!Number.isSafeInteger(b.reward) || (b.reward as number) < 0) return { ok: false, error: 'reward: a whole number of credits' }
    spec.reward = b.reward as number
  }
  if (b.retries != null) {
    if (!Number.isSafeInteger(b.retries) || (b.retries as number) < 0 || (b.retries as number) > 100) return { ok: false, error: 'retries: 0 to 100' }
    spec.maxRetries = b.retries as number
  }
  if (b.capability != null) {
    if (typeof b.capability !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(b.capability)) return { ok: false, error: 'capability: a capability name' }
    spec.capability = b.capability
  }
  if (b.broadcast != null) {
    if (typeof b.broadcast !== 'boolean') return { ok: false, error: 'broadcast: true or false' }
    spec.broadcast = b.broadcast
  }
  const params: Record<string, string> = {}
  if (b.params != null) {
    if (typeof b.params !== 'object' || Array.isArray(b.params)) return { ok: false, error: 'params: an object of strings' }
    for (const [k, v] of Object.entries(b.params as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number') return { ok: false, error: `params.${k}: a string` }
      params[k] = String(v)
    }
  }
  if (b.cost != null) params.cost = String(b.cost)
  if (Object.keys(params).length > 16) return { ok: false, error: 'params: at most 16' }
  if (Object.keys(params).length > 0) spec.params = params
  if (b.wait != null && typeof b.wait !== 'boolean') return { ok: false, error: 'wait: true or false' }
  return { ok: true, spec, wait: b.wait !== false }
}
