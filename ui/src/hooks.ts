import { useEffect, useState } from 'preact/hooks'
import { store, type State } from './api'

/** the store's state; the component renders again on every change */
export function useStore (): State {
  const [, bump] = useState(0)
  useEffect(() => store.subscribe(() => { bump(n => n + 1) }), [])
  return store.state
}

/** runs `fn` now and every `ms` while the component is shown and the tab visible */
export function useEvery (fn: () => void, ms: number, deps: unknown[] = []): void {
  useEffect(() => {
    fn()
    const t = setInterval(() => { if (document.visibilityState === 'visible') fn() }, ms)
    return () => { clearInterval(t) }
  }, deps)
}

/** a clock that ticks every second, for "x s ago" */
export function useNow (ms = 1000): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => { setNow(Date.now()) }, ms)
    return () => { clearInterval(t) }
  }, [])
  return now
}
