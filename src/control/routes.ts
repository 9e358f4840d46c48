/**
 * Every HTTP endpoint of a node, in one table: the server (http.ts) routes by it and the HTTP API reference
 * (docs/reference/http-api-and-metrics.md) is generated from it (scripts/gen-docs.mjs), so the two cannot part.
 * `access`: `open` needs nothing (Prometheus and probes); `read` needs the token when one is set; `write` needs
 * the token, or a loopback client when there is none (docs/guides/security.md).
 */
export type RouteHandler =
  | 'metrics' | 'healthz' | 'readyz' | 'console' | 'read' | 'events'
  | 'submitTask' | 'getTask' | 'cancelTask' | 'taskEvents' | 'handoff'

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  /** as people write it: `<id>` for a part of the path */
  path: string
  /** the path's pattern; its groups are the handler's arguments */
  pattern: RegExp
  access: 'open' | 'read' | 'write'
  handler: RouteHandler
  /** what it answers (the reference's text) */
  answers: string
  /** a Server-Sent Events stream (not answered to HEAD) */
  stream?: boolean
}

/** the reads GET /api/<name> serves: the REPL commands of those names, as JSON */
export const API_READS = ['status', 'peers', 'capabilities', 'tasks', 'failover', 'topology', 'history', 'logs'] as const

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/metrics', pattern: /^\/metrics$/, access: 'open', handler: 'metrics', answers: 'Prometheus text: the metrics below, libp2p\'s own (`libp2p_*`), and Node process metrics (`process_*`, `nodejs_*`), all in one registry' },
  { method: 'GET', path: '/healthz', pattern: /^\/healthz$/, access: 'open', handler: 'healthz', answers: '200 while the node runs (all its parts started), else 503; a JSON body with the reasons' },
  { method: 'GET', path: '/readyz', pattern: /^\/readyz$/, access: 'open', handler: 'readyz', answers: '200 once the node has joined: topics subscribed and at least one peer connected (a bootstrap too: one without peers has not been found by anyone), and with `network.require_relay` a relay reservation held; else 503 with the reasons' },
  { method: 'GET', path: '/', pattern: /^\/(index\.html)?$/, access: 'read', handler: 'console', answers: 'the web console ([guide](../guides/web-console.md)); with a token, `/?token=…` logs in (an HttpOnly SameSite=Strict session cookie)' },
  { method: 'GET', path: '/ui/<file>', pattern: /^\/ui\/[A-Za-z0-9._/-]+$/, access: 'read', handler: 'console', answers: 'the console\'s files (gzip, ETag)' },
  { method: 'GET', path: '/api/status', pattern: /^\/api\/(status)$/, access: 'read', handler: 'read', answers: 'the REPL\'s `status` as JSON (no process id)' },
  { method: 'GET', path: '/api/peers', pattern: /^\/api\/(peers)$/, access: 'read', handler: 'read', answers: 'every member: state, role, addresses, RTT, `version`, and for workers `load`, `maxConcurrency`, `queueCapacity`' },
  { method: 'GET', path: '/api/capabilities', pattern: /^\/api\/(capabilities)$/, access: 'read', handler: 'read', answers: 'this node\'s capabilities and task types, and the network\'s' },
  { method: 'GET', path: '/api/tasks', pattern: /^\/api\/(tasks)$/, access: 'read', handler: 'read', answers: 'the tasks this node took, newest first' },
  { method: 'GET', path: '/api/failover', pattern: /^\/api\/(failover)$/, access: 'read', handler: 'read', answers: 'each failover service on this member: state, term, the active, the timeline' },
  { method: 'GET', path: '/api/topology', pattern: /^\/api\/(topology)$/, access: 'read', handler: 'read', answers: 'who is connected to whom, as the members report it' },
  { method: 'GET', path: '/api/history', pattern: /^\/api\/(history)$/, access: 'read', handler: 'read', answers: 'a sample every `metrics.history_interval` (10 s), the last 180: `connections`, `messagesPerSecond` (gossip received), `rssBytes`, `loopLagP50Ms` / `loopLagMaxMs`, and of the tasks taken here that finished `tasksPerSecond`, `taskFailures`, `taskP50Ms` / `taskP99Ms` (submit → result)' },
  { method: 'GET', path: '/api/logs', pattern: /^\/api\/(logs)$/, access: 'read', handler: 'read', answers: 'the latest 500 log lines (each cut at 4 KiB) as JSON objects, oldest first; `?level=warn` for that level and above' },
  { method: 'GET', path: '/api/events', pattern: /^\/api\/events$/, access: 'read', handler: 'events', stream: true, answers: 'the node\'s events as Server-Sent Events, in order: `member` (`joined`, `returned`, `gone`, `removed`), `task` (each task taken here, `pending` → `running` → `done`/`failed`), `failover` (each change of phase or holder), `sample` (each history sample). A reconnect with `Last-Event-ID` gets what it missed from the last 1,000 events, or `reset` (refetch) when they are gone or the node restarted. A client more than 1 MiB behind is dropped' },
  { method: 'POST', path: '/api/tasks', pattern: /^\/api\/tasks$/, access: 'write', handler: 'submitTask', answers: 'submit a task (JSON; [tasks guide](../guides/tasks.md)): 200 with the record when done, or 202 with its id at once for `"wait": false`; 400 bad field, 413 payload too large, 422 no capable worker, 429 too many pending' },
  { method: 'GET', path: '/api/tasks/<id>', pattern: /^\/api\/tasks\/([A-Za-z0-9._-]{1,128})$/, access: 'read', handler: 'getTask', answers: 'one task\'s record (404 if not taken here)' },
  { method: 'DELETE', path: '/api/tasks/<id>', pattern: /^\/api\/tasks\/([A-Za-z0-9._-]{1,128})$/, access: 'write', handler: 'cancelTask', answers: 'cancel it: the record once the workers confirmed (404 unknown, 409 already ended)' },
  { method: 'GET', path: '/api/tasks/<id>/events', pattern: /^\/api\/tasks\/([A-Za-z0-9._-]{1,128})\/events$/, access: 'read', handler: 'taskEvents', stream: true, answers: 'a task\'s output as Server-Sent Events: `output` for each piece (kept, then as it comes), then `end` with its record' },
  { method: 'POST', path: '/api/failover/<service>/handoff', pattern: /^\/api\/failover\/([A-Za-z0-9._-]{1,64})\/handoff$/, access: 'write', handler: 'handoff', answers: 'move the service off this member (404 no such service here, 409 not active here)' }
]

/** the route for a request, or what to answer instead: 405 with the methods the path takes, or 404 */
export function findRoute (method: string, path: string): { route: Route, args: string[] } | { status: 405, allow: string } | { status: 404 } {
  const onPath = ROUTES.filter(r => r.pattern.test(path))
  const m = method === 'HEAD' ? 'GET' : method
  const route = onPath.find(r => r.method === m && !(method === 'HEAD' && r.stream === true))
  if (route != null) return { route, args: route.pattern.exec(path)!.slice(1).filter(a => a != null) }
  if (onPath.length > 0 || (method !== 'GET' && method !== 'HEAD')) {
    const methods = new Set(onPath.flatMap(r => r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]))
    return { status: 405, allow: methods.size > 0 ? [...methods].join(', ') : 'GET, HEAD' }
  }
  return { status: 404 }
}
