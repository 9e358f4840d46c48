// Property-based fuzzing of everything that parses outside input: the wire decoders (as the node calls them),
// the config loader and the REPL/CLI parsers. Shared by test/unit/fuzz.test.ts (>= 1k cases each in CI) and
// bench/fuzz.mjs (long runs). A property fails on a crash (an exception the caller does not expect), a wrong
// kind of rejection, or a result that breaks the parser's own promises; every input must be handled fast.
import fc from 'fast-check'
import { stringify } from 'yaml'
import { parseConfig } from '../../src/config/load.js'
import { parseLine } from '../../src/cli/parse-line.js'
import { ConfigError } from '../../src/util/errors.js'
import { snapshotDecoder } from '../../src/failover/beats.js'
import { decodeCapabilities, decodeFailoverBeat, decodeHeartbeat, type InvalidReason } from '../../src/messages/codec.js'
import { FailoverBeat, StateSnapshot } from '../../src/messages/failover.js'
import { CapabilityAdvertisement, HeartBeat } from '../../src/messages/membership.js'
import { TaskRequest, TaskResponse } from '../../src/messages/tasks.js'
import { parseTaskArgs, parseTaskJson } from '../../src/tasks/args.js'
import { taskRequestDecoder, taskResponseDecoder } from '../../src/tasks/frames.js'

const REASONS = new Set<InvalidReason>(['too_large', 'decode', 'bad_field', 'wrong_sender', 'unsigned', 'stale', 'untrusted_role'])

/** counts of what a run saw, per property (for the benchmark's table) */
export type Tally = Record<string, number>

/** random bytes, and valid encodings with bytes flipped, cut, or spliced in (closer to what breaks parsers) */
function bytesAround (valid: fc.Arbitrary<Uint8Array>, max = 4096): fc.Arbitrary<Uint8Array> {
  const mutated = fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert')), { maxLength: 8 }))
    .map(([bytes, edits]) => {
      let b = [...bytes]
      for (const [at, v, kind] of edits) {
        const i = b.length === 0 ? 0 : at % b.length
        if (kind === 'flip' && b.length > 0) b[i] = v
        else if (kind === 'cut') b = b.slice(0, i)
        else b.splice(i, 0, v)
      }
      return new Uint8Array(b)
    })
  return fc.oneof(fc.uint8Array({ maxLength: max }), mutated, valid)
}

const text = fc.string({ maxLength: 40 })
const bytes32 = fc.uint8Array({ minLength: 0, maxLength: 40 })
const u32 = fc.nat({ max: 2 ** 32 - 1 })
const validHeartbeat = fc.record({ peerId: bytes32, name: text, role: fc.constantFrom('worker', 'bootstrap', 'relay', 'x'), version: text, seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), intervalMs: u32, misses: u32, load: u32, capabilities: fc.array(text, { maxLength: 70 }), timestampMs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), healthy: fc.boolean() } as any)
  .map(m => HeartBeat.encode(m as any))
const validCapabilities = fc.record({ peerId: bytes32, name: text, role: fc.constantFrom('worker', 'relay'), capabilities: fc.array(text, { maxLength: 70 }), taskTypes: fc.array(text, { maxLength: 70 }) } as any)
  .map(m => CapabilityAdvertisement.encode(m as any))
const validBeat = fc.record({
  service: fc.constantFrom('svc', 'other', ''), member: bytes32, priority: fc.integer(), seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), term: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  state: fc.constantFrom(0, 1, 2, 3), healthy: fc.boolean(), eligible: fc.boolean(), voteCandidate: bytes32, voteTerm: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  acks: fc.array(fc.record({ member: bytes32, seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }), { maxLength: 80 }), running: fc.boolean()
}).map(m => FailoverBeat.encode(m as any))
const validTask = fc.record({ id: text, type: text, payload: fc.uint8Array({ maxLength: 256 }), timeoutMs: fc.nat(), reward: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), capability: text, params: fc.dictionary(text, text, { maxKeys: 20 }) } as any)
  .map(m => TaskRequest.encode(m as any))
