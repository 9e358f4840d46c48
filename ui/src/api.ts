// Talking to the node: reads and writes, with the session cookie the login set when the node has a token (or a
// bearer token typed into the page, kept for this tab only),
// and the one event stream per tab that keeps the page live.
import type { Capabilities, FailoverStatus, Peer, Sample, Status, TaskSummary, Topology } from './types'

const TOKEN_KEY = 'p2p-console-token'

export async function read<T> (path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return await res.json() as T
}

export class WriteError extends Error {
  constructor (message: string, readonly status: number) { super(message) }
}

export function token (): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined
}

export function setToken (value: string | undefined): void {
  if (value == null || value === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, value)
}

/** a POST (or a DELETE); a 401 asks for the token (store.needToken) and throws */
export async function write<T> (path: string, body?: unknown, method: 'POST' | 'DELETE' = 'POST'): Promise<T> {
  // JSON even without a body: the node refuses a POST that is not (a page elsewhere cannot send one blind)
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' }
  const t = token()
  if (t != null) headers.authorization = `Bearer ${t}`
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const answer = await res.json().catch(() => ({})) as { error?: string }
  if (res.status === 401) {
    store.set({ needToken: answer.error ?? 'this node needs its API token for actions' })
    throw new WriteError(answer.error ?? 'the API token is needed', 401)
  }
  if (!res.ok) throw new WriteError(answer.error ?? `HTTP ${res.status}`, res.status)
  return answer as T
}

export interface State {
  status?: Status
  peers: Peer[]
  topology?: Topology
  tasks: TaskSummary[]
  failover: FailoverStatus[]
  history: Sample[]
  capabilities?: Capabilities
  /** the event stream: connecting, live, or down (reconnecting) */
  stream: 'connecting' | 'live' | 'down'
  /** set when a write was refused for want of the token: why */
  needToken?: string
  /** when the latest snapshot of each kind arrived */
  updated: Record<string, number>
}

type Listener = () => void

/** the page renders at most this often, however many events arrive (50 tasks/s are 150 task events/s) */
const RENDER_EVERY_MS = 250

class Store {
  state: State = { peers: [], tasks: [], failover: [], history: [], stream: 'connecting', updated: {} }
  private readonly listeners = new Set<Listener>()
  private timer?: ReturnType<typeof setTimeout>
  private lastNotified = 0

  /** changes the state at once; the views hear of it at once, or with the next render when one was just done */
  set (patch: Partial<State>): void {
    this.state = { ...this.state, ...patch }
    if (this.timer != null) return
    const wait = this.lastNotified + RENDER_EVERY_MS - performance.now()
    if (wait <= 0) this.notify()
    else this.timer = setTimeout(() => { this.timer = undefined; this.notify() }, wait)
  }

  private notify (): void {
    this.lastNotified = performance.now()
    for (const l of this.listeners) l()
  }

  subscribe (l: Listener): () => void {
    this.listeners.add(l)
    return () => { this.listeners.delete(l) }
  }
}

export const store = new Store()

const MAX_TASKS = 200

/** fetches one snapshot into the store; failures leave the old one (the stream indicator says why) */
export async function refresh (what: 'status' | 'peers' | 'topology' | 'tasks' | 'failover' | 'history' | 'capabilities'): Promise<void> {
  try {
    const value = await read<unknown>(`/api/${what}`)
    const updated = { ...store.state.updated, [what]: Date.now() }
    if (what === 'tasks') store.set({ tasks: (value as TaskSummary[]).slice(-MAX_TASKS).reverse(), updated })
    else store.set({ [what]: value, updated } as Partial<State>)
  } catch {}
}

const pending = new Map<string, ReturnType<typeof setTimeout>>()
/** one refresh of `what` soon, however many events ask for it meanwhile */
export function refreshSoon (what: Parameters<typeof refresh>[0], ms = 250): void {
  if (pending.has(what)) return
  pending.set(what, setTimeout(() => { pending.delete(what); void refresh(what) }, ms))
}

export function refreshAll (): void {
  for (const w of ['status', 'peers', 'topology', 'tasks', 'failover', 'history', 'capabilities'] as const) void refresh(w)
}

type TaskListener = (t: TaskSummary) => void
const taskListeners = new Set<TaskListener>()
export function onTask (l: TaskListener): () => void {
  taskListeners.add(l)
  return () => { taskListeners.delete(l) }
}

/**
 * The tab's one event stream. The browser reconnects by itself and sends Last-Event-ID, so the node replays
 * what was missed; a `reset` (too much missed, or the node restarted) refetches every snapshot.
 */
export function connect (): EventSource {
  const es = new EventSource('/api/events')
  es.onopen = () => { store.set({ stream: 'live' }) }
  es.onerror = () => { store.set({ stream: 'down' }) }
  const on = (type: string, fn: (data: any) => void): void => {
    es.addEventListener(type, e => {
      try { fn(JSON.parse((e as MessageEvent<string>).data)) } catch {}
    })
  }
  on('reset', () => { refreshAll() })
  on('member', (e: { change: string, peerId: string }) => {
    if (e.change === 'gone' || e.change === 'removed') {
      // at once, before the refetch: the row turns gone with the event
      store.set({ peers: store.state.peers.map(p => p.peerId === e.peerId ? { ...p, state: 'gone', rttMs: undefined } : p) })
    }
    refreshSoon('peers')
    refreshSoon('topology', 1000)
    refreshSoon('capabilities', 1000)
  })
  on('task', (t: TaskSummary) => {
    const rest = store.state.tasks.filter(x => x.id !== t.id)
    store.set({ tasks: [t, ...rest].slice(0, MAX_TASKS) })
    for (const l of taskListeners) l(t)
  })
  on('failover', () => { refreshSoon('failover', 100) })
  on('sample', (s: Sample) => { store.set({ history: [...store.state.history, s].slice(-180) }) })
  return es
}
