import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP, loadConsole } from '../../src/control/console.js'

const UI = join(import.meta.dirname, '../../ui/src')

describe('web console files', () => {
  it('never turns a value into markup: no innerHTML, dangerouslySetInnerHTML, insertAdjacentHTML or document.write in ui/src', () => {
    for (const f of readdirSync(UI)) {
      const text = readFileSync(join(UI, f), 'utf8')
      expect(text, f).not.toMatch(/innerHTML|dangerouslySetInnerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/)
    }
  })

  it('the policy allows scripts and styles only from the node, nothing inline', () => {
    expect(CONSOLE_CSP).toContain("default-src 'none'")
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|\*/)
  })

  it('serves index.html at / and the rest under /ui/, each kept gzipped too, with an ETag per content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-ui-'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>')
    writeFileSync(join(dir, 'app.js'), 'console.log(1)'.repeat(100))
    writeFileSync(join(dir, 'notes.txt'), 'not served')
    const files = loadConsole(dir)
    expect([...files.keys()].sort()).toEqual(['/', '/ui/app.js'])
    const js = files.get('/ui/app.js')!
    expect(js.type).toMatch(/^text\/javascript/)
    expect(gunzipSync(js.gzip).equals(js.body)).toBe(true)
    expect(js.gzip.length).toBeLessThan(js.body.length)
    expect(files.get('/')!.etag).not.toBe(js.etag)
    expect(loadConsole(undefined).size).toBe(0)
  })
})
