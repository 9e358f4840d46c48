/**
 * A member's messages as its author signed them for GossipSub, kept so this node can hand them on in a member
 * snapshot, and checked again when a snapshot brings them (the node that answered is not trusted to have).
 */
import { RPC } from '@libp2p/gossipsub/message'
import type { InvalidReason } from '../messages/codec.js'
import type { PeerId } from '@libp2p/interface'

/** a member's message as its author signed it for GossipSub (what a member snapshot carries) */
export interface SignedMessage {
  kind: 'heartbeat' | 'capabilities'
  from: PeerId
  data: Uint8Array
  /** GossipSub's sequence number of the message (8 bytes, big-endian) */
  seqno: Uint8Array
  signature: Uint8Array
  /** how long ago it was received (by the node that answered the snapshot) */
  ageMs: number
}

/** a signed message as kept: its bytes, GossipSub's sequence number and signature, and when it was received */
export interface Kept { data: Uint8Array, seqno: Uint8Array, signature: Uint8Array, at: number }

/** checks the author's GossipSub signature over the message, as GossipSub does on receipt (StrictSign): why not, or undefined */
export async function signatureProblem (m: SignedMessage, topic: string): Promise<InvalidReason | undefined> {
  const key = m.from.publicKey
  if (key == null || m.seqno.byteLength !== 8) return 'unsigned'
  const signed = Buffer.concat([SIGN_PREFIX, RPC.Message.encode({ from: m.from.toMultihash().bytes, data: m.data, seqno: m.seqno, topic })])
  try {
    if (await key.verify(signed, m.signature)) return undefined
  } catch {}
  return 'bad_signature'
}

/** GossipSub signs the bytes "libp2p-pubsub:" + the protobuf message without signature and key */
const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')

export function seqnoBytes (seq: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, seq, false)
  return out
}

export function bigEndian (bytes: Uint8Array): bigint {
  return bytes.byteLength === 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false) : -1n
}

