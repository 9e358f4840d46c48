/**
 * GossipSub topic names. Every name carries the network's protocol_version so two networks with
 * different values never mix: `<pv>/heartbeat/1`, `<pv>/capabilities/1`, `<pv>/failover/<service>/1`.
 * Tasks travel on streams, not gossip (docs/protocol.md).
 */
export type Topic =
  | { kind: 'heartbeat', pv: string }
  | { kind: 'capabilities', pv: string }
  | { kind: 'failover', pv: string, service: string }

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function stringifyTopic (topic: Topic): string {
  if (!SEGMENT.test(topic.pv)) throw new TypeError(`invalid protocol version ${JSON.stringify(topic.pv)}`)
  if (topic.kind === 'failover') {
    if (!SEGMENT.test(topic.service)) throw new TypeError(`invalid service name ${JSON.stringify(topic.service)}`)
    return `${topic.pv}/failover/${topic.service}/1`
  }
  return `${topic.pv}/${topic.kind}/1`
}

/** Parses a topic name; undefined for anything that is not one of ours (wrong shape or version). */
export function parseTopic (name: string): Topic | undefined {
  const parts = name.split('/')
  if (parts.at(-1) !== '1' || !SEGMENT.test(parts[0] ?? '')) return undefined
  const pv = parts[0]
  if (parts.length === 3 && (parts[1] === 'heartbeat' || parts[1] === 'capabilities')) {
    return { kind: parts[1], pv }
  }
  if (parts.length === 4 && parts[1] === 'failover' && SEGMENT.test(parts[2])) {
    return { kind: 'failover', pv, service: parts[2] }
  }
  return undefined
}

export function membershipTopics (pv: string): { heartbeat: string, capabilities: string } {
  return {
    heartbeat: stringifyTopic({ kind: 'heartbeat', pv }),
    capabilities: stringifyTopic({ kind: 'capabilities', pv })
  }
}
