import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, dnsAddr, LAUNCHER, type TestNode } from '../harness/cluster.js'
import { intervals, overlaps, readStamps, termRegressions } from '../harness/failover-log.js'

// One group of three workers runs two services: `prog` (health check, hooks, state file, restart policy) and
// `dry` (dry_run). The program stamps a shared log (the overlap checker's input) and, like a validator with
// its tower file, keeps a state file; hooks and program starts/stops append `event ...` lines to another log.
const PROGRAM = `
echo "event program-start $WHO $P2P_FAILOVER_TERM $(cat "$STATE" 2>/dev/null)" >> "$DIR/events.log"
n=0
trap 'echo "final $WHO $P2P_FAILOVER_TERM $n" > "$STATE"; echo "event program-stop $WHO $P2P_FAILOVER_TERM" >> "$DIR/events.log"; exit 0' TERM
while :; do
  n=$((n+1))
  echo "$WHO $(date +%s%3N) $P2P_FAILOVER_TERM" >> "$DIR/prog.log"
  echo "run $WHO $P2P_FAILOVER_TERM $n" > "$STATE"
  if [ -e "$DIR/crash-$WHO" ]; then echo "event program-crash $WHO $P2P_FAILOVER_TERM" >> "$DIR/events.log"; exit 3; fi
  sleep 0.02
done`
const hook = (event: string): string => `echo "event hook-${event} $WHO $P2P_FAILOVER_TERM" >> "$DIR/events.log"`

interface Event { kind: string, who: string, term: number, rest: string }

