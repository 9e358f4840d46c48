import { readFileSync } from 'node:fs'

/**
 * The package version, read once from the project's package.json: one folder up from the bundle
 * (dist/p2p-node.mjs), two from this module (dist/util/version.js, or src/util/ under tests).
 */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'))
      if (pkg.name === 'p2p-network' && typeof pkg.version === 'string') return pkg.version
    } catch {}
  }
  return '0.0.0'
})()
