/**
 * The web console's files (built from ui/ into dist/ui by scripts/bundle.mjs), read once at start and served
 * from memory on the metrics port: `/` is the page, `/ui/<file>` its script and style. Each is kept gzipped
 * too. Every answer carries a strict Content-Security-Policy: scripts and styles only from this origin, no
 * inline script, no frames, fetches only back to this node.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export interface ConsoleFile {
  type: string
  body: Buffer
  gzip: Buffer
  etag: string
}

export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

/** headers on every console answer */
export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY'
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

/** where the built console is: dist/ui beside the bundle (dist/p2p-node.mjs) or above the compiled module (dist/cli) */
export function consoleDir (moduleUrl: string): string | undefined {
  for (const rel of ['./ui/', '../ui/']) {
    const dir = fileURLToPath(new URL(rel, moduleUrl))
    if (existsSync(join(dir, 'index.html'))) return dir
  }
  return undefined
}

/** the console's files by URL path (`/` for the page), or an empty map when it was not built */
export function loadConsole (dir: string | undefined): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>()
  if (dir == null) return files
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)]
    if (type == null) continue
    const body = readFileSync(join(dir, name))
    const file = { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }
    files.set(name === 'index.html' ? '/' : `/ui/${name}`, file)
  }
  return files
}
