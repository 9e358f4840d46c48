import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { formatByteSize } from '../config/schema.js'
import { httpStatusOf, UnknownTaskError } from '../util/errors.js'
import { findRoute, type RouteHandler } from './routes.js'
import type { CommandHandler, TaskApi } from './commands.js'
import { CONSOLE_HEADERS, type ConsoleFile } from './console.js'
import type { EventHub } from './events.js'
import { authOf, crossSiteRead, crossSiteWrite, hostAllowed, jsonWrite, OPEN_PATHS, SESSION_COOKIE, sessionValue } from './http-guard.js'
import type { Logger } from '../util/logger.js'
import type { Registry } from 'prom-client'

/** what the endpoints serve */
export interface HttpComponents {
  logger: Logger
  registry: Registry
  health: () => { healthy: boolean, ready: boolean, reasons: string[] }
  /** read-only API: GET /api/<name> runs the command of that name */
  api: Record<string, CommandHandler>
  /** task API: POST /api/tasks, GET /api/tasks/<id> */
  tasks?: TaskApi
  /** POST /api/failover/<service>/handoff */
  handoff?: (service: string) => Promise<string>
  /** GET /api/events: the node's events as Server-Sent Events */
  events?: Pick<EventHub, 'subscribe'>
  /** the web console's files by path (`/`, `/ui/app.js`, …; console.ts) */
  console?: Map<string, ConsoleFile>
  /** a task-events reader cut off for falling behind */
  onSlowReader?: () => void
  /** a refused request, by reason: `no_token`, `bad_token`, `not_local`, `bad_host`, `cross_site`, `not_json`, `too_many_streams` */
  onDenied?: (reason: string) => void
}

export interface HttpInit {
  host: string
  port: number
  /** largest request body accepted */
  maxBodyBytes?: number
  /** where that limit comes from, for the 413 answer (e.g. the config key it follows) */
  maxBodyReason?: string
  /**
   * the token every endpoint but /metrics, /healthz and /readyz needs (a bearer header, or the console's session
   * cookie); without one, reads are open and writes are accepted only from loopback clients
   */
  apiToken?: string
  /** names besides IP literals and localhost that the Host header may carry (metrics.allowed_hosts) */
  allowedHosts?: string[]
}

/** a task-events reader with more unsent bytes than this is cut off */
const MAX_PENDING_SSE = 1024 ** 2
/** open HTTP connections at most; past this a new one is closed at once */
export const MAX_HTTP_CONNECTIONS = 256
/** open event streams (node and task events) at most, and from one client address */
export const MAX_SSE_STREAMS = 64
export const MAX_SSE_PER_CLIENT = 8
/** a client has this long to send its request headers, and this long for the whole request */
const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 30_000

/** /metrics (Prometheus text), /healthz (process alive), /readyz (joined the network), GET /api/<command>. */
export class HttpServer {
  private server?: Server
  private readonly allowedHosts: ReadonlySet<string>
  /** open event streams by client address */
  private readonly streams = new Map<string, number>()
  private streamCount = 0

  constructor (private readonly components: HttpComponents, private readonly init: HttpInit) {
    this.allowedHosts = new Set((init.allowedHosts ?? []).map(h => h.toLowerCase()))
  }

  /** true while the server is bound */
  get listening (): boolean { return this.server?.listening === true }

  get port (): number {
    const addr = this.server?.address()
    return typeof addr === 'object' && addr != null ? addr.port : this.init.port
  }