describe('failover: health checks, hooks, restart policy, state file, dry run (real processes)', () => {
  const cluster = new Cluster()
  const dir = cluster.dir
  let w: TestNode[]
  const events = (): Event[] => {
    let text = ''
    try { text = readFileSync(join(dir, 'events.log'), 'utf8') } catch {}
    return text.split('\n').filter(l => l.startsWith('event ')).map(l => {
      const [, kind, who, term, ...rest] = l.split(' ')
      return { kind, who, term: Number(term), rest: rest.join(' ') }
    })
  }
  const stamps = (): ReturnType<typeof readStamps> => readStamps(join(dir, 'prog.log'))
  const activeNow = (): string | undefined => stamps().filter(s => s.ms > Date.now() - 100).at(-1)?.who
  const noOverlap = (): void => {
    const list = intervals(stamps())
    expect(overlaps(list).map(p => JSON.stringify(p))).toEqual([])
    expect(termRegressions(list)).toEqual([])
  }
  const status = async (n: TestNode, service = 'prog'): Promise<any> => ((await n.request('failover')) as any[]).find(s => s.service === service)
  const touch = (name: string): void => { writeFileSync(join(dir, name), '') }
  const rm = (name: string): void => { rmSync(join(dir, name), { force: true }) }
  /** the kinds of `who`'s events in `term`, in log order */
  const kindsOf = (who: string, term: number): string[] => events().filter(e => e.who === who && e.term === term).map(e => e.kind)
  const hooksOf = (who: string, term: number): string[] => kindsOf(who, term).filter(k => k.startsWith('hook-')).map(k => k.slice(5))

  beforeAll(async () => {
    const boot = cluster.add({ name: 'ff-boot', role: 'bootstrap', mesh: false, heartbeat: '500ms' })
    await boot.start()
    w = [['w1', 300], ['w2', 200], ['w3', 100]].map(([name, priority]) => cluster.add({
      name: `ff-${name as string}`, role: 'worker', bootstrap: [dnsAddr(boot)], heartbeat: '500ms',
      extra: {
        failover: {
          services: [{
            // hooks and checks spawn processes on a 2-core box shared by four nodes: a 1 s lease leaves room
            name: 'prog', priority, group_size: 3, open_group: true, heartbeat_interval: '100ms', misses: 3, lease: '1s', preempt_delay: '1s', stop_timeout: '2s',
            command: PROGRAM,
            env: { WHO: name as string, DIR: dir, STATE: join(dir, `state-${name as string}`) },
            health_check: { command: `test ! -e "$DIR/sick-$WHO"`, interval: '100ms', timeout: '1s', rise: 2, fall: 2 },
            hooks: {
              before_active: { command: `[ ! -e "$DIR/nohook-$WHO" ] && ${hook('before_active')}` },
              after_active: hook('after_active'),
              before_passive: hook('before_passive'),
              after_passive: [hook('after_passive')]
            },
            restart: { max_restarts: 2, window: '3s', delay: '100ms' },
            state: { path: join(dir, `state-${name as string}`), interval: '100ms' }
          }, {
            name: 'dry', priority, group_size: 3, open_group: true, heartbeat_interval: '100ms', dry_run: true,
            command: ['sh', '-c', `touch ${join(dir, 'dry-ran')}`],
            hooks: { before_active: `touch ${join(dir, 'dry-hook-ran')}` }
          }]
        }
      }
    }))
    await Promise.all(w.map(async n => { await n.start() }))
  })
  afterAll(async () => { await cluster.teardown() })

  it('startup: every member runs its passive hooks; the best member runs before_active, starts, then after_active', async () => {
    await pWaitFor(() => activeNow() === 'w1', { interval: 50, timeout: 30_000 })
    await pWaitFor(() => events().some(e => e.kind === 'hook-after_active' && e.who === 'w1'), { interval: 50, timeout: 10_000 })
    for (const who of ['w1', 'w2', 'w3']) expect(events().find(e => e.who === who), JSON.stringify(events())).toMatchObject({ kind: 'hook-after_passive', term: 0 })
    const st = await status(w[0])
    expect(st).toMatchObject({ running: true, program: 'running', health: { healthy: true, check: 'exit 0' } })
    expect(hooksOf('w1', st.term)).toEqual(['before_active', 'after_active'])
    expect(kindsOf('w1', st.term).indexOf('program-start')).toBeGreaterThan(kindsOf('w1', st.term).indexOf('hook-before_active'))
    noOverlap()
  })

  it('dry run: the election runs, one member is active, but nothing is started', async () => {
    // settled: the best member holds it and the others name it (a lower one may win first, then be preempted)
    let all: any[] = []
    await pWaitFor(async () => {
      all = await Promise.all(w.map(async n => await status(n, 'dry')))
      return all[0].running && all.slice(1).every(s => !s.running && s.active === w[0].peerId)
    }, { interval: 100, timeout: 30_000 })
    expect(all.filter(s => s.running)).toHaveLength(1)
    expect(all.find(s => s.running)).toMatchObject({ program: 'dry-run', dryRun: true })
    const holder = w[all.findIndex(s => s.running)]
    expect(readFileSync(holder.logFile, 'utf8')).toMatch(/dry run: would start the program/)
    expect(readFileSync(holder.logFile, 'utf8')).toMatch(/dry run: would run the hook/)
    expect(() => readFileSync(join(dir, 'dry-ran'))).toThrow()
    expect(() => readFileSync(join(dir, 'dry-hook-ran'))).toThrow()
  })

  it('health check failing `fall` times hands off: passive hooks around the stop, state restored on the next member', async () => {
    const term = (await status(w[0])).term
    touch('sick-w1')
    await pWaitFor(() => activeNow() === 'w2', { interval: 20, timeout: 30_000 })
    await pWaitFor(() => hooksOf('w1', term).includes('after_passive'), { interval: 20, timeout: 10_000 })
    expect(hooksOf('w1', term), JSON.stringify(events())).toEqual(['before_active', 'after_active', 'before_passive', 'after_passive'])
    // the program stopped between the passive hooks
    const k = kindsOf('w1', term)
    expect(k.indexOf('program-stop')).toBeGreaterThan(k.indexOf('hook-before_passive'))
    expect(k.indexOf('program-stop')).toBeLessThan(k.indexOf('hook-after_passive'))
    const st1 = await status(w[0])
    expect(st1).toMatchObject({ running: false, health: { healthy: false } })
    expect(await w[0].metric('p2p_failover_transitions_total{service="prog",reason="health"}')).toBe(1)
    // the state file w1's program left at its stop is what w2's program found at its start
    const final = readFileSync(join(dir, 'state-w1'), 'utf8').trim()
    expect(final).toMatch(/^final w1 \d+ \d+$/)
    const start = events().filter(e => e.who === 'w2' && e.kind === 'program-start').at(-1)!
    expect(start.rest).toBe(final)
    expect(start.term).toBeGreaterThan(term)
    noOverlap()
  })

  it('recovery: `rise` passing checks, then the preempt delay, and w1 takes the service back with w2\'s state', async () => {
    const w2Term = (await status(w[1])).term
    rm('sick-w1')
    await pWaitFor(() => activeNow() === 'w1', { interval: 20, timeout: 30_000 })
    const start = events().filter(e => e.who === 'w1' && e.kind === 'program-start').at(-1)!
    // while w1 runs, its state file reaches the standbys every state.interval (what a kill -9 would leave them)
    const w1Term = (await status(w[0])).term
    await pWaitFor(async () => (await Promise.all([w[1], w[2]].map(async n => await status(n)))).every(s => s.stateFile?.term === w1Term && s.stateFile.version >= 3), { interval: 100, timeout: 10_000 })
    expect(start.rest, `w2 term ${w2Term}; ${JSON.stringify(events())}; ${JSON.stringify(intervals(stamps()))}`).toBe(`final w2 ${w2Term} ${readFileSync(join(dir, 'state-w2'), 'utf8').trim().split(' ').at(-1)}`)
    noOverlap()
  })

  it('`p2p-node failover handoff` moves the service on purpose, with the final state; a standby refuses it', async () => {
    const term = (await status(w[0])).term
    const cli = (n: TestNode, ...args: string[]): { code: number | null, out: string } => {
      const r = spawnSync(LAUNCHER, [...args, '--config', n.configFile], { encoding: 'utf8' })
      return { code: r.status, out: `${r.stdout}${r.stderr}` }
    }
    const unknown = cli(w[2], 'failover', 'handoff', 'nope')
    expect(unknown.code, unknown.out).toBe(2)
    expect(unknown.out).toMatch(/no failover service "nope" on this node/)
    const refused = cli(w[2], 'failover', 'handoff', 'prog')
    expect(refused.code, refused.out).toBe(1)
    expect(refused.out).toMatch(/prog is not active on this member/)
    const moved = cli(w[0], 'failover', 'handoff', 'prog')
    expect(moved.code, moved.out).toBe(0)
    expect(moved.out).toMatch(new RegExp(`prog: released \\(term ${term}\\)`))
    await pWaitFor(() => activeNow() === 'w2', { interval: 20, timeout: 30_000 })
    const start = events().filter(e => e.who === 'w2' && e.kind === 'program-start').at(-1)!
    expect(start.rest).toBe(readFileSync(join(dir, 'state-w1'), 'utf8').trim())
    expect(await w[0].metric('p2p_failover_transitions_total{service="prog",reason="handoff"}')).toBe(1)
    // --json from a bystander (w1 takes the service back soon, so its own view moves on quickly): the status
    // names the active from its latest fresh beat, which under load can take a moment
    let json: any
    await pWaitFor(() => { json = JSON.parse(cli(w[2], 'failover', '--json').out); return [w[0].peerId, w[1].peerId].includes(json[0].active) }, { interval: 100, timeout: 10_000 })
    expect(json[0]).toMatchObject({ service: 'prog', running: false, priority: 100 })
    expect(json[0].members.map((m: any) => m.priority).sort()).toEqual([200, 300])
    // held down, then it takes the service back after the preempt delay
    await pWaitFor(() => activeNow() === 'w1', { interval: 50, timeout: 30_000 })
    noOverlap()
  })

  it('a program that keeps crashing is restarted max_restarts times in the same term, then the member hands off', async () => {
    const term = (await status(w[0])).term
    touch('crash-w1')
    await pWaitFor(() => activeNow() === 'w2', { interval: 20, timeout: 30_000 })
    rm('crash-w1')
    // 1 start + 2 restarts, all in w1's term; then the hand-off
    expect(events().filter(e => e.who === 'w1' && e.term === term && e.kind === 'program-crash')).toHaveLength(3)
    expect(await w[0].metric('p2p_failover_restarts_total{service="prog"}')).toBe(2)
    expect(await w[0].metric('p2p_failover_transitions_total{service="prog",reason="crash_loop"}')).toBe(1)
    const st = await status(w[0])
    expect(st.running).toBe(false)
    expect(st.health.holdMs).toBeGreaterThan(0)
    noOverlap()
    // after the crash window it is healthy again and preempts back
    await pWaitFor(() => activeNow() === 'w1', { interval: 50, timeout: 30_000 })
    noOverlap()
  })

  it('a failing must-succeed before_active hook aborts the promotion; the member undoes it with its passive hooks', async () => {
    touch('nohook-w2')
    const stoppedAt = Date.now()
    w[0].kill('SIGTERM')
    await w[0].exit
    await pWaitFor(() => activeNow() === 'w3', { interval: 20, timeout: 30_000 })
    // w2 was next: its hook failed, it never started the program, it ran its passive hooks for that term
    expect(stamps().some(s => s.who === 'w2' && s.ms > stoppedAt)).toBe(false)
    await pWaitFor(() => events().some(e => e.who === 'w2' && e.kind === 'hook-after_passive' && e.term > 0 && !kindsOf('w2', e.term).includes('program-start')), { interval: 20, timeout: 10_000 })
    const failed = events().filter(e => e.who === 'w2' && e.kind === 'hook-after_passive').at(-1)!
    expect(kindsOf('w2', failed.term), JSON.stringify(events())).toEqual(['hook-before_passive', 'hook-after_passive'])
    expect(readFileSync(w[1].logFile, 'utf8')).toMatch(/a must-succeed before_active hook failed/)
    expect(await w[1].metric('p2p_failover_transitions_total{service="prog",reason="hook_failed"}')).toBeGreaterThanOrEqual(1)
    rm('nohook-w2')
    noOverlap()
  })
})
