import { httpStatusOf, UnknownServiceError, UsageError } from '../errors.js'
import { parseTaskArgs, parseTaskJson } from '../tasks/args.js'
import type { TaskRecord } from '../tasks/types.js'
import type { NodeViews } from './views.js'
import type { FailoverSupervisor } from '../failover/supervisor.js'
import type { TopologyView } from '../discovery/topology.js'
import type { Submitter } from '../tasks/submitter.js'

/** A command the daemon answers, over the control socket, the HTTP API or the in-process REPL. */
export type CommandHandler = (args: string[]) => Promise<unknown> | unknown

/** a task list entry: the record without outputs */
export function summarize (r: TaskRecord): Record<string, unknown> {
  const first = r.results[0]
  return {
    id: r.id, type: r.type, state: r.state, broadcast: r.broadcast, attempts: r.attempts, submittedAt: new Date(r.submittedAt).toISOString(),
    workers: r.results.map(x => x.workerName ?? x.worker).filter(Boolean), durationMs: first?.durationMs, error: r.error
  }
}

export interface CommandComponents {
  views: Pick<NodeViews, 'status' | 'peers' | 'capabilities'>
  submitter: Pick<Submitter, 'submit' | 'list' | 'accept' | 'completion' | 'get'>
  failover: Array<Pick<FailoverSupervisor, 'name' | 'status' | 'handoff'>>
  /** who is connected to whom */
  topology: () => Promise<TopologyView>
}

/** The daemon-side command table; the REPL's local commands (help, quit) are handled in cli/. */
export function createCommands (components: CommandComponents): Record<string, CommandHandler> {
  const { views, submitter, failover, topology } = components
  return {
    topology: async () => await topology(),
    status: () => views.status(),
    peers: async () => await views.peers(),
    capabilities: () => views.capabilities(),
    task: async (args: string[]) => {
      const parsed = parseTaskArgs(args)
      if (!parsed.ok) throw new UsageError(parsed.error)
      return await submitter.submit(parsed.spec)
    },
    // internal tasks (storage replication) are the handlers' business, not the operator's
    tasks: () => submitter.list().filter(r => !r.type.endsWith('.replicate')).map(summarize),
    failover: async (args: string[]) => {
      if (args.length === 0) return failover.map(f => f.status())
      if (args[0] === 'handoff' && args.length === 2) {
        const f = failover.find(x => x.name === args[1])
        if (f == null) throw new UnknownServiceError(`no failover service ${JSON.stringify(args[1])} on this node (services: ${failover.map(x => x.name).join(', ') || 'none'})`)
        return await f.handoff()
      }
      throw new UsageError('usage: failover [handoff <service>]')
    }
  }
}

export interface TaskApi {
  /** validates and starts a task; `done` settles when it has finished */
  submit: (body: unknown) => { status: number, body: unknown, done?: Promise<unknown> }
  get: (id: string) => unknown
}

/** POST /api/tasks: wait for the result (200), or answer with the id at once (202) when `wait` is false */
export function createTaskApi (components: Pick<CommandComponents, 'submitter'>): TaskApi {
  const { submitter } = components
  return {
    submit (body) {
      const parsed = parseTaskJson(body)
      if (!parsed.ok) return { status: 400, body: { error: parsed.error } }
      let record: TaskRecord
      try {
        record = submitter.accept(parsed.spec)
      } catch (err: any) {
        const status = httpStatusOf(err)
        if (status === 500) throw err
        return { status, body: { error: (err as Error).message } }
      }
      const done = submitter.completion(record, parsed.spec).then(() => record)
      if (!parsed.wait) return { status: 202, body: { id: record.id, state: record.state, url: `/api/tasks/${record.id}` } }
      return { status: 200, body: undefined, done }
    },
    get: id => submitter.get(id)
  }
}
