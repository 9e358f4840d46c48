/**
 * Every subsystem of a node is a `Startable` (libp2p's interface: `start` and `stop`, and optionally
 * `beforeStart`, `afterStart`, `beforeStop`, `afterStop`). A node is an ordered list of them: `startAll` starts
 * them in order, `stopAll` stops them in reverse. Each phase runs over the whole list before the next, as libp2p
 * does: every `beforeStop` (in reverse) runs before any `stop`, which is how failover leaves its group while
 * gossip still works.
 */
import type { Startable } from '@libp2p/interface'

export type { Startable }

/** where a node is in its life; `stopped` also before the first start; `draining`: leaving, its running tasks finishing */
export type NodeStatus = 'stopped' | 'starting' | 'running' | 'draining' | 'stopping'

/** one subsystem in a node's start order, named for logs and errors */
export interface Part {
  name: string
  part: Startable
}

/**
 * Starts the parts in order (beforeStart of all, start of all, afterStart of all). If one fails, the parts
 * already started are stopped again, in reverse, and the first error is thrown.
 */
export async function startAll (parts: Part[]): Promise<void> {
  const started: Part[] = []
  try {
    for (const p of parts) await p.part.beforeStart?.()
    for (const p of parts) {
      await p.part.start()
      started.push(p)
    }
    for (const p of parts) await p.part.afterStart?.()
  } catch (err: any) {
    const failed = parts[started.length]?.name
    await stopAll(started).catch(() => {})
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { part: failed })
  }
}

/** Stops the parts in reverse order (beforeStop of all, stop of all, afterStop of all); every part is stopped even if one throws. */
export async function stopAll (parts: Part[]): Promise<void> {
  const reversed = [...parts].reverse()
  let first: unknown
  const each = async (call: (p: Startable) => void | Promise<void> | undefined): Promise<void> => {
    for (const p of reversed) {
      try { await call(p.part) } catch (err) { first ??= err }
    }
  }
  await each(p => p.beforeStop?.())
  await each(p => p.stop())
  await each(p => p.afterStop?.())
  if (first !== undefined) throw first
}
