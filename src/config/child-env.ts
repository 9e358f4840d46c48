/**
 * What the programs a node starts (task handlers, failover programs, hooks, health checks) get of its own
 * environment: what any program needs to run, and what node.pass_env names — not the rest. The node's
 * environment may carry secrets of its own (tokens, cloud credentials, P2P_* settings) that a handler running
 * another peer's payload has no business reading. Their config's own `env:` entries come on top.
 */
export const BASE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_*', 'TZ', 'TMPDIR', 'TERM'] as const

export function childEnv (env: Record<string, string | undefined>, pass: readonly string[] = []): Record<string, string> {
  const rules = [...BASE_ENV, ...pass]
  const exact = new Set(rules.filter(r => !r.endsWith('*')))
  const prefixes = rules.filter(r => r.endsWith('*')).map(r => r.slice(0, -1))
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    if (v != null && (exact.has(k) || prefixes.some(p => k.startsWith(p)))) out[k] = v
  }
  return out
}
