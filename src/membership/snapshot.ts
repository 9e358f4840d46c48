/**
 * Member snapshots (`/<pv>/members/1.0.0`): a node that has just connected asks its first peers for the latest
 * heartbeat and capability advert they accepted from each live member, exactly as signed by their authors, so it
 * lists the network within a round trip instead of waiting up to a heartbeat interval for every member's next
 * heartbeat to reach it through the gossip mesh. Every signature is checked by the asker (the answering node can
 * withhold a member, never forge or alter one); after that the messages follow the same rules as from GossipSub.
 */
import { pbStream } from '@libp2p/utils'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MemberSnapshot } from '../messages/membership.js'
import { AnswerLimit, isMalformed, openStream } from '../libp2p/streams.js'
import type { Logger } from '../util/logger.js'
import type { Membership, SignedMessage } from './service.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Node } from '../libp2p/libp2p.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { STREAM_LIMITS, streamProtocol } from '../messages/protocols.js'
import type { Startable } from '../util/startable.js'


/** 4,096 messages (two per member) of at most ~10 KiB each would be far more; real answers are ~0.5 KiB a member */
const MAX_MESSAGE = STREAM_LIMITS.members
/** peers asked after start (and again whenever this node knows no live member) */
const ASK = 2

export interface SnapshotComponents {
  libp2p: Pick<Node, 'peerId' | 'handle' | 'unhandle' | 'getConnections' | 'dialProtocol' | 'addEventListener' | 'removeEventListener'>
  membership: Pick<Membership, 'members' | 'signedMessages' | 'applySnapshot'>
  metrics: Pick<Metrics, 'invalidMessages' | 'memberSnapshots'>
  logger: Logger
}

export interface SnapshotInit {
  protocolVersion: string
  /** how long one peer may take to answer (default 3 s) */
  timeoutMs?: number
}

export class MemberSnapshots implements Startable {
  private readonly protocol: string
  private readonly timeoutMs: number
  private shutdown = new AbortController()
  private readonly asked = new Set<string>()
  /** one answer per peer per second */
  private readonly limit = new AnswerLimit()

  constructor (private readonly components: SnapshotComponents, init: SnapshotInit) {
    this.protocol = streamProtocol('members', init.protocolVersion)
    this.timeoutMs = init.timeoutMs ?? 3000
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    this.asked.clear()
    await this.components.libp2p.handle(this.protocol, (stream, connection) => { void this.answer(stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 2, runOnLimitedConnection: true })
    this.components.libp2p.addEventListener('peer:identify', this.onIdentify)
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    this.components.libp2p.removeEventListener('peer:identify', this.onIdentify)
    await this.components.libp2p.unhandle(this.protocol).catch(() => {})
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = evt.detail
    if (!protocols.includes(this.protocol)) return
    // alone again (every member gone, e.g. after a partition): start over
    if (!this.components.membership.members().some(m => m.state.phase === 'alive')) this.asked.clear()
    if (this.asked.size >= ASK || this.asked.has(peerId.toString())) return
    this.asked.add(peerId.toString())
    void this.ask(peerId)
  }

  /** asks `peer` for its members and applies what it sends; returns what was applied */
  async ask (peer: PeerId): Promise<{ applied: number, rejected: number } | undefined> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
    let answer: MemberSnapshot
    try {
      const stream = await openStream(this.components.libp2p, peer, this.protocol, { signal })
      answer = await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(MemberSnapshot).read({ signal })
      await stream.close().catch(() => {})
    } catch (err: any) {
      if (isMalformed(err)) {
        this.components.metrics.invalidMessages.inc({ reason: 'decode' })
        this.components.metrics.memberSnapshots.inc({ outcome: 'invalid' })
      } else {
        this.components.metrics.memberSnapshots.inc({ outcome: 'failed' })
      }
      this.components.logger.debug({ peer: peer.toString(), err: err.message }, 'member snapshot request failed')
      return undefined
    }
    const messages: SignedMessage[] = []
    for (const m of answer.messages) {
      try {
        messages.push({
          kind: m.kind === MemberSnapshot.Kind.CAPABILITIES ? 'capabilities' : 'heartbeat',
          from: peerIdFromMultihash(Digest.decode(m.from)),
          data: m.data,
          seqno: m.seqno,
          signature: m.signature,
          ageMs: m.ageMs
        })
      } catch {
        this.components.metrics.invalidMessages.inc({ reason: 'bad_field' })
      }
    }
    const result = await this.components.membership.applySnapshot(messages)
    this.components.metrics.memberSnapshots.inc({ outcome: 'received' })
    this.components.logger.debug({ peer: peer.toString(), ...result, messages: messages.length }, 'member snapshot applied')
    return result
  }

  /** server side: the live members' latest signed messages, at most once a second per asking peer */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    if (!this.limit.allow(connection.remotePeer.toString())) { stream.abort(new Error('asked too often')); return }
    const messages = this.components.membership.signedMessages().slice(0, 4096).map(m => ({
      kind: m.kind === 'capabilities' ? MemberSnapshot.Kind.CAPABILITIES : MemberSnapshot.Kind.HEARTBEAT,
      from: m.from.toMultihash().bytes,
      data: m.data as Uint8Array<ArrayBuffer>,
      seqno: m.seqno as Uint8Array<ArrayBuffer>,
      signature: m.signature as Uint8Array<ArrayBuffer>,
      ageMs: Math.max(0, Math.min(m.ageMs, 0xffffffff))
    }))
    try {
      await pbStream(stream, { maxDataLength: MAX_MESSAGE }).pb(MemberSnapshot).write({ messages }, { signal: AbortSignal.timeout(5000) })
      await stream.close()
      this.components.metrics.memberSnapshots.inc({ outcome: 'answered' })
    } catch {
      stream.abort(new Error('could not answer'))
    }
  }
}

export function createMemberSnapshots (components: SnapshotComponents, init: SnapshotInit): MemberSnapshots {
  return new MemberSnapshots({ ...components, logger: components.logger.child({ c: 'membership' }) }, init)
}
