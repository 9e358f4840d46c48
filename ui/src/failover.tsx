// Failover: each service's active member and term, its members (priority, health, state), a timeline of who
// held it when and why it moved, and a handoff button (on the member that holds it).
import { useState } from 'preact/hooks'
import { refresh, write } from './api'
import { ago, clock, short } from './format'
import { useEvery, useStore } from './hooks'
import type { FailoverStatus } from './types'

export function FailoverView (): preact.JSX.Element {
  const { failover, status } = useStore()
  useEvery(() => { void refresh('failover') }, 3000)
  if (failover.length === 0) {
    return (
      <section>
        <h2>Failover</h2>
        <p class="muted">{status?.role === 'worker' ? 'No failover service is configured on this node (failover.services).' : `A ${status?.role ?? ''} node runs no failover service: open the console of a worker.`}</p>
      </section>
    )
  }
  return (
    <section>
      <h2>Failover</h2>
      {failover.map(f => <Service key={f.service} f={f} />)}
    </section>
  )
}

function Service ({ f }: { f: FailoverStatus }): preact.JSX.Element {
  const { peers, status } = useStore()
  const [note, setNote] = useState<{ text: string, error?: boolean } | undefined>()
  const [busy, setBusy] = useState(false)
  const names = new Map(peers.map(p => [p.peerId, p.name ?? short(p.peerId)]))
  if (status != null) names.set(status.peerId, `${status.name} (this node)`)
  const name = (id?: string): string => id == null ? 'none' : names.get(id) ?? short(id)
  const handoff = async (): Promise<void> => {
    setBusy(true)
    setNote(undefined)
    try {
      const answer = await write<{ result: string }>(`/api/failover/${encodeURIComponent(f.service)}/handoff`)
      setNote({ text: answer.result })
    } catch (err: any) {
      setNote({ text: err.message, error: true })
    } finally {
      setBusy(false)
      void refresh('failover')
    }
  }
  const timeline = [...(f.timeline ?? [])].reverse()
  return (
    <div class="service" data-service={f.service} data-active={f.active ?? ''}>
      <h3>{f.service} <small>term {f.term}</small></h3>
      <dl class="facts">
        <dt>Active</dt><dd data-testid="active">{name(f.active)}</dd>
        <dt>Here</dt><dd>{f.phase} · program {f.program}{f.dryRun ? ' (dry run)' : ''} · priority {f.priority}</dd>
        <dt>Health here</dt><dd>{f.health.healthy ? 'healthy' : 'unhealthy'}{f.health.check != null ? ` (last check: ${f.health.check})` : ''}{f.health.holdMs > 0 ? ` · held down ${Math.ceil(f.health.holdMs / 1000)} s` : ''}</dd>
        <dt>Restarts</dt><dd>{f.restarts}</dd>
      </dl>
      <div class="actions">
        <button type="button" data-testid="handoff" disabled={busy || !f.running} title={f.running ? 'release the service here; the next member takes over' : 'only the member that holds the service can hand it off'} onClick={() => { void handoff() }}>
          {busy ? 'Handing off…' : 'Hand off'}
        </button>
        {!f.running ? <span class="muted">Held elsewhere: open the console of {name(f.active)} to hand it off.</span> : null}
        {note != null ? <span class={note.error === true ? 'error' : 'ok'} role="status">{note.text}</span> : null}
      </div>
      <div class="split">
        <table>
          <thead><tr><th>Member</th><th class="num">Priority</th><th>State</th><th>Health</th><th class="num">Term</th><th>Last beat</th></tr></thead>
          <tbody>
            <tr class="self"><td>{name(status?.peerId)}</td><td class="num">{f.priority}</td><td>{f.state}</td><td>{f.health.healthy ? 'healthy' : 'unhealthy'}</td><td class="num">{f.term}</td><td>—</td></tr>
            {f.members.map(m => (
              <tr key={m.peerId}><td title={m.peerId}>{name(m.peerId)}</td><td class="num">{m.priority}</td><td>{m.state}</td><td>{m.healthy ? 'healthy' : 'unhealthy'}</td><td class="num">{m.term}</td><td>{ago(m.lastBeatAgeMs)}</td></tr>
            ))}
          </tbody>
        </table>
        <div>
          <h4>Timeline <small>as this member saw it</small></h4>
          <ol class="timeline" data-testid="timeline">
            {timeline.map((h, i) => (
              <li key={`${h.at}-${i}`} data-active={h.active ?? ''}>
                <time>{clock(h.at)}</time> <strong>{name(h.active)}</strong> {h.active != null ? `term ${h.term}` : ''} <span class="muted">— {h.reason}</span>
              </li>
            ))}
          </ol>
        </div>
      </div>
    </div>
  )
}
