/**
 * The failover wire (docs/protocol.md): one gossip topic per service carrying FailoverBeat, and the state
 * stream an active pushes its state file on. This module validates, decodes, encodes, publishes and serves
 * them for every service of the node; the supervisors see only decoded beats and snapshots.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { encode } from 'it-length-prefixed'
import * as Digest from 'multiformats/hashes/digest'
import { decodeFailoverBeat, sameSender } from '../messages/codec.js'
import { FailoverBeat, StateSnapshot } from '../messages/failover.js'
import { stringifyTopic } from '../messages/topics.js'
import { openStream } from '../libp2p/streams.js'
import type { MemberView } from './election.js'
import type { OutgoingBeat } from './service-state.js'
import type { Snapshot } from './state-sync.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { PubSub } from '../libp2p/pubsub.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { STREAM_LIMITS, streamProtocol } from '../messages/protocols.js'
import type { Startable } from '../util/startable.js'

/** a beat as the machine sees it (the receiver adds the arrival time) */
export type IncomingBeat = Omit<MemberView, 'lastBeatAt'>


const MAX_SEQ = BigInt(Number.MAX_SAFE_INTEGER)
/** beat sequence numbers travel as uint64; the election compares them as numbers */
const seqNumber = (seq: bigint): number => Number(seq % MAX_SEQ)
const STATE_NAME: Record<FailoverBeat.State, MemberView['state']> = {
  [FailoverBeat.State.STANDBY]: 'standby', [FailoverBeat.State.CANDIDATE]: 'candidate', [FailoverBeat.State.ACTIVE]: 'active', [FailoverBeat.State.RELEASED]: 'released'
}
const STATE_WIRE: Record<MemberView['state'], FailoverBeat.State> = {
  standby: FailoverBeat.State.STANDBY, candidate: FailoverBeat.State.CANDIDATE, active: FailoverBeat.State.ACTIVE, released: FailoverBeat.State.RELEASED
}

export interface ServiceWire {
  /** peers allowed in the group (empty: any) */
  members: string[]
  onBeat: (beat: IncomingBeat) => void
  /** services with a state file: the largest snapshot accepted, and where one goes */
  state?: { maxBytes: number, onSnapshot: (from: string, snap: Snapshot) => void }
}

export interface ServiceChannel {
  /** subscribes to the service's topic (idempotent) */
  open: () => void
  /** beats no longer reach the service (the topic stays subscribed until libp2p stops) */
  close: () => void
  publish: (beat: OutgoingBeat) => Promise<void>
  /** sends one snapshot to a member; resolves once it has stored (or refused) it */
  push: (to: string, snap: Snapshot, timeoutMs: number) => Promise<void>
}

export interface FailoverBeatsComponents {
  peerId: PeerId
  pubsub: PubSub
  streams: Pick<Node, 'getConnections' | 'dialProtocol' | 'handle' | 'unhandle'>
  metrics: Pick<Metrics, 'invalidMessages' | 'accessDenied' | 'failoverStateSnapshots'>
  logger: Logger
}

/** the failover wire of a node's services; starting serves the state stream when a service has a state file */
export interface FailoverBeats extends Startable {
  /** registers a service (before `start`) */
  add: (service: string, wire: ServiceWire) => ServiceChannel
}