const validResponse = fc.record({ id: text, status: fc.constantFrom(0, 1, 2, 3, 4, 5), result: fc.uint8Array({ maxLength: 256 }), error: text, worker: bytes32, queueMs: u32, runMs: u32, reward: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), duplicate: fc.boolean() } as any)
  .map(m => TaskResponse.encode(m as any))
const validSnapshot = fc.record({ service: text, term: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), version: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), sha256: bytes32, data: fc.uint8Array({ maxLength: 512 }) })
  .map(m => StateSnapshot.encode(m as any))

/** a varint length prefix + frame, as streams carry them; sometimes with a lying length */
function framed (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> {
  const varint = (n: number): number[] => { const out = []; do { let b = n & 0x7f; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b) } while (n > 0); return out }
  const frame = fc.tuple(bytesAround(valid, 1024), fc.option(fc.nat({ max: 2 ** 31 }), { nil: undefined }))
    .map(([body, lie]) => new Uint8Array([...varint(lie ?? body.byteLength), ...body]))
  // the frames' bytes, cut into chunks at random places (a stream delivers them in pieces)
  return fc.tuple(fc.array(frame, { maxLength: 4 }), fc.array(fc.nat({ max: 64 }), { maxLength: 6 })).map(([frames, cuts]) => {
    const all = new Uint8Array(frames.flatMap(f => [...f]))
    const chunks: Uint8Array[] = []
    let at = 0
    for (const c of cuts) { if (at >= all.length) break; chunks.push(all.slice(at, at + 1 + c)); at += 1 + c }
    if (at < all.length) chunks.push(all.slice(at))
    return chunks
  })
}

function decoderProperty (name: string, arb: fc.Arbitrary<Uint8Array>, decode: (d: Uint8Array) => { ok: boolean, reason?: string }, tally: Tally): fc.IPropertyWithHooks<[Uint8Array]> {
  return fc.property(arb, data => {
    const r = decode(data)
    tally[`${name}:${r.ok ? 'accepted' : r.reason!}`] = (tally[`${name}:${r.ok ? 'accepted' : r.reason!}`] ?? 0) + 1
    // a rejection always names a reason the node counts in p2p_invalid_messages_total
    if (!r.ok && !REASONS.has(r.reason as InvalidReason)) throw new Error(`unknown reason ${r.reason}`)
  })
}

function streamProperty (name: string, arb: fc.Arbitrary<Uint8Array[]>, make: () => (chunk: Uint8Array) => unknown[], tally: Tally): fc.IPropertyWithHooks<[Uint8Array[]]> {
  return fc.property(arb, chunks => {
    const decode = make()
    let outcome = 'ok'
    try {
      for (const c of chunks) decode(c)
    } catch (err) {
      // the stream is dropped on this error: it must be an Error, not a crash of another kind
      if (!(err instanceof Error)) throw new Error(`threw a non-Error: ${String(err)}`)
      outcome = 'dropped'
    }
    tally[`${name}:${outcome}`] = (tally[`${name}:${outcome}`] ?? 0) + 1
  })
}

/** a random config: YAML text, random structures, and valid configs with one value replaced */
const configValue: fc.Arbitrary<unknown> = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }))
const KEYS: Array<[string, string]> = [['node', 'role'], ['node', 'listen_port'], ['node', 'heartbeat_interval'], ['node', 'capabilities'], ['node', 'name'], ['network', 'bootstrap'], ['network', 'protocol_version'], ['network', 'connection_timeout'], ['metrics', 'port'], ['tasks', 'max_payload'], ['tasks', 'rate_limit'], ['tasks', 'handlers'], ['failover', 'services'], ['logging', 'level'], ['network', 'allowed_peers'], ['bogus', 'key']]
const configText = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.jsonValue({ maxDepth: 4 }).map(v => stringify(v)),
  fc.tuple(fc.constantFrom(...KEYS), configValue).map(([[section, key], value]) => stringify({ node: { role: 'worker' }, [section]: { [key]: value } })),
  fc.tuple(configValue, configValue, fc.integer({ min: 1, max: 5 })).map(([cmd, prio, n]) => stringify({ node: { role: 'worker' }, failover: { services: [{ name: 'svc', command: cmd, priority: prio, group_size: n, hooks: { before_active: cmd } }] } })),
  fc.tuple(fc.array(fc.record({ name: configValue, ip: configValue, port: configValue, priority: configValue }), { maxLength: 4 }), configValue).map(([ddns, ins]) => stringify({ config_metadata: { name: 'svc' }, ddns, execution: { instructions: ins } }))
)

