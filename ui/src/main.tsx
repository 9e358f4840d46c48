// The console's shell: header (node, stream state, token), the four views behind hash routes, and the one
// event stream of this tab.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { connect, refreshAll, setToken, store, token } from './api'
import { FailoverView } from './failover'
import { useStore } from './hooks'
import { NetworkView } from './network'
import { NodeView } from './node'
import { TasksView } from './tasks'

const VIEWS = {
  network: { title: 'Network', view: NetworkView },
  tasks: { title: 'Tasks', view: TasksView },
  failover: { title: 'Failover', view: FailoverView },
  node: { title: 'This node', view: NodeView }
} as const
type ViewName = keyof typeof VIEWS

function current (): ViewName {
  const name = location.hash.replace(/^#\/?/, '')
  return Object.hasOwn(VIEWS, name) ? name as ViewName : 'network'
}

function App (): preact.JSX.Element {
  const { status, stream, needToken } = useStore()
  const [view, setView] = useState<ViewName>(current())
  useEffect(() => {
    const on = (): void => { setView(current()) }
    addEventListener('hashchange', on)
    return () => { removeEventListener('hashchange', on) }
  }, [])
  useEffect(() => { document.title = status != null ? `${status.name} · p2p-node console` : 'p2p-node console' }, [status?.name])
  const View = VIEWS[view].view
  return (
    <>
      <header>
        <h1>p2p-node <span class="node-name" data-testid="node-name">{status?.name ?? '…'}</span> <small>{status?.role}</small></h1>
        <nav>
          {(Object.keys(VIEWS) as ViewName[]).map(v => <a key={v} href={`#${v}`} class={v === view ? 'active' : ''} data-view={v}>{VIEWS[v].title}</a>)}
        </nav>
        <span class={`stream ${stream}`} data-testid="stream" title="the live event stream of this tab">{stream === 'live' ? '● live' : stream === 'connecting' ? '○ connecting' : '○ reconnecting'}</span>
        <TokenButton />
      </header>
      {needToken != null ? <TokenForm reason={needToken} /> : null}
      <main data-view={view}><View /></main>
    </>
  )
}

function TokenButton (): preact.JSX.Element | null {
  useStore()
  if (token() == null) return null
  return <button type="button" class="small" title="forget the API token kept for this tab" onClick={() => { setToken(undefined); store.set({}) }}>Forget token</button>
}

/** asked once when an action was refused for want of the token; kept for this tab (sessionStorage) */
function TokenForm ({ reason }: { reason: string }): preact.JSX.Element {
  const save = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const value = String(new FormData(form).get('token') ?? '').trim()
    // an empty field if the node asks again (a wrong token)
    form.reset()
    setToken(value)
    store.set({ needToken: undefined })
  }
  return (
    <form class="token" data-testid="token-form" onSubmit={save}>
      <p role="alert">{reason}. Enter the node's API token (metrics.api_token_file); it is kept for this tab only, then try the action again.</p>
      <input name="token" type="password" autocomplete="off" placeholder="API token" required />
      <button type="submit">Keep for this tab</button>
      <button type="button" onClick={() => { store.set({ needToken: undefined }) }}>Cancel</button>
    </form>
  )
}

refreshAll()
connect()
const root = document.getElementById('app')!
// the boot message goes: Preact renders beside existing children
root.textContent = ''
render(<App />, root)
