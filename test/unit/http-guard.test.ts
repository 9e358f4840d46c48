import { describe, expect, it } from 'vitest'
import { authOf, crossSiteRead, crossSiteWrite, hostAllowed, jsonWrite, SESSION_COOKIE, sessionValue } from '../../src/control/http-guard.js'

describe('hostAllowed: the Host header names this node (DNS rebinding)', () => {
  const allowed = new Set(['p2p-worker-0.p2p-workers'])
  it.each([
    ['an IPv4 literal with a port', '127.0.0.1:9090', true],
    ['an IPv6 literal', '[::1]:9090', true],
    ['a pod IP', '10.1.2.3', true],
    ['localhost', 'localhost:9111', true],
    ['a name in metrics.allowed_hosts', 'p2p-worker-0.p2p-workers:9090', true],
    ['the same name, other case, trailing dot', 'P2P-Worker-0.p2p-workers.:9090', true],
    ['no Host at all (not a browser)', undefined, true],
    ['a rebinding name', 'evil.example:9111', false],
    ['a name that ends like localhost but is not', 'localhost.evil.example', false],
    ['garbage', 'a b', false],
    ['an unclosed IPv6 literal', '[::1:9090', false]
  ])('%s', (_n, host, ok) => {
    expect(hostAllowed(host, allowed)).toBe(ok)
  })
})

describe('crossSiteWrite: a page elsewhere may not act', () => {
  const host = '127.0.0.1:9111'
  it.each([
    ['curl (no Origin, no Sec-Fetch-Site)', {}, undefined],
    ['the console itself', { host, origin: 'http://127.0.0.1:9111', 'sec-fetch-site': 'same-origin' }, undefined],
    ['another site', { host, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
    ['another port on this host (same site, not same origin)', { host, origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site: same-site'],
    ['an older browser: Origin only', { host, origin: 'https://evil.example' }, 'Origin https://evil.example is not this node'],
    ['a sandboxed page', { host, origin: 'null' }, 'Origin: null'],
    ['a malformed Origin', { host, origin: '::::' }, 'a malformed Origin']
  ])('%s', (_n, headers, reason) => {
    expect(crossSiteWrite(headers)).toBe(reason)
  })
})

describe('crossSiteRead: a page elsewhere may not read the API', () => {
  it.each([
    ['a fetch from another site', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' }, '/api/status', 'Sec-Fetch-Site: cross-site'],
    ['a script tag from another site', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, '/api/logs', 'Sec-Fetch-Site: cross-site'],
    ['following a link to the console', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, '/', undefined],
    ['a link straight to the API', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, '/api/status', 'Sec-Fetch-Site: cross-site'],
    ['the console\'s own reads', { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }, '/api/peers', undefined],
    ['a scraper', {}, '/api/status', undefined],
    ['metrics from anywhere', { 'sec-fetch-site': 'cross-site' }, '/metrics', undefined]
  ])('%s', (_n, headers, path, reason) => {
    expect(crossSiteRead(headers, path)).toBe(reason)
  })
})

describe('jsonWrite: a POST says its body is JSON', () => {
  it.each([
    ['POST', 'application/json', true],
    ['POST', 'application/json; charset=utf-8', true],
    ['POST', 'text/plain', false],
    ['POST', 'application/x-www-form-urlencoded', false],
    ['POST', 'multipart/form-data; boundary=x', false],
    ['POST', undefined, false],
    ['POST', 'application/jsonx', false],
    ['DELETE', undefined, true],
    ['GET', undefined, true]
  ])('%s with %s', (method, type, ok) => {
    expect(jsonWrite(method, type == null ? {} : { 'content-type': type })).toBe(ok)
  })
})

describe('authOf: the token as a bearer header or the console\'s session cookie', () => {
  const token = 's3cret'
  it.each([
    ['the bearer token', { authorization: 'Bearer s3cret' }, 'bearer'],
    ['a wrong bearer token', { authorization: 'Bearer nope' }, 'bad'],
    ['another scheme', { authorization: 'Basic czNjcmV0' }, 'bad'],
    ['the session cookie', { cookie: `a=1; ${SESSION_COOKIE}=${sessionValue(token)}; b=2` }, 'cookie'],
    ['a session cookie for another token', { cookie: `${SESSION_COOKIE}=${sessionValue('other')}` }, 'bad'],
    ['the raw token as the cookie', { cookie: `${SESSION_COOKIE}=${token}` }, 'bad'],
    ['nothing', {}, 'none']
  ])('%s', (_n, headers, want) => {
    expect(authOf(headers, token)).toBe(want)
  })
})
