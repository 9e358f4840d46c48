/**
 * Every stream protocol of a network, beside the topic names (topics.ts): `/<pv>/<kind>/1.0.0`, the network's
 * protocol_version first so two networks never mix, and the most one message on each may be (docs/protocol.md).
 * One table, so a new stream names its limit where the others do.
 */
export type StreamKind =
  /** tasks both ways, many in flight per stream (src/tasks/network.ts) */
  | 'task'
  /** a bare echo of bytes, the baseline bench/tasks.mjs measures tasks against (tasks.raw_echo) */
  | 'raw-echo'
  /** one failover state file per stream, active to standby (src/failover/beats.ts) */
  | 'failover-state'
  /** who is connected to whom (src/discovery/topology.ts) */
  | 'links'
  /** "dial me back" to a bootstrap or relay (src/discovery/reachability.ts) */
  | 'dialback'
  /** a member snapshot for a node that just joined (src/membership/snapshot.ts) */
  | 'members'
  /** the private Kademlia DHT (src/libp2p/libp2p.ts; its messages are kad-dht's own) */
  | 'kad'

export function streamProtocol (kind: StreamKind, pv: string): string {
  return `/${pv}/${kind}/1.0.0`
}

/** the most one message on a stream may be, in bytes; past it the stream is dropped and the refusal counted */
export const STREAM_LIMITS = {
  /** a task frame: the payload (tasks.max_payload) plus this for the request's other fields */
  taskFrameOverhead: 64 * 1024,
  /** a state snapshot: the file (state.max_size) plus this for its term, version and hash */
  stateFrameOverhead: 1024,
  links: 64 * 1024,
  dialback: 1024,
  members: 2 * 1024 * 1024
} as const
