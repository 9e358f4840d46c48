import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The docs route: a short README, every page reachable from it, and no link that leads nowhere.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const pages = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? pages(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [])
const DOCS = [join(ROOT, 'README.md'), ...pages(join(ROOT, 'docs'))]

/** the relative link targets of a markdown page (web links and in-page anchors left out) */
function links (file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1]).filter(t => !/^(https?:|mailto:|#)/.test(t))
}

/** GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as dashes */
function headingSlugs (file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map(m => m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')))
}

describe('the docs', () => {
  it('the README is short enough to read in five minutes (at most 200 lines)', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(200)
  })
  it.each(DOCS.map(f => [relative(ROOT, f), f]))('%s: every relative link resolves', (_name, file) => {
    const broken = links(file).filter(t => !existsSync(resolve(dirname(file), t.split('#')[0])))
    expect(broken).toEqual([])
  })
  it.each(DOCS.map(f => [relative(ROOT, f), f]))('%s: every anchor it links to is a heading of its page', (_name, file) => {
    const missing = links(file).filter(t => t.includes('#') && t.split('#')[0].endsWith('.md')).filter(t => {
      const [target, anchor] = t.split('#')
      return !headingSlugs(resolve(dirname(file), target)).has(anchor)
    })
    expect(missing).toEqual([])
  })
  it('every guide, reference and operations page is linked from the README', () => {
    const linked = new Set(links(join(ROOT, 'README.md')).map(t => resolve(ROOT, t.split('#')[0])))
    const routed = DOCS.filter(f => /\/docs\/(guides|reference|operations|development)\/|getting-started|protocol/.test(f))
    expect(routed.filter(f => !linked.has(f)).map(f => relative(ROOT, f))).toEqual([])
  })
})
