/**
 * The node's own events as one ordered stream (`GET /api/events`, Server-Sent Events): members joining and
 * going, failover transitions, task state changes. A bounded ring keeps the latest events so that a client
 * that reconnects with `Last-Event-ID` gets what it missed; one older than the ring gets a `reset` (refetch
 * the snapshots). Each client's unsent bytes are bounded: a client that does not keep up is dropped, never
 * buffered without limit.
 */
import { Ring } from '../util/ring.js'
import type { Startable } from '../util/startable.js'

export interface NodeEvent {
  id: number
  type: string
  data: unknown
}

/** where a client's events go; `pending()` is how many bytes it has not taken yet */
export interface EventSink {
  write: (chunk: string) => void
  pending: () => number
  close: () => void
}

export interface EventHubInit {
  /** events kept for clients that reconnect (default 1000) */
  keep?: number
  /** a client with more unsent bytes than this is dropped (default 1 MiB) */
  maxPendingBytes?: number
}

export interface EventHubComponents {
  /** counts clients dropped for falling behind */
  onDropped?: () => void
}

/** one event in the SSE wire format */
export function formatEvent (e: NodeEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data, (_k, v) => typeof v === 'bigint' ? v.toString() : v)}\n\n`
}

/** the node's events for GET /api/events: a ring of the latest, and the clients following them (closed at stop) */
export function createEventHub (components: EventHubComponents = {}, init: EventHubInit = {}): EventHub {
  return new EventHub(components, init)
}

export class EventHub implements Startable {
  private readonly ring: Ring<NodeEvent>
  private readonly sinks = new Set<EventSink>()
  private nextId = 1
  private readonly maxPending: number

  constructor (private readonly components: EventHubComponents = {}, init: EventHubInit = {}) {
    this.ring = new Ring(init.keep ?? 1000)
    this.maxPending = init.maxPendingBytes ?? 1024 ** 2
  }

  get clients (): number { return this.sinks.size }

  publish (type: string, data: unknown): NodeEvent {
    const e = { id: this.nextId++, type, data }
    this.ring.push(e)
    // formatted only when someone listens: the stream costs nothing while no console is open
    if (this.sinks.size > 0) {
      const frame = formatEvent(e)
      for (const sink of this.sinks) this.send(sink, frame)
    }
    return e
  }

  /**
   * Adds a client. `lastId`: the last event it saw (from `Last-Event-ID`); it gets every later one still kept,
   * or a `reset` when some are gone. Returns the function that removes it.
   */
  subscribe (sink: EventSink, lastId?: number): () => void {
    this.sinks.add(sink)
    if (lastId != null && Number.isSafeInteger(lastId)) {
      const oldest = this.ring.first()?.id ?? this.nextId
      // some are gone from the ring, or the id is from before this node restarted (ids start over)
      if (lastId + 1 < oldest || lastId >= this.nextId) this.send(sink, formatEvent({ id: this.nextId - 1, type: 'reset', data: { reason: 'events since your last one are no longer kept' } }))
      else for (const e of this.ring.toArray()) if (e.id > lastId) this.send(sink, formatEvent(e))
    }
    return () => { this.sinks.delete(sink) }
  }

  start (): void {}
  stop (): void { this.close() }

  close (): void {
    for (const sink of this.sinks) sink.close()
    this.sinks.clear()
  }

  private send (sink: EventSink, frame: string): void {
    if (!this.sinks.has(sink)) return
    if (sink.pending() + frame.length > this.maxPending) {
      this.sinks.delete(sink)
      this.components.onDropped?.()
      sink.close()
      return
    }
    sink.write(frame)
  }
}