export function createFailoverBeats (components: FailoverBeatsComponents, init: { protocolVersion: string }): FailoverBeats {
  const { peerId, pubsub, streams, metrics } = components
  const logger = components.logger.child({ c: 'failover' })
  const services = new Map<string, ServiceWire & { topic: string, allowed: Set<string> }>()
  const byTopic = new Map<string, string>()
  /** services whose topic is subscribed */
  const opened = new Set<string>()
  const decoded = new WeakMap<Message, IncomingBeat>()
  const selfBytes = peerId.toMultihash().bytes
  const protocol = streamProtocol('failover-state', init.protocolVersion)
  const reject = (reason: string): TopicValidatorResult => { metrics.invalidMessages.inc({ reason }); return TopicValidatorResult.Reject }
  let serving = false

  const validate = (service: string, msg: Message): TopicValidatorResult => {
    const svc = services.get(service)!
    if (msg.type !== 'signed') return reject('unsigned')
    const d = decodeFailoverBeat(msg.data, service)
    if (!d.ok) return reject(d.reason)
    const beat = d.value
    if (!sameSender(beat.member, msg.from)) return reject('wrong_sender')
    if (svc.allowed.size > 0 && !svc.allowed.has(msg.from.toString())) {
      metrics.accessDenied.inc({ what: 'failover_member' })
      return reject('not_member')
    }
    decoded.set(msg, incoming(msg.from.toString(), beat, selfBytes))
    return TopicValidatorResult.Accept
  }

  const onMessage = (evt: CustomEvent<Message>): void => {
    const service = byTopic.get(evt.detail.topic)
    const beat = decoded.get(evt.detail)
    if (service != null && beat != null) services.get(service)?.onBeat(beat)
  }

  const onSnapshot = (from: string, service: string, snap: Snapshot): void => {
    const svc = services.get(service)
    if (svc?.state == null) { metrics.invalidMessages.inc({ reason: 'state_unknown_service' }); return }
    if (svc.allowed.size > 0 && !svc.allowed.has(from)) {
      metrics.failoverStateSnapshots.inc({ service, outcome: 'not_member' })
      logger.warn({ service, from }, 'state snapshot refused: not a member')
      return
    }
    svc.state.onSnapshot(from, snap)
  }

  return {
    add (service, wire) {
      const topic = stringifyTopic({ kind: 'failover', pv: init.protocolVersion, service })
      services.set(service, { ...wire, topic, allowed: new Set(wire.members) })
      byTopic.set(topic, service)
      return {
        open: () => {
          if (opened.has(service)) return
          if (opened.size === 0) pubsub.addEventListener('message', onMessage)
          opened.add(service)
          pubsub.topicValidators.set(topic, (_from, msg) => validate(service, msg))
          pubsub.subscribe(topic)
        },
        close: () => {
          if (!opened.delete(service)) return
          // stays subscribed: the node stops right after, and an unsubscribe (a PRUNE with backoff to every
          // mesh peer) makes them refuse the same peer id's GRAFT when it comes back, score it down for trying,
          // and stop sending it beats for a while — a restarted member then did not hear the group and a
          // takeover after the next crash took a lease longer (bench/failover.mjs: 5 of 60 trials at 2 s)
          pubsub.topicValidators.delete(topic)
          if (opened.size === 0) pubsub.removeEventListener('message', onMessage)
        },
        publish: async beat => {
          try {
            await pubsub.publish(topic, FailoverBeat.encode(outgoing(service, beat, selfBytes)))
          } catch (err: any) {
            logger.debug({ service, err: err.message }, 'failover beat not published')
          }
        },
        push: async (to, snap, timeoutMs) => { await pushSnapshot(streams, peerIdFromString(to), protocol, service, snap, timeoutMs) }
      }
    },
    async start () {
      const withState = [...services.values()].filter(s => s.state != null)
      if (withState.length === 0 || serving) return
      serving = true
      // a sender that is a member of no service with state is cut off before a byte of its snapshot is read
      const mayPush = (from: string): boolean => withState.some(s => s.allowed.size === 0 || s.allowed.has(from))
      await streams.handle(protocol, serveSnapshots(Math.max(...withState.map(s => s.state!.maxBytes)), mayPush, onSnapshot, reason => { metrics.invalidMessages.inc({ reason }) }),
        { maxInboundStreams: 4, runOnLimitedConnection: true })
    },
    async stop () {
      if (!serving) return
      serving = false
      await streams.unhandle(protocol)
    }
  }
}

function incoming (id: string, beat: FailoverBeat, selfBytes: Uint8Array): IncomingBeat {
  const mine = beat.acks.find(a => sameBytes(a.member, selfBytes))
  let vote: MemberView['vote']
  if (beat.voteCandidate.byteLength > 0) {
    try { vote = { candidate: peerIdFromMultihash(Digest.decode(beat.voteCandidate)).toString(), term: Number(beat.voteTerm) } } catch {}
  }
  return {
    id, priority: beat.priority, healthy: beat.healthy, state: STATE_NAME[beat.state] ?? 'standby', term: Number(beat.term),
    seq: seqNumber(beat.seq), eligible: beat.eligible, vote, ackSeq: mine != null ? seqNumber(mine.seq) : undefined
  }
}

