import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import pWaitFor from 'p-wait-for'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/cluster.js'

const DRIVER = join(ROOT, 'test/helpers/watchdog-driver.mjs')
const dir = mkdtempSync(join(tmpdir(), 'p2p-watchdog-'))

/** a process and its descendants count as running until they are gone or zombies */
function running (pid: number): boolean {
  try {
    process.kill(pid, 0)
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
    return state !== 'Z'
  } catch { return false }
}

interface Driven { driver: ChildProcess, pgid: number, watchdog: number, grandchild: number, events: any[] }
const started: Driven[] = []

/** the supervised program: leaves a grandchild behind it, logs a graceful stop unless told to ignore SIGTERM */
async function drive (name: string, leaseMs: number, renewMs: number, ignoreTerm = false, prelude = ''): Promise<Driven> {
  const pidFile = join(dir, `${name}.child`)
  const log = join(dir, `${name}.log`)
  const script = `${prelude !== '' ? `${prelude}; ` : ''}sleep 1000 & echo $! > ${pidFile}; trap ${ignoreTerm ? '""' : `"echo stopped >> ${log}; kill $!; exit 0"`} TERM; echo start >> ${log}; while :; do sleep 0.05; done`
  const driver = spawn(process.execPath, [DRIVER, String(leaseMs), String(renewMs), 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const events: any[] = []
  const first = await new Promise<any>((resolve, reject) => {
    const rl = createInterface({ input: driver.stdout! })
    rl.on('line', l => { const e = JSON.parse(l); if (e.pgid != null) resolve(e); else events.push(e) })
    driver.once('exit', code => { reject(new Error(`driver exited ${code}`)) })
  })
  await pWaitFor(() => { try { return Number(readFileSync(pidFile, 'utf8')) > 0 } catch { return false } }, { interval: 10, timeout: 10_000 })
  const d = { driver, pgid: first.pgid, watchdog: first.watchdog, grandchild: Number(readFileSync(pidFile, 'utf8')), events }
  started.push(d)
  return d
}

const gone = async (d: Driven, timeoutMs = 5000): Promise<void> => {
  await pWaitFor(() => !running(d.pgid) && !running(d.grandchild), { interval: 5, timeout: { milliseconds: timeoutMs, message: 'the program outlived its lease' } })
}

describe('the lease watchdog (real processes)', () => {
  afterEach(() => {
    for (const d of started.splice(0)) {
      try { process.kill(d.driver.pid!, 'SIGCONT') } catch {}
      d.driver.kill('SIGKILL')
      for (const pid of [d.grandchild, d.watchdog]) { try { process.kill(pid, 'SIGKILL') } catch {} }
      try { process.kill(-d.pgid, 'SIGKILL') } catch {}
    }
  })
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('renewals keep the program running past many leases', async () => {
    const d = await drive('renewed', 300, 50)
    const t0 = Date.now()
    await pWaitFor(() => Date.now() - t0 > 1500 || !running(d.pgid), { interval: 50, timeout: 5000 })
    expect(running(d.pgid)).toBe(true)
    expect(running(d.grandchild)).toBe(true)
  })

  it('a frozen supervisor (SIGSTOP) cannot keep the program running past its lease', async () => {
    const d = await drive('frozen', 400, 50)
    d.driver.kill('SIGSTOP')
    const stoppedAt = Date.now()
    await gone(d)
    const after = Date.now() - stoppedAt
    console.log(`watchdog: program group gone ${after} ms after the supervisor froze (lease 400 ms)`)
    // never before the lease the supervisor last granted could have run out (renewed at most 50 ms earlier)
    expect(after).toBeGreaterThanOrEqual(300)
  })

  it('a SIGKILLed supervisor leaves no orphan: the group goes at once', async () => {
    const d = await drive('killed', 60_000, 1000)
    d.driver.kill('SIGKILL')
    await gone(d, 3000)
  })

  it('a SIGKILLed watchdog is noticed by the supervisor, which kills the group itself', async () => {
    const d = await drive('watchdog-killed', 60_000, 1000)
    process.kill(d.watchdog, 'SIGKILL')
    await gone(d, 3000)
  })

  it('without renewals the lease expires: fenced, the whole group gone', async () => {
    const d = await drive('expired', 300, 0)
    await gone(d)
    await pWaitFor(() => d.events.some(e => e.event === 'fenced' && e.reason === 'lease expired'), { interval: 10, timeout: 2000 })
  })

  it('nothing the program prints can pass for a watchdog event (a fake "fenced" would free the service while it runs)', async () => {
    const d = await drive('spoof', 60_000, 1000, false, 'echo \'{"event":"fenced","reason":"spoofed"}\'; echo \'{"event":"gone"}\'; echo \'{"event":"exited","code":0}\'')
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(d.events.filter(e => e.event !== 'ready')).toEqual([])
    expect(running(d.pgid)).toBe(true)
  })

  it('stop asks politely first, then SIGKILLs what ignores it', async () => {
    const polite = await drive('polite', 60_000, 1000)
    polite.driver.stdin!.write('stop\n')
    await gone(polite)
    expect(readFileSync(join(dir, 'polite.log'), 'utf8')).toBe('start\nstopped\n')
    const stubborn = await drive('stubborn', 60_000, 1000, true)
    stubborn.driver.stdin!.write('stop\n')
    await gone(stubborn)
    expect(readFileSync(join(dir, 'stubborn.log'), 'utf8')).toBe('start\n')
  })
})
