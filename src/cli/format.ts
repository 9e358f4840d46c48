import { formatDuration } from '../config/duration.js'
import type { CapabilitiesView, PeerView, StatusView } from '../control/views.js'
import type { TaskOutput, TaskRecord } from '../tasks/types.js'
import type { FailoverStatus } from '../failover/service-state.js'
import type { TopologyView } from '../discovery/topology.js'

/** Renders rows as an aligned text table. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

function shortId (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

export function formatPeers (peers: PeerView[], opts: { wide?: boolean } = {}): string {
  if (peers.length === 0) return 'no known peers'
  const names = new Map(peers.filter(p => p.name != null).map(p => [p.peerId, p.name!]))
  const rows = peers.map(p => [
    opts.wide === true ? p.peerId : shortId(p.peerId),
    p.name ?? '-',
    p.role ?? '?',
    p.draining === true ? 'draining' : p.state,
    p.connection === 'relayed' && p.via != null && p.via.length > 0 ? `relayed via ${p.via.map(r => names.get(r) ?? shortId(r)).join(',')}` : p.connection,
    p.rttMs != null ? `${p.rttMs.toFixed(p.rttMs < 10 ? 1 : 0)}ms` : '-',
    p.lastHeartbeatAgeMs != null ? formatDuration(p.lastHeartbeatAgeMs) : '-',
    p.capabilities.join(',') || '-',
    p.addresses.slice(0, opts.wide === true ? undefined : 1).join(' ') + (opts.wide !== true && p.addresses.length > 1 ? ` (+${p.addresses.length - 1})` : '')
  ])
  const draining = peers.filter(p => p.state === 'alive' && p.draining === true).length
  const alive = peers.filter(p => p.state === 'alive').length - draining
  return `${table(['PEER', 'NAME', 'ROLE', 'STATE', 'CONN', 'RTT', 'LAST HB', 'CAPABILITIES', 'ADDRESSES'], rows)}\n${peers.length} peer(s), ${alive} alive${draining > 0 ? `, ${draining} draining` : ''}`
}

export function formatStatus (s: StatusView): string {
  const lines: Array<[string, string]> = [
    ['peer id', s.peerId],
    ['name', s.name],
    ['role', s.role],
    ['version', `${s.version} (network ${s.protocolVersion})`],
    ['health', s.draining === true ? 'draining: taking no new task, finishing the running ones, then stopping' : s.health.ready ? 'ready' : s.health.healthy ? `healthy, not ready: ${s.health.reasons.join('; ')}` : `unhealthy: ${s.health.reasons.join('; ')}`],
    ['uptime', formatDuration(s.uptimeSeconds * 1000)],
    ['listen', s.listenAddresses.join(' ')],
    ['announce', s.announceAddresses.join('\n' + ' '.repeat(14)) || '-'],
    ...(s.reachability != null ? [['reachable', formatReachability(s.reachability)] as [string, string]] : []),
    ['connected', `${s.connectedPeers} peer(s)`],
    ['members', `bootstrap ${s.members.bootstrap}, relay ${s.members.relay}, worker ${s.members.worker}` + (s.members.gone > 0 ? `, gone ${s.members.gone}` : '')],
    ['capabilities', s.capabilities.join(', ') || '-'],
    ['topics', s.topics.join(', ') || '-'],
    ['metrics', s.metricsUrl != null ? `${s.metricsUrl}/metrics` : 'disabled']
  ]
  if (s.relay != null) {
    const r = s.relay
    lines.push(['relay', r.reservations.length > 0
      ? `reserved on ${r.reservations.map(shortId).join(', ')}`
      : r.searching ? `no reservation; searching (round ${r.searchRounds}${r.nextSearchInMs != null ? `, next in ${formatDuration(r.nextSearchInMs)}` : ''})` : 'no reservation'])
  }
  if (s.tasks != null) {
    const classes = Object.entries(s.tasks.queued ?? {}).filter(([, n]) => n > 0).map(([c, n]) => `reward ${c}: ${n}`).join(', ')
    lines.push(['tasks', `${s.tasks.load} queued or running (concurrency ${s.tasks.maxConcurrency}, queue ${s.tasks.queueCapacity})${classes !== '' ? `; queued by priority: ${classes}` : ''}`])
  }
  if (s.rewards != null) {
    const byType = Object.entries(s.rewards.byType).map(([t, e]) => `${t} ${e.credits} (${e.tasks} tasks)`).join(', ')
    lines.push(['rewards', `${s.rewards.total.credits} credits from ${s.rewards.total.tasks} tasks${byType !== '' ? `: ${byType}` : ''}`])
  }
  return lines.map(([k, v]) => `${k.padEnd(12)}  ${v}`).join('\n')
}

function formatReachability (r: NonNullable<StatusView['reachability']>): string {
  if (r.state === 'unknown') return 'unknown: no bootstrap or relay has checked yet'
  const ago = r.checkedAgoMs != null ? `, ${formatDuration(r.checkedAgoMs)} ago` : ''
  const checks = r.checks.map(c => c.result === 'reachable'
    ? `${c.byName ?? shortId(c.by)} dialled back ${c.address ?? ''}`
    : `${c.byName ?? shortId(c.by)} could not dial back (${c.result === 'no_address' ? 'no address to try' : `seen as ${c.observed ?? '?'}`})`)
  return `${r.state}${ago}: ${checks.join('; ')}`
}

export function formatCapabilities (c: CapabilitiesView): string {
  const own = `this node: ${c.self.capabilities.join(', ') || '(none)'}` + (c.self.taskTypes.length > 0 ? `; task types: ${c.self.taskTypes.join(', ')}` : '')
  const entries = Object.entries(c.network).sort(([a], [b]) => a.localeCompare(b))
  const types = Object.entries(c.taskTypes ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t} (${n})`).join(', ')
  const caps = entries.length === 0 ? 'no capabilities advertised in the network' : table(['CAPABILITY', 'MEMBERS'], entries.map(([cap, names]) => [cap, names.join(', ')]))
  return `${own}\n${caps}\ntask types in the network (workers): ${types || '(none)'}`
}

export function formatTask (r: TaskRecord): string {
  const head = `task ${r.id} (${r.type}${r.broadcast ? ', broadcast' : ''}): ${r.state}` + (r.error != null && r.results.length === 0 ? ` — ${r.error}` : '')
  const lines = r.results.map(x => {
    const where = x.worker != null ? `${x.workerName ?? '?'} (${shortId(x.worker)})` : 'no worker answered'
    const facts = `attempts ${x.attempts}, ${x.durationMs}ms` + (x.runMs != null ? ` (ran ${x.runMs}ms)` : '') + `, reward ${x.reward}` + (x.duplicate === true ? ', deduplicated' : '')
    const body = x.ok ? (x.output ?? (x.outputBase64 != null ? `base64:${x.outputBase64}` : '')) : `error: ${x.error}`
    // every line of a multi-line output indented, not the first alone
    return `${x.ok ? 'ok' : x.cancelled === true ? 'CANCELLED' : 'FAILED'}  ${where}  ${facts}\n${body.replace(/\n$/, '').split('\n').map(l => `  ${l}`).join('\n')}`
  })
  return [head, ...lines].join('\n')
}

/**
 * Text from the network made safe for a terminal: control characters (an escape sequence in a task's output can
 * clear the screen, set the title or hide what follows) shown as `\x1b`-style escapes; newlines and tabs kept.
 */
