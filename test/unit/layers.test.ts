import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The layering of src/ (docs/development/architecture.md): a module imports only from its own layer or below; the composition
// root (p2p-node.ts) is imported by the command line alone; no import cycle anywhere, type imports included.
const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src')
const LAYERS: Array<[number, RegExp]> = [
  [0, /^(util|config|messages|metrics)\//],
  [1, /^libp2p\//],
  [2, /^(membership|discovery|tasks|failover)\//],
  [3, /^control\//],
  [4, /^p2p-node\.ts$/],
  [5, /^cli\//]
]
const layerOf = (file: string): number => LAYERS.find(([, re]) => re.test(file))?.[0] ?? -1

function sources (dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(SRC, join(dir, e.name))] : [])
}

const files = sources()
const imports = new Map(files.map(f => {
  const text = readFileSync(join(SRC, f), 'utf8')
  const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)]
    .map(m => normalize(join(dirname(f), m[1])).replace(/\.js$/, '.ts'))
  return [f, targets]
}))

describe('layers of src/', () => {
  it('every source file has a layer', () => {
    expect(files.filter(f => layerOf(f) < 0)).toEqual([])
  })

  it('no module imports from a layer above its own', () => {
    const upward = [...imports].flatMap(([f, ts]) => ts.filter(t => layerOf(t) > layerOf(f)).map(t => `${f} -> ${t}`))
    expect(upward).toEqual([])
  })

  it('the composition root is imported by the command line only, and nothing in src reaches out of it (the test harness lives in test/harness)', () => {
    const intoRoot = [...imports].flatMap(([f, ts]) => ts.includes('p2p-node.ts') && !f.startsWith('cli/') ? [f] : [])
    const outOfSrc = [...imports].flatMap(([f, ts]) => ts.filter(t => t.startsWith('..')).map(t => `${f} -> ${t}`))
    expect(intoRoot).toEqual([])
    expect(outOfSrc).toEqual([])
  })

  it('no folder cycle: the folders of src/ form a tree read top-down (p2p-node.ts, the root, imports all; nothing imports it but cli/)', () => {
    const folder = (f: string): string => f.includes('/') ? f.split('/')[0] : '.'
    const edges = new Map<string, Set<string>>()
    for (const [f, ts] of imports) {
      for (const t of ts) if (folder(f) !== folder(t)) edges.set(folder(f), (edges.get(folder(f)) ?? new Set()).add(folder(t)))
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (d: string, path: string[]): void => {
      if (state.get(d) === 'done') return
      if (state.get(d) === 'open') { cycles.push([...path.slice(path.indexOf(d)), d].join(' -> ')); return }
      state.set(d, 'open')
      for (const t of edges.get(d) ?? []) visit(t, [...path, d])
      state.set(d, 'done')
    }
    for (const d of edges.keys()) visit(d, [])
    expect(cycles).toEqual([])
  })

  it('no import cycle', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return
      if (state.get(f) === 'open') { cycles.push([...path.slice(path.indexOf(f)), f].join(' -> ')); return }
      state.set(f, 'open')
      for (const t of imports.get(f) ?? []) visit(t, [...path, f])
      state.set(f, 'done')
    }
    for (const f of files) visit(f, [])
    expect(cycles).toEqual([])
  })
})
