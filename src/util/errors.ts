/** A configuration mistake: names the key path and, when known, the file and line. Exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly issues: ConfigIssue[]
  constructor (issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'))
    this.issues = issues
  }
}

export interface ConfigIssue {
  /** dotted key path, e.g. `node.listen_port` */
  path: string
  message: string
  file?: string
  line?: number
}

export function formatIssue (issue: ConfigIssue): string {
  const where = issue.file != null ? `${issue.file}${issue.line != null ? `:${issue.line}` : ''}: ` : ''
  return `${where}${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`
}

/** an Error subclass whose `name` is `name` (the name is what crosses the control socket) */
function named (name: string): new (message?: string) => Error {
  return class extends Error { override name = name }
}

/** Wrong usage: a bad command, argument or request field. Exit code 2, HTTP 400. */
export class UsageError extends named('UsageError') {}
/** A daemon already answers on the control socket of this config: a second one is not started. */
export class AlreadyRunningError extends named('AlreadyRunningError') {}
/** No daemon answers on the control socket for this config. */
export class NotRunningError extends named('NotRunningError') {}
/** A failover service this node does not run (the request named something that is not there). */
export class UnknownServiceError extends named('UnknownServiceError') {}
/** A request that needs the service active on this member (a handoff) where it is not. */
export class NotActiveError extends named('NotActiveError') {}
/** A task no live worker can take: nobody offers its type (with the capability asked for). */
export class NoCapableWorkerError extends named('NoCapableWorkerError') {}
/** A task whose payload is over tasks.max_payload. */
export class PayloadTooLargeError extends named('PayloadTooLargeError') {}
/** This node holds as many unfinished tasks (or payload bytes) as tasks.max_pending allows: try again later. */
export class TooManyTasksError extends named('TooManyTasksError') {}
/** No task with that id is known here (never taken here, or no longer kept). */
export class UnknownTaskError extends named('UnknownTaskError') {}
/** The task has already ended (done, failed or cancelled): nothing left to cancel. */
export class TaskEndedError extends named('TaskEndedError') {}
/** A file of ours the node needs is missing or unreadable (the build, a data file). */
export class InstallationError extends named('InstallationError') {}
/** The node's identity file cannot be read or holds no key. */
export class IdentityError extends named('IdentityError') {}
/** The watchdog could not start the supervised program. */
export class ProgramStartError extends named('ProgramStartError') {}

/** A command sent to the daemon failed there; `code` is the name of the error it failed with. */
export class CommandError extends named('CommandError') {
  constructor (message: string, readonly code?: string) { super(message) }
}

/**
 * The one map from a failure to an exit code and an HTTP status. Keyed by name, so an error that crossed the
 * control socket (only its name travels, as `code`) maps the same as the original. Anything else: 1 and 500.
 */
const OUTCOMES: Record<string, { exit: number, http: number }> = {
  ConfigError: { exit: 2, http: 400 },
  UsageError: { exit: 2, http: 400 },
  UnknownServiceError: { exit: 2, http: 404 },
  NotActiveError: { exit: 1, http: 409 },
  UnknownTaskError: { exit: 2, http: 404 },
  TaskEndedError: { exit: 1, http: 409 },
  NoCapableWorkerError: { exit: 2, http: 422 },
  PayloadTooLargeError: { exit: 2, http: 413 },
  TooManyTasksError: { exit: 1, http: 429 },
  NotRunningError: { exit: 1, http: 503 }
}
const outcomeOf = (err: unknown): { exit: number, http: number } | undefined => {
  const e = err as { code?: unknown, name?: unknown } | null
  return (typeof e?.code === 'string' ? OUTCOMES[e.code] : undefined) ?? (typeof e?.name === 'string' ? OUTCOMES[e.name] : undefined)
}
export const exitCodeOf = (err: unknown): number => outcomeOf(err)?.exit ?? 1
export const httpStatusOf = (err: unknown): number => outcomeOf(err)?.http ?? 500
