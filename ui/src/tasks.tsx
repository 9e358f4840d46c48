// Tasks: rate and latency charts (the node's own history), per-worker load, the recent tasks with their results,
// and a form to submit one that shows the result when it comes.
import { useEffect, useMemo, useState } from 'preact/hooks'
import { onTask, read, refresh, write } from './api'
import { Chart } from './chart'
import { clock, ms, short } from './format'
import { useEvery, useStore } from './hooks'
import type { TaskRecord, TaskResult, TaskSummary } from './types'

export function TasksView (): preact.JSX.Element {
  const { history, peers, tasks, status } = useStore()
  const [open, setOpen] = useState<string | undefined>()
  useEvery(() => { void refresh('peers'); void refresh('status') }, 3000)
  // new arrays only when a sample arrives: the charts redraw then, not on every task event
  const charts = useMemo(() => ({
    times: history.map(s => s.at / 1000),
    rate: [
      { label: 'tasks/s', values: history.map(s => s.tasksPerSecond ?? null), color: '#3b82f6' },
      { label: 'failed (per sample)', values: history.map(s => s.taskFailures ?? null), color: '#ef4444' }
    ],
    latency: [
      { label: 'p50', values: history.map(s => s.taskP50Ms ?? null), color: '#10b981', unit: 'ms' },
      { label: 'p99', values: history.map(s => s.taskP99Ms ?? null), color: '#f59e0b', unit: 'ms' }
    ]
  }), [history])
  const recent = useMemo(() => [...tasks].sort((a, b) => b.submittedAt - a.submittedAt).slice(0, 100), [tasks])
  const workers = peers.filter(p => p.role === 'worker')
  // this node runs tasks too when it is a worker: its own figures come from its status
  if (status?.role === 'worker' && status.tasks != null) {
    workers.unshift({ peerId: status.peerId, name: `${status.name} (this node)`, role: 'worker', state: 'alive', capabilities: status.capabilities, addresses: [], connection: 'none', load: status.tasks.load, maxConcurrency: status.tasks.maxConcurrency, queueCapacity: status.tasks.queueCapacity })
  }
  return (
    <section>
      <h2>Tasks <small>taken through this node</small></h2>
      <div class="charts">
        <Chart title="Tasks finished per second" times={charts.times} series={charts.rate} />
        <Chart title="Latency, submit → result" times={charts.times} series={charts.latency} />
      </div>
      <div class="split">
        <div>
          <h3>Submit a task</h3>
          <SubmitForm onSubmitted={setOpen} />
          <h3>Workers</h3>
          <table data-testid="workers">
            <thead><tr><th>Worker</th><th>State</th><th class="num">Running</th><th class="num">Queued</th><th class="num">Slots</th><th class="num">Queue room</th><th>Use</th></tr></thead>
            <tbody>
              {workers.map(w => {
                // the heartbeat's load is running + queued; a worker runs up to its slots before it queues
                const load = w.load ?? 0
                const slots = w.maxConcurrency ?? 0
                const cap = slots + (w.queueCapacity ?? 0)
                const used = Math.min(1, cap > 0 ? load / cap : 0)
                return (
                  <tr key={w.peerId} class={`state-${w.state}`} data-worker={w.name ?? ''}>
                    <td title={w.peerId}>{w.name ?? short(w.peerId)}</td>
                    <td><span class={`badge ${w.state}`}>{w.state}</span></td>
                    <td class="num">{w.load != null ? Math.min(load, slots) : '—'}</td>
                    <td class="num">{w.load != null ? Math.max(0, load - slots) : '—'}</td>
                    <td class="num">{w.maxConcurrency ?? '—'}</td>
                    <td class="num">{w.queueCapacity ?? '—'}</td>
                    <td><meter min={0} max={1} value={used} title={`${Math.round(used * 100)}% of running + queue slots`} /></td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
        <div>
          <h3>Recent tasks</h3>
          <div class="scroll">
          <table class="tasks" data-testid="tasks">
            <thead><tr><th>Submitted</th><th>Id</th><th>Type</th><th>State</th><th class="num">Attempts</th><th>Worker</th><th class="num">Time</th></tr></thead>
            <tbody>
              {recent.map(t => (
                <tr key={t.id} data-task={t.id} class={open === t.id ? 'selected' : ''} onClick={() => { setOpen(t.id) }}>
                  <td>{clock(t.submittedAt)}</td>
                  <td title={t.id}><button type="button" class="link">{t.id.slice(0, 8)}</button></td>
                  <td>{t.type}{t.broadcast ? ' (all)' : ''}</td>
                  <td><span class={`badge ${t.state}`}>{t.state}</span></td>
                  <td class="num">{t.attempts}</td>
                  <td>{t.workers.join(', ') || '—'}</td>
                  <td class="num">{ms(t.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
          {open != null ? <TaskDetail id={open} summary={tasks.find(t => t.id === open)} /> : null}
        </div>
      </div>
    </section>
  )
}

/** the form: type, payload and the options the API takes; the new task opens in the detail panel */
function SubmitForm ({ onSubmitted }: { onSubmitted: (id: string) => void }): preact.JSX.Element {
  const { capabilities } = useStore()
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  useEffect(() => { void refresh('capabilities') }, [])
  const types = Object.keys(capabilities?.taskTypes ?? {}).sort()
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const body: Record<string, unknown> = { type: String(f.get('type') ?? '').trim(), payload: String(f.get('payload') ?? ''), wait: false }
    for (const k of ['timeout', 'capability'] as const) { const v = String(f.get(k) ?? '').trim(); if (v !== '') body[k] = v }
    for (const k of ['retries', 'reward'] as const) { const v = String(f.get(k) ?? '').trim(); if (v !== '') body[k] = Number(v) }
    if (f.get('broadcast') != null) body.broadcast = true
    setBusy(true)
    setError(undefined)
    try {
      const answer = await write<{ id: string }>('/api/tasks', body)
      onSubmitted(answer.id)
    } catch (err: any) {
      setError(err.message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="submit" data-testid="submit-form" onSubmit={e => { void submit(e) }}>
      <label>Type
        <input name="type" list="task-types" required placeholder="echo" autocomplete="off" />
        <datalist id="task-types">{types.map(t => <option key={t} value={t}>{`${t} (${capabilities!.taskTypes[t]} workers)`}</option>)}</datalist>
      </label>
      <label class="wide">Payload<textarea name="payload" rows={3} placeholder="text sent to the handler" /></label>
      <label>Timeout<input name="timeout" placeholder="30s" size={6} /></label>
      <label>Retries<input name="retries" type="number" min={0} max={100} size={4} /></label>
      <label>Reward<input name="reward" type="number" min={0} size={4} /></label>
      <label>Capability<input name="capability" placeholder="any" size={8} /></label>
      <label class="check"><input name="broadcast" type="checkbox" /> every capable worker</label>
      <div class="actions">
        <button type="submit" disabled={busy}>{busy ? 'Submitting…' : 'Submit'}</button>
        {error != null ? <span class="error" role="alert">{error}</span> : null}
      </div>
    </form>
  )
}

const SHOWN = 2000

/** one task: its state, and when it has finished, each worker's result (output as text, long output cut) */
function TaskDetail ({ id, summary }: { id: string, summary?: TaskSummary }): preact.JSX.Element {
  const [record, setRecord] = useState<TaskRecord | undefined>()
  const [missing, setMissing] = useState(false)
  useEffect(() => {
    let live = true
    const load = (): void => { read<TaskRecord>(`/api/tasks/${encodeURIComponent(id)}`).then(r => { if (live) setRecord(r) }, () => { if (live) setMissing(true) }) }
    setRecord(undefined)
    setMissing(false)
    load()
    const off = onTask(t => { if (t.id === id) load() })
    return () => { live = false; off() }
  }, [id])
  const state = record?.state ?? summary?.state
  const [cancelling, setCancelling] = useState<string | undefined>()
  const open = state === 'pending' || state === 'running'
  const cancel = (): void => {
    setCancelling('Cancelling…')
    write<TaskRecord>(`/api/tasks/${encodeURIComponent(id)}`, undefined, 'DELETE').then(r => { setRecord(r); setCancelling(undefined) }, (err: Error) => { setCancelling(err.message) })
  }
  return (
    <div class="detail" data-testid="task-detail" data-state={state ?? ''}>
      <h4>Task <code>{id}</code> <span class={`badge ${state ?? ''}`}>{state ?? (missing ? 'not kept here' : '…')}</span>
        {open ? <button type="button" data-testid="task-cancel" disabled={cancelling === 'Cancelling…'} onClick={cancel}>Cancel</button> : null}
        {cancelling != null ? <span class="muted"> {cancelling}</span> : null}</h4>
      {record?.error != null ? <p class="error">{record.error}</p> : null}
      {(record?.results ?? []).map((r, i) => <Result key={i} r={r} />)}
      {record != null && record.results.length === 0 && open ? <p class="muted">Waiting for the result…</p> : null}
    </div>
  )
}

function Result ({ r }: { r: TaskResult }): preact.JSX.Element {
  const [all, setAll] = useState(false)
  const text = r.output ?? (r.outputBase64 != null ? r.outputBase64 : undefined)
  const cut = text != null && !all && text.length > SHOWN
  return (
    <div class={`result ${r.ok ? 'ok' : 'failed'}`}>
      <div class="muted">{r.ok ? 'ok' : r.cancelled === true ? 'cancelled' : 'failed'} · {r.workerName ?? short(r.worker)} · {ms(r.durationMs)} · attempt {r.attempts}{r.outputBase64 != null ? ' · binary output (base64)' : ''}</div>
      {r.error != null ? <p class="error">{r.error}</p> : null}
      {text != null ? <pre class="output" data-testid="task-output">{cut ? text.slice(0, SHOWN) : text}</pre> : null}
      {cut ? <button type="button" onClick={() => { setAll(true) }}>Show all {text.length.toLocaleString()} characters</button> : null}
    </div>
  )
}