export function printable (text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, c => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** one event of a command that streams (a followed task's output): the line to print, or undefined to print nothing */
export function formatEvent (e: unknown): string | undefined {
  const line = eventLine(e)
  return line == null ? undefined : printable(line)
}

function eventLine (e: unknown): string | undefined {
  const ev = e as { output?: TaskOutput, accepted?: { id: string, follow?: boolean } }
  if (ev.accepted != null) return ev.accepted.follow === true ? `task ${ev.accepted.id} accepted; following its output (Ctrl-C or task cancel ${ev.accepted.id} stops it)` : undefined
  if (ev.output == null) return undefined
  const o = ev.output
  const lost = o.dropped > 0 ? `[${o.worker}] … ${o.dropped} piece(s) of output dropped (the reader was behind)\n` : ''
  return `${lost}[${o.worker}] ${o.text.replace(/\n$/, '')}`
}

export function formatTasks (list: Array<Record<string, any>>): string {
  if (list.length === 0) return 'no tasks submitted through this node yet'
  return table(['ID', 'TYPE', 'STATE', 'ATTEMPTS', 'TIME', 'WORKERS', 'ERROR'], list.map(t => [
    String(t.id).slice(0, 8), t.type, t.state, String(t.attempts), t.durationMs != null ? `${t.durationMs}ms` : '-', (t.workers ?? []).join(',') || '-', t.error ?? ''
  ]))
}

export function formatFailover (list: FailoverStatus[] | string): string {
  if (typeof list === 'string') return list
  if (list.length === 0) return 'no failover services on this node'
  return list.map(f => {
    const self = f.running ? `ACTIVE (program ${f.program})` : f.phase !== f.state && f.phase != null ? `${f.state} (${f.phase})` : f.state
    const health = `${f.health.healthy ? 'healthy' : 'unhealthy'}${f.health.check != null ? ` (last check: ${f.health.check})` : ''}${f.health.holdMs > 0 && Number.isFinite(f.health.holdMs) ? `, held down ${f.health.holdMs}ms` : ''}`
    const extra = [f.dryRun ? 'DRY RUN' : '', f.restarts > 0 ? `${f.restarts} restart(s) in window` : '', f.stateFile != null ? `state file term ${f.stateFile.term} v${f.stateFile.version}` : ''].filter(x => x !== '').join(', ')
    const head = `${f.service}: this member ${self}, term ${f.term}, priority ${f.priority}, ${health}, active ${f.active != null ? shortId(f.active) : 'none'}${extra !== '' ? `; ${extra}` : ''}`
    const rows = f.members.map(m => [shortId(m.peerId), String(m.priority), m.state, m.healthy ? 'healthy' : 'unhealthy', String(m.term), `${m.lastBeatAgeMs}ms`])
    const recent = (f.timeline ?? []).slice(-3).map(h => `  ${new Date(h.at).toISOString().slice(11, 19)} ${h.active != null ? `${shortId(h.active)} term ${h.term}` : 'none'}: ${h.reason}`)
    const moves = recent.length > 0 ? `\nholders (latest last):\n${recent.join('\n')}` : ''
    return (rows.length === 0 ? `${head}\n  (no other members heard)` : `${head}\n${table(['MEMBER', 'PRIORITY', 'STATE', 'HEALTH', 'TERM', 'LAST BEAT'], rows)}`) + moves
  }).join('\n\n')
}

export function formatTopology (t: TopologyView): string {
  const names = new Map(t.nodes.map(n => [n.peerId, n.name ?? shortId(n.peerId)]))
  const rows = t.links.map(l => [names.get(l.from)!, names.get(l.to)!, l.relayed ? 'relayed' : 'direct']).sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]))
  const missing = t.unanswered.length > 0 ? `\n(${t.unanswered.map(id => names.get(id) ?? shortId(id)).join(', ')}: not asked or not answering; their own links are missing)` : ''
  return `${t.nodes.length} nodes, ${t.links.length} connections\n${table(['FROM', 'TO', 'CONNECTION'], rows)}${missing}`
}

