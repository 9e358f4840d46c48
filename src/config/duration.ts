const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses a duration into milliseconds. A bare number (or numeric string) means seconds, as in the seed
 * format (`heartbeat_interval: 30`); strings take a unit: `500ms`, `1.5s`, `2m`, `1h`, or several (`1m30s`).
 * Returns undefined when the value is not a duration.
 */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined
  }
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNITS[m[2]]
    matched = re.lastIndex
  }
  if (matched === 0 || matched !== text.length) return undefined
  return Math.round(total)
}

export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`
}
