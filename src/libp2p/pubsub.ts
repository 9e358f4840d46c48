// The one module that names the GossipSub implementation. @chainsafe/libp2p-gossipsub has no release for
// libp2p 3; @libp2p/gossipsub is the libp2p team's continuation of the same code. Swapping back is this file.
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { StrictSign } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'

export type PubSub = GossipSub

/**
 * Per-topic scoring for our topics. Rates are low and uneven (a heartbeat every few seconds), so the
 * delivery-rate penalties (P3, P3b) that suit busy topics are off: they would punish honest peers in a quiet
 * fleet. What counts is invalid messages (P4, squared): our validators reject only what an honest peer never
 * forwards (undecodable, oversized, unsigned, forged author, not allowed), so one costs -10 (below the gossip
 * threshold), three put the sender under the graylist threshold, and the penalty halves every second.
 */
export function topicScore (): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.5
  })
}

/** a received message's author and sequence number, as raw bytes in a string: its id, before any check */
function fastMsgId (msg: { from?: Uint8Array, seqno?: Uint8Array }): string {
  return msg.from == null || msg.seqno == null ? '' : Buffer.from(msg.from).toString('latin1') + Buffer.from(msg.seqno).toString('latin1')
}

export function pubsub (protocolVersion: string, topics: string[] = []): (components: any) => GossipSub {
  const prefix = `${protocolVersion}/`
  return gossipsub({
    globalSignaturePolicy: StrictSign,
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    // small fleets: deliver to every subscriber directly rather than only to the mesh
    floodPublish: true,
    // Each message reaches a node once from its author (flood publish) and again from each mesh peer that
    // forwards it. Without a fast id, GossipSub checks the signature of every copy before it looks at its seen
    // cache (an ed25519 verify with a key object made each time: the largest share of an idle node's CPU, and
    // it grows with the fleet). The author and sequence number are what the message id is made of; an entry is
    // cached only after its first copy passed the signature check, so a forged copy cannot hide the real one.
    fastMsgIdFn: fastMsgId,
    heartbeatInterval: 700,
    runOnLimitedConnection: true,
    scoreParams: {
      // many nodes per IP (one host, a NAT, a Service): co-location is normal here, not an attack
      IPColocationFactorWeight: 0,
      topics: Object.fromEntries(topics.map(t => [t, topicScore()])),
      decayInterval: 1000
    },
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80, acceptPXThreshold: 10, opportunisticGraftThreshold: 2 },
    // our messages are at most a few KiB (codec.ts MAX_BYTES): an RPC frame over 1 MiB is not decoded at all
    maxInboundDataLength: 1024 * 1024,
    // only our own topics are tracked, so a peer cannot make this node keep state for topics nobody uses
    ...(topics.length > 0 ? { allowedTopics: new Set(topics) } : {}),
    debugName: prefix.slice(0, -1)
  })
}
