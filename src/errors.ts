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

/** Wrong command-line usage. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** No daemon answers on the control socket for this config. */
export class NotRunningError extends Error {
  override name = 'NotRunningError'
}

/** A command sent to the daemon failed there. */
export class CommandError extends Error {
  override name = 'CommandError'
}

/** A failover service this node does not run: HTTP 404, exit code 2 (the request named something that is not there). */
export class UnknownServiceError extends Error {
  override name = 'UnknownServiceError'
}

/** A request that needs the service active on this member (a handoff) where it is not: HTTP 409, exit code 1. */
export class NotActiveError extends Error {
  override name = 'NotActiveError'
}
