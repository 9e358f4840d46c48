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
