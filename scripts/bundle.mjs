#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into one file, dist/p2p-node.mjs, which the launcher runs:
// one file loads in ~230 ms where libp2p's graph of hundreds of modules takes ~580 ms (measured on 2 cores),
// which shortens restarts, REPL attach and one-shot commands.
import { build } from 'esbuild'
import { copyFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
await build({
  entryPoints: [join(root, 'dist/cli/main.js')],
  outfile: join(root, 'dist/p2p-node.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'linked',
  // V8 keeps the whole source in the heap, as UTF-16 when one character is not ASCII: the unminified bundle with
  // its comments (dependencies' "—", "⋅") held 8.7 MiB there. Whitespace and syntax minified, ASCII only: names
  // stay (stack traces and error names read as before; --enable-source-maps maps them to files and lines).
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  legalComments: 'none',
  // pino-pretty: loaded with require() only on a terminal; piscina: starts worker threads from its own files
  external: ['pino-pretty', 'piscina'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins
  banner: { js: "import { createRequire as __p2pRequire } from 'node:module'; const require = __p2pRequire(import.meta.url);" },
  logLevel: 'warning'
})

// The web console (ui/): Preact + uPlot, one script and one stylesheet, served by the node from dist/ui
// (src/control/console.ts). Nothing is loaded from elsewhere at run time.
const ui = join(root, 'dist/ui')
await build({
  entryPoints: { app: join(root, 'ui/src/main.tsx') },
  outdir: ui,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning'
})
await build({ entryPoints: { app: join(root, 'ui/style.css') }, outdir: ui, bundle: true, minify: true, logLevel: 'warning' })
for (const f of ['index.html', 'icon.svg']) copyFileSync(join(root, 'ui', f), join(ui, f))
