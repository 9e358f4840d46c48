import { peerIdFromMultihash } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { FailoverBeat } from './failover.js'
import { CapabilityAdvertisement, HeartBeat } from './membership.js'
import type { PeerId } from '@libp2p/interface'

/** Largest encoded message accepted per type; anything larger is rejected before decoding. */
export const MAX_BYTES = {
  heartbeat: 2048,
  capabilities: 8192,
  failoverBeat: 4096
} as const

export const MAX_STRING = 256

export type InvalidReason = 'too_large' | 'decode' | 'bad_field' | 'wrong_sender' | 'unsigned' | 'stale' | 'untrusted_role' | 'bad_signature' | 'not_allowed' | 'table_full' | 'new_member_rate'

export type Decoded<T> = { ok: true, value: T } | { ok: false, reason: InvalidReason, detail: string }

/** Decodes a HeartBeat within limits; never throws. */
export function decodeHeartbeat (data: Uint8Array): Decoded<HeartBeat> {
  if (data.byteLength > MAX_BYTES.heartbeat) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes` }
  let msg: HeartBeat
  try {
    msg = HeartBeat.decode(data, { limits: { capabilities: 64, addrs: 16 } })
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: err.message }
  }
  const bad = checkStrings([msg.name, msg.role, msg.version, ...msg.capabilities]) ?? checkRole(msg.role)
  if (bad != null) return { ok: false, reason: 'bad_field', detail: bad }
  if (msg.intervalMs === 0 || msg.misses === 0) return { ok: false, reason: 'bad_field', detail: 'interval_ms and misses must be positive' }
  for (const a of msg.addrs) {
    try { multiaddr(a) } catch { return { ok: false, reason: 'bad_field', detail: 'an address is not a multiaddr' } }
  }
  return { ok: true, value: msg }
}

export function decodeCapabilities (data: Uint8Array): Decoded<CapabilityAdvertisement> {
  if (data.byteLength > MAX_BYTES.capabilities) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes` }
  let msg: CapabilityAdvertisement
  try {
    msg = CapabilityAdvertisement.decode(data, { limits: { capabilities: 64, taskTypes: 64 } })
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: err.message }
  }
  const bad = checkStrings([msg.name, msg.role, ...msg.capabilities, ...msg.taskTypes]) ?? checkRole(msg.role)
  if (bad != null) return { ok: false, reason: 'bad_field', detail: bad }
  return { ok: true, value: msg }
}

/** Decodes a failover beat for `service` within limits; never throws. */
export function decodeFailoverBeat (data: Uint8Array, service: string): Decoded<FailoverBeat> {
  if (data.byteLength > MAX_BYTES.failoverBeat) return { ok: false, reason: 'too_large', detail: `${data.byteLength} bytes` }
  let beat: FailoverBeat
  try {
    beat = FailoverBeat.decode(data, { limits: { acks: 64 } })
  } catch (err: any) {
    return { ok: false, reason: 'decode', detail: err.message }
  }
  if (beat.service !== service) return { ok: false, reason: 'bad_field', detail: 'service does not match the topic' }
  return { ok: true, value: beat }
}

/** True when the claimed sender bytes name the same peer as the authenticated author. */
export function sameSender (claimed: Uint8Array, author: PeerId): boolean {
  try {
    return peerIdFromMultihash(Digest.decode(claimed)).equals(author)
  } catch {
    return false
  }
}

function checkStrings (values: string[]): string | undefined {
  for (const v of values) {
    if (v.length > MAX_STRING) return `string longer than ${MAX_STRING}`
    // control characters would garble operator output
    if (/[\u0000-\u001f\u007f]/.test(v)) return 'control character in string'
  }
  return undefined
}

function checkRole (role: string): string | undefined {
  return role === 'bootstrap' || role === 'relay' || role === 'worker' ? undefined : `unknown role ${JSON.stringify(role.slice(0, 32))}`
}

export { CapabilityAdvertisement, HeartBeat }
