// Small formatting helpers: every value is turned into plain text here, and rendered as text by Preact.

export function short (peerId: string | undefined): string {
  if (peerId == null) return '—'
  return peerId.length > 14 ? `${peerId.slice(0, 6)}…${peerId.slice(-6)}` : peerId
}

export function ms (v: number | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—'
  if (v < 10) return `${v.toFixed(1)} ms`
  if (v < 10_000) return `${Math.round(v)} ms`
  return `${(v / 1000).toFixed(1)} s`
}

export function ago (msAgo: number | undefined): string {
  if (msAgo == null || !Number.isFinite(msAgo)) return '—'
  if (msAgo < 1000) return 'just now'
  const s = Math.round(msAgo / 1000)
  if (s < 90) return `${s} s ago`
  if (s < 5400) return `${Math.round(s / 60)} min ago`
  return `${(s / 3600).toFixed(1)} h ago`
}

export function duration (seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
  return `${Math.floor(seconds / 3600)} h ${Math.floor(seconds % 3600 / 60)} min`
}

export function bytes (n: number | undefined): string {
  if (n == null) return '—'
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 ** 2).toFixed(1)} MiB`
}

export function clock (at: number | string): string {
  return new Date(at).toLocaleTimeString([], { hour12: false })
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
export function levelName (level: unknown): string {
  return typeof level === 'number' ? LEVELS[level] ?? String(level) : String(level ?? '')
}
