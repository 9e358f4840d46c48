// Network: every member (role, state, connection, capabilities, RTT, load, last heartbeat, version) and a graph
// of who is connected to whom, direct connections drawn solid and relayed ones dashed.
import { refresh } from './api'
import { ago, ms, short } from './format'
import { useEvery, useStore } from './hooks'
import type { Peer, Topology } from './types'

export function NetworkView (): preact.JSX.Element {
  const { peers, topology, status } = useStore()
  // RTT, load and heartbeat ages change without an event: a refresh every few seconds while this view is open
  useEvery(() => { void refresh('peers') }, 3000)
  useEvery(() => { void refresh('topology') }, 10_000)
  const alive = peers.filter(p => p.state === 'alive').length
  return (
    <section>
      <h2>Network <small>{alive} alive of {peers.length} known{status != null ? ` · seen from ${status.name}` : ''}</small></h2>
      <div class="network">
        <Graph topology={topology} peers={peers} />
        <Members peers={peers} />
      </div>
    </section>
  )
}

function Members ({ peers }: { peers: Peer[] }): preact.JSX.Element {
  return (
    <table class="members" data-testid="members">
      <thead><tr><th>Name</th><th>Role</th><th>State</th><th>Connection</th><th>Capabilities</th><th class="num">RTT</th><th class="num">Load</th><th>Last heartbeat</th><th>Version</th></tr></thead>
      <tbody>
        {peers.map(p => (
          <tr key={p.peerId} data-peer={p.peerId} data-name={p.name ?? ''} data-state={p.state} class={`state-${p.state}`}>
            <td title={p.peerId}>{p.name ?? short(p.peerId)}</td>
            <td>{p.role ?? '—'}</td>
            <td><span class={`badge ${p.state}`}>{p.state}</span></td>
            <td title={p.via != null ? `via ${p.via.join(', ')}` : p.addresses[0] ?? ''}>{p.connection}</td>
            <td>{p.capabilities.join(', ') || '—'}</td>
            <td class="num">{ms(p.rttMs)}</td>
            <td class="num">{p.load != null ? `${p.load} / ${p.maxConcurrency ?? '?'}` : '—'}</td>
            <td>{ago(p.lastHeartbeatAgeMs)}</td>
            <td>{p.version ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

const SIZE = 420

/** infrastructure (bootstrap, relay) on an inner ring, workers and others on an outer one */
function layout (nodes: Topology['nodes']): Map<string, { x: number, y: number }> {
  const inner = nodes.filter(n => n.role === 'bootstrap' || n.role === 'relay')
  const outer = nodes.filter(n => !inner.includes(n))
  const at = new Map<string, { x: number, y: number }>()
  const ring = (list: typeof nodes, r: number, offset: number): void => {
    list.forEach((n, i) => {
      const a = offset + (2 * Math.PI * i) / Math.max(1, list.length)
      at.set(n.peerId, { x: SIZE / 2 + r * Math.cos(a), y: SIZE / 2 + r * Math.sin(a) })
    })
  }
  ring(inner, inner.length <= 1 ? 0 : 70, -Math.PI / 2)
  ring(outer, 165, -Math.PI / 2 + Math.PI / Math.max(2, outer.length))
  return at
}

function Graph ({ topology, peers }: { topology?: Topology, peers: Peer[] }): preact.JSX.Element {
  if (topology == null) return <div class="graph empty">Asking the members for their connections…</div>
  const state = new Map(peers.map(p => [p.peerId, p.state]))
  const nodes = topology.nodes.map(n => ({ ...n, state: n.self === true ? 'alive' : state.get(n.peerId) ?? n.state ?? 'unknown' }))
  const at = layout(nodes)
  return (
    <figure class="graph">
      <svg viewBox={`0 0 ${SIZE} ${SIZE}`} role="img" aria-label="network graph" data-testid="graph">
        {topology.links.map(l => {
          const a = at.get(l.from); const b = at.get(l.to)
          if (a == null || b == null) return null
          return <line key={`${l.from}-${l.to}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} class={l.relayed ? 'link relayed' : 'link direct'} />
        })}
        {nodes.map(n => {
          const p = at.get(n.peerId)!
          return (
            <g key={n.peerId} class={`node ${n.role ?? 'unknown'} ${n.state}${n.self === true ? ' self' : ''}`} transform={`translate(${p.x},${p.y})`}>
              <title>{`${n.name ?? n.peerId} (${n.role ?? 'unknown role'}, ${n.state})\n${n.peerId}`}</title>
              <circle r={n.self === true ? 11 : 9} />
              <text y={-14} text-anchor="middle">{n.name ?? (n.self === true ? 'this node' : short(n.peerId))}</text>
            </g>
          )
        })}
      </svg>
      <figcaption>
        <span class="key direct">direct</span> <span class="key relayed">relayed</span>
        {topology.unanswered.length > 0 ? <span class="muted"> · {topology.unanswered.length} member(s) not asked or not answering: their own links are missing</span> : null}
      </figcaption>
    </figure>
  )
}
