import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { childEnv } from '../../src/config/child-env.js'
import { removeStaleSocket } from '../../src/control/server.js'
import { writeAtomic } from '../../src/util/files.js'

describe('what the programs a node starts get of its environment', () => {
  const node = { PATH: '/usr/bin', HOME: '/home/p2p', LANG: 'C.UTF-8', LC_ALL: 'C', P2P_API_TOKEN: 'secret', AWS_SECRET_ACCESS_KEY: 'x', POD_NAME: 'w-0', POD_IP: '10.0.0.5', MY_APP_MODE: 'fast', MY_APP_LEVEL: '2' }
  it('what any program needs, and nothing else by default', () => {
    expect(childEnv(node)).toEqual({ PATH: '/usr/bin', HOME: '/home/p2p', LANG: 'C.UTF-8', LC_ALL: 'C' })
  })
  it('node.pass_env adds names and prefixes', () => {
    expect(childEnv(node, ['POD_NAME', 'MY_APP_*'])).toEqual({ PATH: '/usr/bin', HOME: '/home/p2p', LANG: 'C.UTF-8', LC_ALL: 'C', POD_NAME: 'w-0', MY_APP_MODE: 'fast', MY_APP_LEVEL: '2' })
  })
})

describe('local files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('writeAtomic: 0600 files in 0700 folders, or the mode asked for', () => {
    writeAtomic(join(dir, 'new', 'state.json'), Buffer.from('{}'))
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'new', 'state.json')).mode & 0o777).toBe(0o600)
    writeAtomic(join(dir, 'new', 'shared.txt'), Buffer.from('x'), 0o640)
    expect(statSync(join(dir, 'new', 'shared.txt')).mode & 0o777).toBe(0o640)
  })

  it('the control socket path: a stale socket is removed; a file, a link or a live socket is not', async () => {
    const file = join(dir, 'not-a-socket')
    writeFileSync(file, 'precious')
    await expect(removeStaleSocket(file)).rejects.toThrow(/exists and is not a socket/)
    expect(existsSync(file)).toBe(true)
    const link = join(dir, 'link')
    symlinkSync(file, link)
    await expect(removeStaleSocket(link)).rejects.toThrow(/not a socket/)
    // a daemon's socket: live while it runs, stale once it was killed (kill -9 leaves the file)
    const sock = join(dir, 'control.sock')
    const daemon = spawn(process.execPath, ['-e', `require('node:net').createServer(() => {}).listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise(resolve => daemon.stdout.once('data', resolve))
    await expect(removeStaleSocket(sock)).rejects.toThrow(/a daemon already answers/)
    daemon.kill('SIGKILL')
    await new Promise(resolve => daemon.once('exit', resolve))
    expect(existsSync(sock)).toBe(true)
    await removeStaleSocket(sock)
    expect(existsSync(sock)).toBe(false)
    await removeStaleSocket(join(dir, 'nothing-here'))
  })
})
