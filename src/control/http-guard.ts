// Who may call the HTTP endpoints (docs/guides/security.md, "HTTP and the browser"). Pure checks on a request's
// headers, so each rule has a table of cases; http.ts applies them before any route runs. The anchors: Jupyter's
// and Syncthing's Host and Origin checks (DNS rebinding, cross-site requests), Consul's default-deny with a token.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { ROUTES } from './routes.js'

export type Headers = Record<string, string | string[] | undefined>

/** the endpoints that stay open whatever the token: a scraper and the kubelet's probes */
export const OPEN_PATHS: ReadonlySet<string> = new Set(ROUTES.filter(r => r.access === 'open').map(r => r.path))

/** the cookie the console's login sets (an HMAC of the token, never the token itself) */
export const SESSION_COOKIE = 'p2p_session'

/**
 * The `Host` header names this node: an IP literal, `localhost`, or a name in metrics.allowed_hosts (any port).
 * Anything else is a name that resolves here by somebody else's DNS — a rebinding page reading the answers.
 * No Host at all (HTTP/1.0 clients) is not a browser: allowed.
 */
export function hostAllowed (host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host == null || host === '') return true
  const name = hostName(host)
  if (name == null) return false
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true
  return allowed.has(name)
}

/** the name of a Host header without its port, lower case ([::1]:9090 → ::1); undefined when malformed */
function hostName (host: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(host.trim())
  if (m == null) return undefined
  return (m[1] ?? m[2]).toLowerCase().replace(/\.$/, '')
}

/**
 * Why a write (POST, DELETE) is refused as coming from another site, or undefined when it is not: a browser says
 * where a request comes from in `Sec-Fetch-Site` and `Origin`; a page on another origin (another port counts)
 * must not act on the node. A client that is not a browser sends neither.
 */
export function crossSiteWrite (headers: Headers): string | undefined {
  const site = one(headers['sec-fetch-site'])
  if (site != null && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`
  const origin = one(headers.origin)
  if (origin == null) return undefined
  if (origin === 'null') return 'Origin: null'
  let parsed: URL
  try { parsed = new URL(origin) } catch { return 'a malformed Origin' }
  const host = one(headers.host)
  if (host == null || parsed.host !== new URL(`http://${host}`).host) return `Origin ${origin.slice(0, 100)} is not this node`
  return undefined
}

/**
 * Why a read of the API is refused as a cross-site fetch, or undefined. Navigating to the console from a link
 * elsewhere is fine; a page on another origin fetching the API (or loading it as a script) is not.
 */
export function crossSiteRead (headers: Headers, path: string): string | undefined {
  const site = one(headers['sec-fetch-site'])
  if (site == null || site === 'same-origin' || site === 'none' || OPEN_PATHS.has(path)) return undefined
  if (one(headers['sec-fetch-mode']) === 'navigate' && !path.startsWith('/api/')) return undefined
  return `Sec-Fetch-Site: ${site}`
}

/**
 * A POST must say its body is JSON: an HTML form or a `fetch` with a text body (a "simple request", sent by a
 * browser without asking first) cannot, so a page can never submit one blind.
 */
export function jsonWrite (method: string | undefined, headers: Headers): boolean {
  if (method !== 'POST') return true
  return /^application\/json\s*(;|$)/i.test(one(headers['content-type']) ?? '')
}

/** the session cookie's value for `token` */
export function sessionValue (token: string): string {
  return createHmac('sha256', token).update('p2p-console-session').digest('base64url')
}

/** how the request proves it holds the token: 'bearer' or 'cookie'; 'none' or 'bad' when it does not */
export function authOf (headers: Headers, token: string): 'bearer' | 'cookie' | 'none' | 'bad' {
  const auth = one(headers.authorization)
  if (auth != null) {
    const given = /^Bearer (.+)$/.exec(auth)?.[1]
    return given != null && same(given, token) ? 'bearer' : 'bad'
  }
  const cookie = cookieOf(headers, SESSION_COOKIE)
  if (cookie == null) return 'none'
  return same(cookie, sessionValue(token)) ? 'cookie' : 'bad'
}

export function cookieOf (headers: Headers, name: string): string | undefined {
  for (const part of (one(headers.cookie) ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

function same (a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}

function one (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}
