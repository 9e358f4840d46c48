import { UnknownServiceError, UsageError } from '../util/errors.js'
import { parseTaskArgs, parseTaskJson } from '../tasks/args.js'
import type { TaskOutput, TaskRecord } from '../tasks/types.js'
import type { TaskSummary } from '../messages/api.js'
import type { NodeViews } from './views.js'
import type { FailoverSupervisor } from '../failover/supervisor.js'
import type { TopologyView } from '../discovery/topology.js'
import type { Submitter } from '../tasks/submitter.js'
import { isInternalType } from '../tasks/types.js'

/** what a command may send before its answer (the control socket and the REPL pass it on; `task --follow` uses it) */
export interface CommandContext {
  emit?: (event: CommandEvent) => void
}
export type CommandEvent = { output: TaskOutput } | { accepted: { id: string, follow: boolean } }

/** A command the daemon answers, over the control socket, the HTTP API or the in-process REPL. */
export type CommandHandler = (args: string[], ctx?: CommandContext) => Promise<unknown> | unknown

/** a task list entry: the record without outputs */
export function summarize (r: TaskRecord): TaskSummary {
  const first = r.results[0]
  return {
    id: r.id, type: r.type, state: r.state, broadcast: r.broadcast, attempts: r.attempts, submittedAt: r.submittedAt,
    workers: r.results.map(x => x.workerName ?? x.worker).filter((w): w is string => w != null), durationMs: first?.durationMs, error: r.error
  }
}

export interface CommandComponents {
  views: Pick<NodeViews, 'status' | 'peers' | 'capabilities'>
  submitter: Pick<Submitter, 'submit' | 'list' | 'accept' | 'completion' | 'get' | 'cancel' | 'follow'>
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
    task: async (args: string[], ctx?: CommandContext) => {
      // task cancel <id>: "cancel" is not a task type (the config refuses it as one)
      if (args[0] === 'cancel') {
        if (args.length !== 2) throw new UsageError('usage: task cancel <id>')
        return await submitter.cancel(args[1])
      }
      const parsed = parseTaskArgs(args)
      if (!parsed.ok) throw new UsageError(parsed.error)
      const record = submitter.accept(parsed.spec, { durable: true })
      const emit = ctx?.emit
      // the id at once: what a REPL's Ctrl-C cancels, and what a follower is told
      emit?.({ accepted: { id: record.id, follow: parsed.spec.follow === true } })
      if (parsed.spec.follow === true && emit != null) {
        const stop = submitter.follow(record.id, { output: o => { emit({ output: o }) }, end: () => {} })
        try { await submitter.completion(record, parsed.spec) } finally { stop?.() }
        return record
      }
      await submitter.completion(record, parsed.spec)
      return record
    },
    // internal tasks (storage replication) are the handlers' business, not the operator's
    tasks: () => submitter.list().filter(r => !isInternalType(r.type)).map(summarize),
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
  /** validates and starts a task (throws the refusal: errors.ts maps it to a status); `done` settles when it has finished */
  submit: (body: unknown) => { status: number, body: unknown, done?: Promise<unknown> }
  get: (id: string) => TaskRecord | undefined
  /** DELETE /api/tasks/<id> */
  cancel: (id: string) => Promise<TaskRecord>
  /** GET /api/tasks/<id>/events */
  follow: Submitter['follow']
}

/** POST /api/tasks: wait for the result (200), or answer with the id at once (202) when `wait` is false */
export function createTaskApi (components: Pick<CommandComponents, 'submitter'>): TaskApi {
  const { submitter } = components
  return {
    submit (body) {
      const parsed = parseTaskJson(body)
      if (!parsed.ok) throw new UsageError(parsed.error)
      // nobody waits for a wait: false task: after a restart of this node it is taken up again
      const record = submitter.accept(parsed.spec, { durable: true, resumable: !parsed.wait })
      const done = submitter.completion(record, parsed.spec).then(() => record)
      if (!parsed.wait) return { status: 202, body: { id: record.id, state: record.state, url: `/api/tasks/${record.id}` } }
      return { status: 200, body: undefined, done }
    },
    get: id => submitter.get(id),
    cancel: async id => await submitter.cancel(id),
    follow: (id, follower) => submitter.follow(id, follower)
  }
}