  async start (): Promise<void> {
    const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 }, (req, res) => { void this.route(req, res) })
    server.keepAliveTimeout = 5000
    server.maxConnections = MAX_HTTP_CONNECTIONS
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port, this.init.host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    this.components.logger.info({ host: this.init.host, port: this.port }, 'metrics and health endpoints listening')
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server == null) return
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
  }

  private async route (req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL
    try {
      if (req.url?.startsWith('/') !== true || req.url.startsWith('//')) throw new Error('not a path')
      url = new URL(req.url, 'http://localhost')
    } catch {
      // nothing more from this client is worth reading
      res.shouldKeepAlive = false
      return this.send(res, 400, 'text/plain', 'malformed request target\n')
    }
    try {
      if (!this.admit(req, res, url)) return
      if ((req.method === 'POST' || req.method === 'DELETE') && !this.mayWrite(req, res)) return
      const found = findRoute(req.method ?? 'GET', url.pathname)
      if ('status' in found) {
        return found.status === 405
          ? this.send(res, 405, 'text/plain', 'method not allowed\n', { allow: found.allow })
          : this.send(res, 404, 'text/plain', 'not found\n')
      }
      const handled = await this.handlers[found.route.handler](req, res, url, found.args)
      if (handled === false) return this.send(res, 404, 'text/plain', 'not found\n')
    } catch (err: any) {
      // the one map from a failure to a status (errors.ts): a refusal is the caller's to read, anything else is ours
      const status = httpStatusOf(err)
      if (status !== 500) return this.json(res, status, { error: err.message })
      this.components.logger.warn({ err: err.message, path: url.pathname }, 'http handler failed')
      return this.send(res, 500, 'text/plain', 'internal error\n')
    }
  }

  /** what each route of ROUTES runs; false: this node does not serve it (404) */
  private readonly handlers: Record<RouteHandler, (req: IncomingMessage, res: ServerResponse, url: URL, args: string[]) => Promise<void | false> | void | false> = {
    metrics: async (_req, res) => { this.send(res, 200, this.components.registry.contentType, await this.components.registry.metrics()) },
    healthz: (_req, res) => { this.health(res, 'healthy') },
    readyz: (_req, res) => { this.health(res, 'ready') },
    console: (req, res, url) => {
      const file = this.components.console?.get(url.pathname === '/index.html' ? '/' : url.pathname)
      if (file != null) { this.asset(req, res, file); return }
      if (url.pathname === '/' && this.components.console != null) { this.send(res, 404, 'text/plain', 'the web console is not built into this install (npm run build)\n'); return }
      return false
    },
    read: async (_req, res, url, [name]) => {
      if (!Object.hasOwn(this.components.api, name)) return false
      // `?level=warn` (GET /api/logs) is the one argument a read takes
      const level = url.searchParams.get('level')
      this.json(res, 200, await this.components.api[name](level != null ? [level] : []))
    },
    events: (req, res, url) => {
      if (this.components.events == null) return false
      this.stream(req, res, url)
    },
    submitTask: async (req, res) => {
      if (this.components.tasks == null) return false
      await this.postTask(req, res)
    },
    getTask: (_req, res, _url, [id]) => {
      if (this.components.tasks == null) return false
      const record = this.components.tasks.get(id)
      if (record == null) throw new UnknownTaskError(`no task ${id} here`)
      this.json(res, 200, record)
    },
    cancelTask: async (_req, res, _url, [id]) => {
      if (this.components.tasks == null) return false
      this.json(res, 200, await this.components.tasks.cancel(id))
    },
    taskEvents: (req, res, _url, [id]) => {
      if (this.components.tasks == null) return false
      this.taskEvents(req, res, id)
    },
    handoff: async (_req, res, _url, [service]) => {
      if (this.components.handoff == null) return false
      this.json(res, 200, { result: await this.components.handoff(service) })
    }
  }

  private health (res: ServerResponse, which: 'healthy' | 'ready'): void {
    const h = this.components.health()
    const ok = h[which]
    this.send(res, ok ? 200 : 503, 'application/json', JSON.stringify({ ok, ...h }) + '\n')
  }

  /** one SSE client: resumes after `Last-Event-ID` (header, or `?last_event_id=` for a first connection) */
  private stream (req: IncomingMessage, res: ServerResponse, url: URL): void {
    // how long a browser waits before reconnecting, and a first line so proxies pass the stream on at once
    let off = (): void => {}
    if (!this.openSse(req, res, 'retry: 2000\n: connected\n\n', () => { off() })) return
    const raw = req.headers['last-event-id'] ?? url.searchParams.get('last_event_id') ?? undefined
    const last = raw != null && /^\d{1,15}$/.test(String(raw)) ? Number(raw) : undefined
    off = this.components.events!.subscribe({ write: chunk => { res.write(chunk) }, pending: () => res.writableLength, close: () => { res.destroy() } }, last)
  }

  /**
   * GET /api/tasks/<id>/events: a task's output as Server-Sent Events (`output` for each piece, as kept and
   * then as it comes), then `end` with its record, then the stream closes. A reader that falls more than
   * 1 MiB behind is cut off (`dropped` counted); the task goes on.
   */
  private taskEvents (req: IncomingMessage, res: ServerResponse, id: string): void {
    if (this.components.tasks!.get(id) == null) throw new UnknownTaskError(`no task ${id} here`)
    let pendingEnd = false
    const write = (event: string, data: unknown): void => {
      if (res.writableLength > MAX_PENDING_SSE) {
        this.components.onSlowReader?.()
        res.destroy()
        return
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    let stop: (() => void) | undefined
    if (!this.openSse(req, res, ': following\n\n', () => { if (!pendingEnd) stop?.() })) return
    stop = this.components.tasks!.follow(id, {
      output: o => { write('output', o) },
      end: record => { pendingEnd = true; write('end', record); res.end() }
    })
    if (stop == null) res.end()
  }

  /**
   * Who may call what, before any route runs: the Host must name this node (DNS rebinding); with a token, every
   * endpoint but /metrics, /healthz and /readyz needs it (the console logs in once with `/?token=…`, which sets a
   * session cookie); a page on another site may neither read the API nor write. Answers the refusal itself.
   */
  private admit (req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname
    if (!hostAllowed(req.headers.host, this.allowedHosts)) {
      return this.deny(req, res, 403, 'bad_host', `Host ${JSON.stringify(String(req.headers.host).slice(0, 100))} is not a name of this node (an IP address, localhost, or one in metrics.allowed_hosts)`)
    }
    const token = this.init.apiToken
    if (token != null && path === '/' && url.searchParams.has('token') && (req.method === 'GET' || req.method === 'HEAD')) {
      if (authOf({ authorization: `Bearer ${url.searchParams.get('token')}` }, token) !== 'bearer') {
        this.components.onDenied?.('bad_token')
        this.login(res, 'That is not this node\'s token.')
        return false
      }
      // the token leaves the address bar at once; the cookie is for this site's own requests only
      res.writeHead(303, { location: '/', 'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`, 'content-length': 0, 'cache-control': 'no-store' })
      res.end()
      return false
    }
    if (token != null && !OPEN_PATHS.has(path)) {
      const auth = authOf(req.headers, token)
      if (auth === 'none' || auth === 'bad') {
        const reason = auth === 'none' ? 'no_token' : 'bad_token'
        if (!path.startsWith('/api/') && (req.method === 'GET' || req.method === 'HEAD')) {
          this.components.onDenied?.(reason)
          this.login(res, auth === 'bad' ? 'The session has ended or the token changed.' : undefined)
          return false
        }
        return auth === 'none'
          ? this.deny(req, res, 401, reason, 'this endpoint needs "Authorization: Bearer <token>" (metrics.api_token_file)', { 'www-authenticate': 'Bearer' })
          : this.deny(req, res, 401, reason, 'wrong bearer token', { 'www-authenticate': 'Bearer error="invalid_token"' })
      }
    }
    const write = req.method === 'POST' || req.method === 'DELETE'
    const crossSite = write ? crossSiteWrite(req.headers) : crossSiteRead(req.headers, path)
    if (crossSite != null) return this.deny(req, res, 403, 'cross_site', `refused: a request from another site (${crossSite})`)
    if (!jsonWrite(req.method, req.headers)) return this.deny(req, res, 415, 'not_json', 'a POST needs "Content-Type: application/json"')
    return true
  }

  /** Without a token, writes (POST, DELETE) are accepted from loopback clients only. */
  private mayWrite (req: IncomingMessage, res: ServerResponse): boolean {
    if (this.init.apiToken != null) return true
    const remote = req.socket.remoteAddress ?? ''
    if (remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1' || remote.startsWith('127.')) return true
    return this.deny(req, res, 403, 'not_local', 'writes are accepted only from this host unless metrics.api_token_file is set')
  }

  private deny (req: IncomingMessage, res: ServerResponse, status: number, reason: string, error: string, headers: Record<string, string> = {}): false {
    this.components.onDenied?.(reason)
    this.components.logger.warn({ reason, remote: req.socket.remoteAddress, path: req.url?.slice(0, 200), method: req.method }, 'API request refused')
    this.send(res, status, 'application/json', JSON.stringify({ error }) + '\n', headers)
    return false
  }

  /** the console's login: one field, sent as `/?token=…` (a GET, so the page never posts a form) */
  private login (res: ServerResponse, error?: string): void {
    const note = error != null ? `<p role="alert">${error}</p>` : ''
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>p2p-node: token needed</title></head><body><h1>This node needs its API token</h1>${note}<p>The token is in the file <code>metrics.api_token_file</code> names.</p><form method="get" action="/"><label>Token <input name="token" type="password" autocomplete="off" required></label> <button type="submit">Open the console</button></form></body></html>\n`
    // the console's policy, but this page's one form goes to this node
    const csp = CONSOLE_HEADERS['content-security-policy'].replace("form-action 'none'", "form-action 'self'")
    this.send(res, 401, 'text/html; charset=utf-8', body, { ...CONSOLE_HEADERS, 'content-security-policy': csp, 'cache-control': 'no-store' })
  }

  /**
   * Starts a Server-Sent Events response (see openSse) when the caps allow another stream: MAX_SSE_STREAMS in all,
   * MAX_SSE_PER_CLIENT from one address. False (answered 429) when they do not.
   */
  private openSse (req: IncomingMessage, res: ServerResponse, first: string, onClose: () => void): boolean {
    const client = req.socket.remoteAddress ?? ''
    const mine = this.streams.get(client) ?? 0
    if (this.streamCount >= MAX_SSE_STREAMS || mine >= MAX_SSE_PER_CLIENT) {
      this.components.onDenied?.('too_many_streams')
      this.send(res, 429, 'application/json', JSON.stringify({ error: `too many event streams open (at most ${MAX_SSE_STREAMS}, ${MAX_SSE_PER_CLIENT} from one client)` }) + '\n', { 'retry-after': '5' })
      return false
    }
    this.streamCount++
    this.streams.set(client, mine + 1)
    openSse(req, res, first, () => {
      this.streamCount--
      const n = (this.streams.get(client) ?? 1) - 1
      if (n <= 0) this.streams.delete(client)
      else this.streams.set(client, n)
      onClose()
    })
    return true
  }

  private async postTask (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const limit = this.init.maxBodyBytes ?? 2 * 1024 * 1024
    const raw = await readBody(req, limit)
    if (raw == null) {
      const why = this.init.maxBodyReason != null ? `: ${this.init.maxBodyReason}` : ''
      return this.json(res, 413, { error: `request body is over ${formatByteSize(limit)} (${limit} bytes)${why}`, limit_bytes: limit })
    }
    let body: unknown
    try { body = JSON.parse(raw.toString('utf8')) } catch { return this.json(res, 400, { error: 'body is not valid JSON' }) }
    const answer = this.components.tasks!.submit(body)
    if (answer.done == null) return this.json(res, answer.status, answer.body)
    return this.json(res, answer.status, await answer.done)
  }

  /** a console file: gzipped when the browser takes it, 304 when it has this version */
  private asset (req: IncomingMessage, res: ServerResponse, file: ConsoleFile): void {
    const headers: Record<string, string> = { ...CONSOLE_HEADERS, etag: file.etag, 'cache-control': 'no-cache', vary: 'accept-encoding' }
    if (req.headers['if-none-match'] === file.etag) { res.writeHead(304, headers); res.end(); return }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    const body = gzip ? file.gzip : file.body
    res.writeHead(200, { ...headers, 'content-type': file.type, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  private json (res: ServerResponse, status: number, value: unknown): void {
    this.send(res, status, 'application/json', JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? v.toString() : v) + '\n')
  }

  private send (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers })
    res.end(res.req.method === 'HEAD' ? undefined : body)
  }
}

/**
 * Starts a Server-Sent Events response: its headers and `first` line, then a comment every 15 s, which keeps idle
 * connections (and proxies) from timing out. `onClose` runs when the client goes or the stream ends.
 */
function openSse (req: IncomingMessage, res: ServerResponse, first: string, onClose: () => void): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  res.write(first)
  const ping = setInterval(() => { res.write(': ping\n\n') }, 15_000)
  req.socket.setTimeout(0)
  res.on('close', () => { clearInterval(ping); onClose() })
}

/**
 * The request body, or undefined once it passes `limit`. An oversized body is still read (and dropped) up to
 * a few times the limit, so the client, still sending, receives the 413 instead of a reset connection;
 * past that the connection is cut.
 */
async function readBody (req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit * 4 + 1024 * 1024) req.destroy()
      else if (size <= limit) chunks.push(chunk)
      else if (chunks.length > 0 || size === chunk.length) {
        // the first chunk past the limit: answer now, drop the rest as it comes
        chunks.length = 0
        resolve(undefined)
      }
    })
    req.on('end', () => { if (size <= limit) resolve(Buffer.concat(chunks)) })
    req.on('error', reject)
  })
}