function outgoing (service: string, b: OutgoingBeat, selfBytes: Uint8Array): FailoverBeat {
  return {
    service,
    member: selfBytes as Uint8Array<ArrayBuffer>,
    priority: b.priority,
    seq: BigInt(b.seq),
    term: BigInt(b.term),
    state: STATE_WIRE[b.state],
    healthy: b.healthy,
    eligible: b.eligible,
    voteCandidate: (b.vote != null ? idBytes(b.vote.candidate) : new Uint8Array()) as Uint8Array<ArrayBuffer>,
    voteTerm: BigInt(b.vote?.term ?? 0),
    acks: b.acks.map(([id, seq]) => ({ member: idBytes(id) as Uint8Array<ArrayBuffer>, seq: BigInt(seq) })),
    running: b.running
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i])

const idBytesCache = new Map<string, Uint8Array>()
/** a member's peer id string as multihash bytes (a base58 decode, done once per member) */
function idBytes (id: string): Uint8Array {
  let b = idBytesCache.get(id)
  if (b == null) {
    b = peerIdFromString(id).toMultihash().bytes
    if (idBytesCache.size > 1024) idBytesCache.clear()
    idBytesCache.set(id, b)
  }
  return b
}

/** sends one snapshot to `peer`; resolves once the receiver has stored (or refused) it and closed the stream */
async function pushSnapshot (streams: Pick<Node, 'getConnections' | 'dialProtocol'>, peer: PeerId, protocol: string, service: string, snap: Snapshot, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await openStream(streams, peer, protocol, { signal })
  try {
    const frame = encode.single(StateSnapshot.encode({ service, term: BigInt(snap.term), version: BigInt(snap.version), sha256: snap.sha256 as Uint8Array<ArrayBuffer>, data: snap.data as Uint8Array<ArrayBuffer> }))
    if (!stream.send(frame)) await stream.onDrain({ signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** bytes of a state stream as they arrive -> the snapshots in them; throws on a malformed or oversized frame */
export function snapshotDecoder (maxBytes: number): (chunk: Uint8Array | Uint8ArrayList) => StateSnapshot[] {
  const decoder = new LengthPrefixedDecoder({ maxDataLength: maxBytes + STREAM_LIMITS.stateFrameOverhead, maxBufferSize: maxBytes + 2 * STREAM_LIMITS.stateFrameOverhead })
  return chunk => [...decoder.decode(chunk)].map(f => StateSnapshot.decode(f))
}

/**
 * Serves the state protocol: refuses a sender `mayPush` does not know, reads one snapshot (at most `maxBytes` of
 * data), hands it to `deliver`, then closes. Anything malformed is counted through `onInvalid` and the stream dropped; the node carries on.
 */
export function serveSnapshots (maxBytes: number, mayPush: (from: string) => boolean, deliver: (from: string, service: string, snap: Snapshot) => void, onInvalid: (reason: string) => void) {
  return (stream: Stream, connection: Connection): void => {
    if (!mayPush(connection.remotePeer.toString())) {
      onInvalid('state_not_member')
      stream.abort(new Error('not a member of any service with a state file'))
      return
    }
    const decode = snapshotDecoder(maxBytes)
    let done = false
    const timer = setTimeout(() => { if (!done) { done = true; onInvalid('state_timeout'); stream.abort(new Error('no snapshot in time')) } }, 30_000)
    stream.addEventListener('message', evt => {
      if (done) return
      try {
        for (const msg of decode(evt.data)) {
          done = true
          clearTimeout(timer)
          deliver(connection.remotePeer.toString(), msg.service, { term: Number(msg.term), version: Number(msg.version), sha256: msg.sha256, data: msg.data })
          void stream.close().catch(() => {})
          return
        }
      } catch (err: any) {
        done = true
        clearTimeout(timer)
        onInvalid('state_frame')
        stream.abort(err)
      }
    })
    stream.addEventListener('close', () => { clearTimeout(timer) })
  }
}