export function toJson (value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? v.toString() : v, 2)
}

/** Formats a command's result for a person, or as JSON. */
function formatDrain (r: { drainedMs: number, running: number, pending: number }): string {
  const secs = (r.drainedMs / 1000).toFixed(1)
  return r.running + r.pending === 0
    ? `drained in ${secs}s: every task it ran or took has ended; the node has stopped`
    : `stopped after ${secs}s (node.drain_timeout) with ${r.running} task(s) still running and ${r.pending} taken here unfinished: their submitters retry them elsewhere`
}

export function formatResult (command: string, result: unknown, opts: { json?: boolean, wide?: boolean } = {}): string {
  if (opts.json === true) return toJson(result)
  return printable(humanResult(command, result, opts))
}

function humanResult (command: string, result: unknown, opts: { wide?: boolean }): string {
  switch (command) {
    case 'peers': return formatPeers(result as PeerView[], { wide: opts.wide })
    case 'status': return formatStatus(result as StatusView)
    case 'capabilities': return formatCapabilities(result as CapabilitiesView)
    case 'task': return formatTask(result as TaskRecord)
    case 'tasks': return formatTasks(result as Array<Record<string, any>>)
    case 'failover': return formatFailover(result as FailoverStatus[] | string)
    case 'topology': return formatTopology(result as TopologyView)
    case 'drain': return formatDrain(result as { drainedMs: number, running: number, pending: number })
    default: return typeof result === 'string' ? result : toJson(result)
  }
}
