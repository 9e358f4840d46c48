import { ConfigError } from '../util/errors.js'

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Replaces `${VAR}` and `${VAR:-default}` with values from env. `$${` escapes a literal `${`.
 * A variable that is unset (or empty, for `:-`) with no default is an error naming the key path.
 */
export function interpolate (text: string, env: Record<string, string | undefined>, path: string): string {
  const parts = text.split('$${')
  return parts.map(part => part.replace(VAR, (_match, name: string, fallback: string | undefined) => {
    const value = env[name]
    if (value !== undefined && value !== '') return value
    if (fallback !== undefined) return fallback
    if (value === '') return ''
    throw new ConfigError([{ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` }])
  })).join('${')
}
