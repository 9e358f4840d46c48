// The HTTP endpoints as an attacker reaches them, with curl-like requests (docs/guides/security.md, "HTTP and the
// browser"): malformed request lines, a rebinding Host, cross-site writes, reads behind the token, and caps on
// event streams. The browser's side of the same rules is in console.test.ts.
import { request } from 'node:http'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, keygen, type TestNode } from '../harness/cluster.js'
import { MAX_SSE_PER_CLIENT } from '../../src/control/http.js'

/** sends `raw` on a fresh connection; resolves with what came back once the node closes it (or after `ms`) */
async function rawExchange (port: number, raw: string, ms = 5000): Promise<{ answer: string, closed: boolean }> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1', () => { s.write(raw) })
    let answer = ''
    const timer = setTimeout(() => { s.destroy(); resolve({ answer, closed: false }) }, ms)
    s.on('data', d => { answer += String(d) })
    s.on('close', () => { clearTimeout(timer); resolve({ answer, closed: true }) })
    s.on('error', () => {})
  })
}

/** an HTTP request with headers fetch will not send (Host) */
async function call (port: number, path: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, res => {
      let body = ''
      res.on('data', d => { body += String(d) })
      res.on('end', () => { resolve({ status: res.statusCode!, body, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

describe('HTTP trust boundaries (real processes)', () => {
  const cluster = new Cluster()
  let open: TestNode
  let locked: TestNode
  let token: string
  const port = (n: TestNode): number => Number(new URL(n.status!.metricsUrl!).port)

  beforeAll(async () => {
    const keys = keygen(join(cluster.dir, 'keys'))
    token = readFileSync(keys.tokenFile, 'utf8').trim()
    open = cluster.add({ name: 'ht-open', role: 'worker' })
    open.updateConfig(cfg => { cfg.metrics.allowed_hosts = ['p2p-worker-0.p2p-workers'] })
    locked = cluster.add({ name: 'ht-locked', role: 'worker' })
    locked.updateConfig(cfg => { cfg.metrics.api_token_file = keys.tokenFile })
    await Promise.all([open.start(), locked.start()])
  })
  afterAll(async () => { await cluster.teardown() })

  it('a malformed request target gets 400 and the connection is closed at once, token or not', async () => {
    for (const n of [open, locked]) {
      for (const target of ['//[', '//evil.example/api/status', '*', 'http://[']) {
        const { answer, closed } = await rawExchange(port(n), `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 3000)
        expect(answer, target).toMatch(/^HTTP\/1\.1 400 /)
        expect(closed, target).toBe(true)
      }
      // and the node still answers
      expect((await call(port(n), '/healthz')).status).toBe(200)
    }
  })

  it('a request that never finishes its headers is cut off', async () => {
    const { closed } = await rawExchange(port(open), 'GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n', 25_000)
    expect(closed).toBe(true)
  })

  it('a Host that is not this node (DNS rebinding) is refused; IP literals, localhost and metrics.allowed_hosts are served', async () => {
    const p = port(open)
    const evil = await call(p, '/api/status', { headers: { host: `evil.example:${p}` } })
    expect(evil.status).toBe(403)
    expect(evil.body).toMatch(/metrics\.allowed_hosts/)
    expect((await call(p, '/', { headers: { host: 'evil.example' } })).status).toBe(403)
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `p2p-worker-0.p2p-workers:${p}`, `[::1]:${p}`]) {
      expect((await call(p, '/api/status', { headers: { host } })).status, host).toBe(200)
    }
    expect(await open.metric('p2p_access_denied_total{what="api_bad_host"}')).toBe(2)
  })

  it('a write needs JSON and may not come from another site, even from loopback', async () => {
    const p = port(open)
    const task = JSON.stringify({ type: 'echo', payload: 'x' })
    // what a page can send without asking first: a text body (fetch no-cors, a form with enctype text/plain)
    const plain = await call(p, '/api/tasks', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: task })
    expect(plain.status).toBe(415)
    const form = await call(p, '/api/failover/demo/handoff', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' })
    expect(form.status).toBe(415)
    // JSON, but the browser says it comes from elsewhere
    const json = { 'content-type': 'application/json' }
    expect((await call(p, '/api/tasks', { method: 'POST', headers: { ...json, origin: 'https://evil.example' }, body: task })).status).toBe(403)
    expect((await call(p, '/api/tasks', { method: 'POST', headers: { ...json, 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' }, body: task })).status).toBe(403)
    expect((await call(p, '/api/tasks/some-id', { method: 'DELETE', headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403)
    // a read fetched by another site's page
    expect((await call(p, '/api/logs', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } })).status).toBe(403)
    // the console's own request, and curl's
    expect((await call(p, '/api/tasks', { method: 'POST', headers: { ...json, origin: `http://127.0.0.1:${p}`, 'sec-fetch-site': 'same-origin', host: `127.0.0.1:${p}` }, body: task })).status).toBe(200)
    expect((await call(p, '/api/tasks', { method: 'POST', headers: json, body: task })).status).toBe(200)
    expect(await open.metric('p2p_access_denied_total{what="api_not_json"}')).toBe(2)
    expect(await open.metric('p2p_access_denied_total{what="api_cross_site"}')).toBe(4)
    expect(await open.metric('p2p_tasks_submitted_total')).toBe(2)
  })

  it('with a token, everything but /metrics, /healthz and /readyz needs it; the status carries no pid', async () => {
    const p = port(locked)
    for (const path of ['/metrics', '/healthz', '/readyz']) expect((await call(p, path)).status, path).not.toBe(401)
    for (const path of ['/api/status', '/api/logs', '/api/tasks/x', '/api/events', '/ui/app.js']) expect((await call(p, path)).status, path).toBe(401)
    expect((await call(p, '/api/status', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    const login = await call(p, '/')
    expect(login.status).toBe(401)
    expect(login.body).toMatch(/name="token"/)
    // the console's login: a wrong token is the login again, the right one a session cookie and a redirect
    expect((await call(p, '/?token=wrong')).status).toBe(401)
    const ok = await call(p, `/?token=${encodeURIComponent(token)}`)
    expect(ok.status).toBe(303)
    const cookie = String(ok.headers['set-cookie']).split(';')[0]
    expect(String(ok.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/)
    expect(cookie).not.toContain(token)
    const status = await call(p, '/api/status', { headers: { cookie } })
    expect(status.status).toBe(200)
    expect(JSON.parse(status.body)).not.toHaveProperty('pid')
    expect(JSON.parse((await call(p, '/api/status', { headers: { authorization: `Bearer ${token}` } })).body).name).toBe('ht-locked')
    // a cookie is no pass for another site's write
    expect((await call(p, '/api/tasks', { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{}' })).status).toBe(403)
  })

  it('event streams are capped per client; a closed one frees its place', async () => {
    const base = open.status!.metricsUrl!
    const controllers: AbortController[] = []
    const openStream = async (): Promise<number> => {
      const ac = new AbortController()
      controllers.push(ac)
      return (await fetch(`${base}/api/events`, { signal: ac.signal })).status
    }
    const statuses: number[] = []
    for (let i = 0; i < MAX_SSE_PER_CLIENT + 2; i++) statuses.push(await openStream())
    expect(statuses).toEqual([...Array(MAX_SSE_PER_CLIENT).fill(200), 429, 429])
    controllers[0].abort()
    let again = 0
    for (let i = 0; i < 50 && again !== 200; i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      again = await openStream()
    }
    expect(again).toBe(200)
    for (const ac of controllers) ac.abort()
    expect(await open.metric('p2p_access_denied_total{what="api_too_many_streams"}')).toBeGreaterThanOrEqual(2)
  })
})
