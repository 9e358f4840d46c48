import { describe, expect, it } from 'vitest'
import { completer, runLine } from '../../src/cli/repl.js'
import { parseLine } from '../../src/cli/parse-line.js'
import { backoffDelay } from '../../src/util/backoff.js'
import { parseTarget, resolveTarget } from '../../src/discovery/resolve.js'

describe('parseLine', () => {
  it.each([
    ['peers', ['peers']],
    ['  status   --json ', ['status', '--json']],
    ['task echo "hello world"', ['task', 'echo', 'hello world']],
    ["task echo 'a \"b\" c'", ['task', 'echo', 'a "b" c']],
    ['task echo a\\ b', ['task', 'echo', 'a b']],
    ['task echo ""', ['task', 'echo', '']],
    ['', []]
  ])('%j', (line, words) => {
    expect(parseLine(line)).toEqual({ ok: true, words })
  })
  it('reports an unclosed quote', () => {
    expect(parseLine('task "open')).toEqual({ ok: false, error: 'unclosed " quote' })
  })
})

describe('REPL lines', () => {
  const calls: Array<[string, string[]]> = []
  const exec = async (c: string, a: string[]): Promise<unknown> => { calls.push([c, a]); return { peerId: 'x' } }
  it('runs a command through exec and prints JSON on --json', async () => {
    const out: string[] = []
    expect(await runLine('status --json', exec, s => out.push(s), s => out.push(s))).toBe(true)
    expect(calls.at(-1)).toEqual(['status', []])
    expect(JSON.parse(out[0])).toEqual({ peerId: 'x' })
  })
  it('rejects unknown commands without calling exec', async () => {
    const errs: string[] = []
    const before = calls.length
    expect(await runLine('frobnicate', exec, () => {}, s => errs.push(s))).toBe(false)
    expect(calls.length).toBe(before)
    expect(errs[0]).toMatch(/unknown command: frobnicate/)
  })
  it('quit and help are local', async () => {
    const out: string[] = []
    expect(await runLine('quit', exec, () => {}, () => {})).toBe('quit')
    expect(await runLine('help peers', exec, s => out.push(s), () => {})).toBe(true)
    expect(out[0]).toMatch(/^peers/)
  })
  it('completes command names and flags', () => {
    expect(completer('pe')).toEqual([['peers'], 'pe'])
    expect(completer('peers --j')).toEqual([['--json'], '--j'])
    expect(completer('')[0]).toContain('status')
  })
})

describe('bootstrap targets', () => {
  it('parses peer id, host and port', () => {
    const t = parseTarget('/dns4/p2p-bootstrap/tcp/4001/p2p/12D3KooWSdpExbW1Cd3Z4DCsJTVfCXxiv9gM1hsNuM9Gsn61aNyZ')
    expect(t).toMatchObject({ host: 'p2p-bootstrap', family: 4, port: 4001, peerId: '12D3KooWSdpExbW1Cd3Z4DCsJTVfCXxiv9gM1hsNuM9Gsn61aNyZ' })
  })
  it('resolves a DNS name to every address on every call', async () => {
    let answers = ['10.0.0.1', '10.0.0.2']
    const lookup = async (): Promise<string[]> => answers
    const t = parseTarget('/dns4/p2p-workers/tcp/4001')
    expect((await resolveTarget(t, lookup)).map(String)).toEqual(['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001'])
    answers = ['10.0.0.9']
    expect((await resolveTarget(t, lookup)).map(String)).toEqual(['/ip4/10.0.0.9/tcp/4001'])
  })
  it('leaves IP addresses alone', async () => {
    const t = parseTarget('/ip4/127.0.0.1/tcp/4001')
    expect((await resolveTarget(t, async () => { throw new Error('no lookup expected') })).map(String)).toEqual(['/ip4/127.0.0.1/tcp/4001'])
  })
  it('backs off exponentially with jitter up to the cap', () => {
    expect(backoffDelay(0, 1000, 30_000, () => 0)).toBe(500)
    expect(backoffDelay(0, 1000, 30_000, () => 1)).toBe(1000)
    expect(backoffDelay(3, 1000, 30_000, () => 1)).toBe(8000)
    expect(backoffDelay(20, 1000, 30_000, () => 1)).toBe(30_000)
  })
})
