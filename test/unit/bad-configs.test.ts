import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/util/errors.js'

// A corpus of malformed and hostile config files (test/fixtures/bad-configs/*.yaml), each next to the exact
// text a user sees (`<name>.expected`, with {file} for the file's path): a mistake always names the file, the
// line where one exists, the key path, and what is wrong. `p2p-node` prints this text and exits 2.
const dir = join(import.meta.dirname, '../fixtures/bad-configs')
const cases = readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()

describe(`bad config corpus (${cases.length} files)`, () => {
  it('has at least 30 files, each with its expected message', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
    for (const f of cases) expect(readdirSync(dir)).toContain(f.replace(/\.yaml$/, '.expected'))
  })

  it.each(cases)('%s', name => {
    const file = join(dir, name)
    let error: unknown
    try { loadConfig(file, { POD_IP: '10.0.0.5' }) } catch (err) { error = err }
    expect(error).toBeInstanceOf(ConfigError)
    const text = (error as ConfigError).message.replaceAll(file, '{file}').replaceAll(dir, '{dir}')
    expect(text + '\n').toBe(readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8'))
  })
})
