import { UnknownServiceError } from '../errors.js'
import { parseTaskArgs, parseTaskJson } from '../tasks/args.js'
import type { TaskApi } from '../metrics/http.js'
import { TaskRejectedError } from '../tasks/types.js'
import type { P2PNode } from '../node/node.js'
import type { TaskRecord } from '../tasks/types.js'

/** A command the daemon answers, over the control socket, the HTTP API or the in-process REPL. */
export type CommandHandler = (args: string[]) => Promise<unknown> | unknown

export class CommandUsageError extends Error {
  override name = 'CommandUsageError'
}

/** a task list entry: the record without outputs */
export function summarize (r: TaskRecord): Record<string, unknown> {
  const first = r.results[0]
  return {
    id: r.id, type: r.type, state: r.state, broadcast: r.broadcast, attempts: r.attempts, submittedAt: new Date(r.submittedAt).toISOString(),
    workers: r.results.map(x => x.workerName ?? x.worker).filter(Boolean), durationMs: first?.durationMs, error: r.error
  }
}

/** The daemon-side command table; the REPL's local commands (help, quit) are handled in cli/. */
export function createCommands (node: P2PNode): Record<string, CommandHandler> {
  return {
    status: () => node.status(),
    peers: async () => await node.peers(),
    capabilities: () => node.capabilities(),
    task: async (args: string[]) => {
      const parsed = parseTaskArgs(args)
      if (!parsed.ok) throw new CommandUsageError(parsed.error)
      try {
        return await node.tasks.submitter.submit(parsed.spec)
      } catch (err) {
        if (err instanceof TaskRejectedError) throw new CommandUsageError(err.message)
        throw err
      }
    },
    // internal tasks (storage replication) are the handlers' business, not the operator's
    tasks: () => node.tasks.submitter.list().filter(r => !r.type.endsWith('.replicate')).map(summarize),
    failover: async (args: string[]) => {
      if (args.length === 0) return node.failover.map(f => f.status())
      if (args[0] === 'handoff' && args.length === 2) {
        const f = node.failover.find(x => x.name === args[1])
        if (f == null) throw new UnknownServiceError(`no failover service ${JSON.stringify(args[1])} on this node (services: ${node.failover.map(x => x.name).join(', ') || 'none'})`)
        return await f.handoff()
      }
      throw new CommandUsageError('usage: failover [handoff <service>]')
    }
  }
}

/** POST /api/tasks: wait for the result (200), or answer with the id at once (202) when `wait` is false */
export function createTaskApi (node: P2PNode): TaskApi {
  return {
    submit (body) {
      const parsed = parseTaskJson(body)
      if (!parsed.ok) return { status: 400, body: { error: parsed.error } }
      let record: TaskRecord
      try {
        record = node.tasks.submitter.accept(parsed.spec)
      } catch (err: any) {
        if (err instanceof TaskRejectedError) return { status: 422, body: { error: err.message } }
        throw err
      }
      const done = node.tasks.submitter.completion(record, parsed.spec).then(() => record)
      if (!parsed.wait) return { status: 202, body: { id: record.id, state: record.state, url: `/api/tasks/${record.id}` } }
      return { status: 200, body: undefined, done }
    },
    get: id => node.tasks.submitter.get(id)
  }
}
