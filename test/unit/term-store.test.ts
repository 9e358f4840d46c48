import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TermStore } from '../../src/failover/term-store.js'

describe('TermStore: the highest term a member has seen, on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'terms-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('starts at 0, keeps only increases, and reads them back after a restart', () => {
    const a = new TermStore(dir, 'svc')
    expect(a.term).toBe(0)
    a.raise(3)
    a.raise(2)
    expect(a.term).toBe(3)
    expect(new TermStore(dir, 'svc').term).toBe(3)
    expect(new TermStore(dir, 'other').term).toBe(0)
  })
  it('its file and folder are private (0600, 0700)', () => {
    const file = join(dir, 'failover', 'svc', 'term.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'failover', 'svc')).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ maxTerm: 3 })
  })
  it.each([['garbage', 'not json'], ['a negative term', '{"maxTerm":-4}'], ['a term past 2^53', '{"maxTerm":1e300}']])('a file holding %s counts as no term', (_n, text) => {
    mkdirSync(join(dir, 'failover', 'bad'), { recursive: true })
    writeFileSync(join(dir, 'failover', 'bad', 'term.json'), text)
    expect(new TermStore(dir, 'bad').term).toBe(0)
  })
})
