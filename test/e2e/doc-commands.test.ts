// The docs' own check that they say what the code does: every shell command in a fenced `sh` block of the
// README and of docs/ runs as typed against the local network `./start.sh` starts, and exits 0. A block that
// cannot run here says why in a `<!-- not run: … -->` comment right above it (a Kubernetes cluster, a sample
// session). REPL lines (`p2p> …`, `worker-1> …`) are typed into that node's REPL; a documented placeholder
// (`<id>`) is the id the block's previous command printed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/cluster.js'

interface Block { file: string, line: number, notRun?: string, commands: string[] }

function markdownFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [])
}

/** the fenced sh blocks of a markdown file: their commands (comments and continuation lines joined) */
export function shellBlocks (file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash)\s*$/.test(lines[i])) continue
    const notRun = /^<!-- not run: (.+) -->$/.exec(lines[i - 1] ?? '')?.[1]
    const commands: string[] = []
    let j = i + 1
    for (; j < lines.length && !lines[j].startsWith('```'); j++) {
      let line = lines[j]
      while (line.endsWith('\\') && j + 1 < lines.length) line = line.slice(0, -1) + lines[++j].trim()
      // a trailing comment explains the command; a line that is all comment is the docs' own text
      const cmd = line.replace(/\s+#\s.*$/, '').trim()
      if (cmd === '' || cmd.startsWith('#')) continue
      commands.push(cmd)
    }
    blocks.push({ file: relative(ROOT, file), line: i + 1, notRun, commands })
    i = j
  }
  return blocks
}

const FILES = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))]
const BLOCKS = FILES.flatMap(shellBlocks)
const LOCAL = /^(\w[\w-]*)> (.*)$/

function run (cmd: string): { code: number, out: string } {
  try {
    return { code: 0, out: execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: ROOT, encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'pipe'] }) }
  } catch (err: any) {
    return { code: err.status ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }
  }
}

describe('every shell command in the docs runs as typed (./start.sh\'s network; real processes)', () => {
  let network: ChildProcess | undefined

  beforeAll(async () => {
    network = spawn('./start.sh', ['--no-repl'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    let out = ''
    network.stdout!.on('data', d => { out += String(d) })
    await pWaitFor(() => /running; Ctrl-C stops the network/.test(out), { interval: 200, timeout: { milliseconds: 120_000, message: `the local network did not start:\n${out}` } })
  }, 150_000)
  afterAll(async () => {
    if (network?.pid == null) return
    process.kill(-network.pid, 'SIGINT')
    await new Promise(resolve => { network!.once('exit', resolve); setTimeout(resolve, 20_000) })
  })

  it('the docs have commands, and every block that is not run says why', () => {
    expect(BLOCKS.filter(b => b.notRun == null).flatMap(b => b.commands).length).toBeGreaterThan(10)
    for (const b of BLOCKS.filter(b => b.notRun != null)) expect(b.notRun!.length, `${b.file}:${b.line}`).toBeGreaterThan(10)
    // nothing runs a bare `p2p-node` or `node` (not on the PATH of a fresh clone, or the machine's Node 20)
    for (const b of BLOCKS) for (const c of b.commands) expect(c, `${b.file}:${b.line}`).not.toMatch(/(^|[|;&]\s*)(p2p-node|node) /)
  })

  for (const block of BLOCKS.filter(b => b.notRun == null)) {
    it(`${block.file}:${block.line}`, () => {
      let lastId: string | undefined
      for (const typed of block.commands) {
        const repl = LOCAL.exec(typed)
        const line = (repl != null ? repl[2] : typed).replace(/<id>/g, () => { expect(lastId, `no id printed before: ${typed}`).toBeDefined(); return lastId! })
        // a REPL line goes to that node's REPL (p2p> is worker-1's), as a person types it there
        const node = repl == null ? undefined : repl[1] === 'p2p' ? 'worker-1' : repl[1]
        const cmd = node == null ? line : `printf '%s\\n' ${JSON.stringify(line)} | ./p2p-node --config config/local/${node}.yaml`
        const r = run(cmd)
        expect(r.code, `${typed}\n${r.out}`).toBe(0)
        // a REPL line that fails prints `error:` and the piped REPL exits 1 (caught above); a task that ran and
        // failed is a result like any other there: caught here
        if (repl != null) expect(r.out, typed).not.toMatch(/^(FAILED|CANCELLED)\s/m)
        lastId = /"id"\s*:\s*"([A-Za-z0-9-]+)"/.exec(r.out)?.[1] ?? lastId
      }
    })
  }
})
