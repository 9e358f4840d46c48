// This node: status, health and readiness with reasons, its recent log lines (with a level filter), and the
// history it keeps itself (connections, messages/s, RSS, event-loop lag over the last 30 minutes).
import { useMemo, useState } from 'preact/hooks'
import { read, refresh } from './api'
import { Chart } from './chart'
import { clock, duration, levelName } from './format'
import { useEvery, useStore } from './hooks'
import type { LogLine } from './types'

export function NodeView (): preact.JSX.Element {
  const { status, history } = useStore()
  useEvery(() => { void refresh('status') }, 3000)
  // new arrays only when a sample arrives: the charts redraw then, not on every status refresh
  const charts = useMemo(() => ({
    times: history.map(s => s.at / 1000),
    connections: [{ label: 'open', values: history.map(s => s.connections), color: '#3b82f6' }],
    messages: [{ label: 'per second', values: history.map(s => s.messagesPerSecond), color: '#8b5cf6' }],
    rss: [{ label: 'RSS', values: history.map(s => Math.round(s.rssBytes / 1024 ** 2 * 10) / 10), color: '#10b981', unit: 'MiB' }],
    lag: [
      { label: 'p50', values: history.map(s => s.loopLagP50Ms), color: '#f59e0b', unit: 'ms' },
      { label: 'max', values: history.map(s => s.loopLagMaxMs), color: '#ef4444', unit: 'ms' }
    ]
  }), [history])
  return (
    <section>
      <h2>This node</h2>
      {status == null
        ? <p class="muted">Loading…</p>
        : (
          <div class="split">
            <dl class="facts" data-testid="status">
              <dt>Name</dt><dd>{status.name}</dd>
              <dt>Role</dt><dd>{status.role}</dd>
              <dt>Peer id</dt><dd><code>{status.peerId}</code></dd>
              <dt>Version</dt><dd>{status.version} (protocol {status.protocolVersion})</dd>
              <dt>Up</dt><dd>{duration(status.uptimeSeconds)}</dd>
              <dt>Listening</dt><dd>{status.listenAddresses.join(', ')}</dd>
              <dt>Connected peers</dt><dd>{status.connectedPeers}</dd>
              <dt>Members</dt><dd>{status.members.bootstrap} bootstrap · {status.members.relay} relay · {status.members.worker} worker · {status.members.gone} gone</dd>
              {status.reachability != null ? <><dt>Reachability</dt><dd>{status.reachability.state}</dd></> : null}
              {status.tasks != null ? <><dt>Tasks here</dt><dd>{status.tasks.load} in flight · {status.tasks.maxConcurrency} slots · queue {status.tasks.queueCapacity}</dd></> : null}
              {status.capabilities.length > 0 ? <><dt>Capabilities</dt><dd>{status.capabilities.join(', ')}</dd></> : null}
            </dl>
            <div class="health" data-testid="health">
              <p><span class={`badge ${status.health.healthy ? 'alive' : 'gone'}`}>{status.health.healthy ? 'healthy' : 'unhealthy'}</span>{' '}
                <span class={`badge ${status.health.ready ? 'alive' : 'gone'}`}>{status.health.ready ? 'ready' : 'not ready'}</span></p>
              {status.health.reasons.length > 0 ? <ul>{status.health.reasons.map(r => <li key={r}>{r}</li>)}</ul> : <p class="muted">No reason against readiness.</p>}
            </div>
          </div>
          )}
      <div class="charts">
        <Chart title="Connections" times={charts.times} series={charts.connections} />
        <Chart title="Gossip messages received" times={charts.times} series={charts.messages} />
        <Chart title="Resident memory" times={charts.times} series={charts.rss} />
        <Chart title="Event-loop lag" times={charts.times} series={charts.lag} />
      </div>
      {history.length === 0 ? <p class="muted">The node takes a sample every 10 s; the charts fill as they come.</p> : null}
      <Logs />
    </section>
  )
}

function Logs (): preact.JSX.Element {
  const [level, setLevel] = useState('info')
  const [lines, setLines] = useState<LogLine[]>([])
  useEvery(() => { read<LogLine[]>(`/api/logs?level=${level}`).then(setLines, () => {}) }, 3000, [level])
  return (
    <div class="logs">
      <h3>Recent log lines
        <label> at least <select data-testid="log-level" value={level} onChange={e => { setLevel((e.target as HTMLSelectElement).value) }}>
          {['debug', 'info', 'warn', 'error'].map(l => <option key={l} value={l}>{l}</option>)}
        </select></label>
      </h3>
      <table class="log" data-testid="logs">
        <tbody>
          {[...lines].reverse().slice(0, 200).map((l, i) => {
            const { time, level: lv, msg, pid: _p, hostname: _h, name: _n, ...rest } = l
            const extra = Object.keys(rest).length > 0 ? JSON.stringify(rest) : ''
            return (
              <tr key={i} class={`lv-${levelName(lv)}`}>
                <td>{time != null ? clock(time) : ''}</td><td>{levelName(lv)}</td><td>{String(msg ?? '')}</td><td class="muted">{extra.length > 300 ? `${extra.slice(0, 300)}…` : extra}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