export interface FuzzCase { name: string, property: fc.IPropertyWithHooks<any> }

/** every fuzz property; `tally` collects what each saw */
export function fuzzProperties (tally: Tally = {}): FuzzCase[] {
  return [
    { name: 'heartbeat decoder', property: decoderProperty('heartbeat', bytesAround(validHeartbeat), decodeHeartbeat, tally) },
    { name: 'capabilities decoder', property: decoderProperty('capabilities', bytesAround(validCapabilities, 9000), decodeCapabilities, tally) },
    { name: 'failover beat decoder', property: decoderProperty('failover', bytesAround(validBeat, 5000), d => decodeFailoverBeat(d, 'svc'), tally) },
    { name: 'task stream (length-prefixed TaskRequest)', property: streamProperty('task-stream', framed(validTask), () => taskRequestDecoder(4096), tally) },
    { name: 'task answers (length-prefixed TaskResponse, from a worker)', property: streamProperty('task-answers', framed(validResponse), () => taskResponseDecoder(4096), tally) },
    { name: 'state stream (length-prefixed StateSnapshot)', property: streamProperty('state-stream', framed(validSnapshot), () => snapshotDecoder(2048), tally) },
    {
      name: 'config loader',
      property: fc.property(configText, fc.dictionary(fc.constantFrom('P2P_FAILOVER_SELF', 'PORT', 'X'), fc.string({ maxLength: 10 })), (yaml, env) => {
        let outcome = 'accepted'
        try {
          parseConfig(yaml, { file: '/fuzz/node.yaml', env, hostname: 'fuzz', localAddresses: ['127.0.0.1'], readFile: () => { const e: any = new Error('no such file'); e.code = 'ENOENT'; throw e } })
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err
          // every issue names where it is, so a user can find it
          for (const i of err.issues) if (typeof i.message !== 'string' || i.message === '') throw new Error('an issue without a message')
          outcome = 'config_error'
        }
        tally[`config:${outcome}`] = (tally[`config:${outcome}`] ?? 0) + 1
      })
    },
    {
      name: 'REPL line parser',
      property: fc.property(fc.string({ maxLength: 300, unit: 'binary' }), line => {
        const r = parseLine(line)
        tally[`repl:${r.ok ? 'ok' : 'error'}`] = (tally[`repl:${r.ok ? 'ok' : 'error'}`] ?? 0) + 1
        if (r.ok && r.words.some(w => typeof w !== 'string')) throw new Error('a word that is not a string')
      })
    },
    {
      name: 'REPL quoting round trip',
      property: fc.property(fc.array(fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }), { maxLength: 6 }), words => {
        const quoted = words.map(w => `'${w.replaceAll("'", "'\\''")}'`).join(' ')
        const r = parseLine(quoted)
        if (!r.ok || JSON.stringify(r.words) !== JSON.stringify(words)) throw new Error(`round trip lost words: ${JSON.stringify(words)} -> ${JSON.stringify(r)}`)
      })
    },
    {
      name: 'task arguments (REPL/CLI) and task JSON (HTTP)',
      property: fc.property(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('--timeout', '--reward', '--capability', '--broadcast', '--retries', '--param', '--cost')), { maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), (words, body) => {
        const a = parseTaskArgs(words)
        const b = parseTaskJson(body)
        for (const r of [a, b]) if (!r.ok && (typeof r.error !== 'string' || r.error === '')) throw new Error('a refusal without a message')
        tally[`task-args:${a.ok ? 'ok' : 'error'}`] = (tally[`task-args:${a.ok ? 'ok' : 'error'}`] ?? 0) + 1
      })
    }
  ]
}
