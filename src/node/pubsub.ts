// The one module that names the GossipSub implementation. @chainsafe/libp2p-gossipsub has no release for
// libp2p 3; @libp2p/gossipsub is the libp2p team's continuation of the same code. Swapping back is this file.
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { StrictSign } from '@libp2p/gossipsub'

export type PubSub = GossipSub

export function pubsub (protocolVersion: string): (components: any) => GossipSub {
  const prefix = `${protocolVersion}/`
  return gossipsub({
    globalSignaturePolicy: StrictSign,
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    // small fleets: deliver to every subscriber directly rather than only to the mesh
    floodPublish: true,
    heartbeatInterval: 700,
    runOnLimitedConnection: true,
    scoreParams: {
      // many nodes per IP (one host, a NAT, a Service): co-location is normal here, not an attack
      IPColocationFactorWeight: 0
    },
    debugName: prefix.slice(0, -1)
  })
}
