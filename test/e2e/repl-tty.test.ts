import pWaitFor from 'p-wait-for'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, LAUNCHER, ROOT, dnsAddr, type TestNode } from '../harness/cluster.js'
import { hasTmux, Terminal } from '../helpers/tmux.js'

describe.skipIf(!hasTmux())('the interactive REPL in a terminal (tmux; skipped without tmux)', () => {
  const cluster = new Cluster()
  const terminals: Terminal[] = []
  let bootstrap: TestNode
  let worker: TestNode

  beforeAll(async () => {
    bootstrap = cluster.add({ name: 'tty-bootstrap', role: 'bootstrap', mesh: false })
    await bootstrap.start()
    worker = cluster.add({
      name: 'tty-worker', role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(bootstrap)],
      extra: { tasks: { handlers: { ticking: { command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'], capability: 'compute', timeout: '5m' } } } }
    })
    await worker.start()
    await pWaitFor(async () => (await worker.peers()).some(p => p.peerId === bootstrap.peerId && p.state === 'alive'), { interval: 200, timeout: 30_000 })
  })
  afterAll(async () => {
    for (const t of terminals) t.close()
    await cluster.teardown()
  })

  it('attaches to the running daemon, completes with Tab, recalls history, and quit leaves the daemon running', async () => {
    const t = new Terminal([LAUNCHER, '--config', worker.configFile], ROOT)
    terminals.push(t)
    await t.waitFor(/attached to the running worker tty-worker/)
    await t.waitFor(/tty-worker>\s*$/m)
    t.type('pe')
    t.key('Tab')
    await t.waitFor(/tty-worker> peers/)
    t.key('Enter')
    await t.waitFor(/tty-bootstrap\s+bootstrap\s+alive/)
    t.type('status')
    t.key('Enter')
    await t.waitFor(/health\s+ready/)
    // Up twice recalls `peers` from history
    t.key('Up')
    t.key('Up')
    await t.waitFor(/tty-worker> peers\s*$/m)
    t.key('C-u')
    t.type('quit')
    t.key('Enter')
    await pWaitFor(() => !t.alive(), { interval: 100, timeout: 10_000 })
    expect(worker.proc?.exitCode).toBeNull()
    expect((await worker.request('status') as any).name).toBe('tty-worker')
  })

  it('task --follow prints lines as they come, and task cancel typed while it follows stops it', async () => {
    const t = new Terminal([LAUNCHER, '--config', worker.configFile], ROOT)
    terminals.push(t)
    await t.waitFor(/tty-worker>\s*$/m)
    t.type('task ticking go --follow')
    t.key('Enter')
    const screen = await t.waitFor(/\[tty-worker\] tick 3/)
    const id = /task (\S+) accepted/.exec(screen)![1]
    // the prompt is held by the followed task; a cancel still runs at once
    t.type(`task cancel ${id}`)
    t.key('Enter')
    await t.waitFor(new RegExp(`task ${id} \\(ticking\\): cancelled`))
    await t.waitFor(/cancelled while running/)
    await t.waitFor(/tty-worker>\s*$/m)
    expect((await worker.request('tasks') as any[]).find(x => x.id === id)?.state).toBe('cancelled')
    // the task's end is printed once (by the follow), not a second time by the cancel
    expect(t.screen().split(`task ${id} (ticking): cancelled`).length - 1).toBe(1)
    t.type('quit')
    t.key('Enter')
    await pWaitFor(() => !t.alive(), { interval: 100, timeout: 10_000 })
  })

  it('Ctrl-C while a task is followed cancels it and gives the prompt back; Ctrl-C at the prompt clears the line', async () => {
    const t = new Terminal([LAUNCHER, '--config', worker.configFile], ROOT)
    terminals.push(t)
    await t.waitFor(/quit, exit or Ctrl-D leaves; the node keeps running/)
    await t.waitFor(/tty-worker>\s*$/m)
    t.type('task ticking go --follow')
    t.key('Enter')
    const screen = await t.waitFor(/\[tty-worker\] tick 2/)
    const id = /task (\S+) accepted/.exec(screen)![1]
    t.key('C-c')
    await t.waitFor(new RegExp(`\\^C cancelling task ${id}`))
    await t.waitFor(new RegExp(`task ${id} \\(ticking\\): cancelled`))
    await t.waitFor(/tty-worker>\s*$/m)
    expect((await worker.request('tasks') as any[]).find(x => x.id === id)?.state).toBe('cancelled')
    // the prompt works: a half-typed line, Ctrl-C, and the next command runs alone
    t.type('peerz --bogus')
    t.key('C-c')
    await t.waitFor(/tty-worker> peerz --bogus\^C\s*\n\s*tty-worker>\s*$/)
    t.type('status')
    t.key('Enter')
    await t.waitFor(/health\s+ready/)
    expect(t.screen()).not.toMatch(/unknown command: peerz/)
    // at an empty prompt Ctrl-C says how to leave, and does not
    t.key('C-c')
    await t.waitFor(/\^C \(quit, exit or Ctrl-D leaves\)/)
    expect(t.alive()).toBe(true)
    t.key('C-d')
    await pWaitFor(() => !t.alive(), { interval: 100, timeout: 10_000 })
    expect(worker.proc?.exitCode).toBeNull()
  })

  it('Ctrl-D while a task is followed leaves at once, saying the task goes on', async () => {
    const t = new Terminal(['sh', '-c', `${LAUNCHER} --config ${worker.configFile}; echo "repl exited $?"; sleep 30`], ROOT)
    terminals.push(t)
    await t.waitFor(/tty-worker>\s*$/m)
    t.type('task ticking go --follow')
    t.key('Enter')
    const screen = await t.waitFor(/\[tty-worker\] tick 2/)
    const id = /task (\S+) accepted/.exec(screen)![1]
    t.key('C-d')
    await t.waitFor(new RegExp(`leaving; task ${id} goes on \\(task cancel ${id} stops it\\)`))
    await t.waitFor(/repl exited 0/)
    expect((await worker.request('tasks') as any[]).find(x => x.id === id)?.state).toBe('running')
    expect((await worker.request('task', ['cancel', id]) as any).state).toBe('cancelled')
  })

  it('with no daemon running, starts the node with its own REPL; quit stops the node', async () => {
    const solo = cluster.add({ name: 'tty-solo', role: 'worker', bootstrap: [dnsAddr(bootstrap)] })
    const t = new Terminal([LAUNCHER, '--config', solo.configFile], ROOT)
    terminals.push(t)
    await t.waitFor(/p2p-node worker tty-solo \(12D3KooW\w+\); type help\. This REPL runs the node: quit, exit or Ctrl-D stops it/)
    await pWaitFor(async () => (await bootstrap.peers()).some(p => p.name === 'tty-solo' && p.state === 'alive'), { interval: 200, timeout: 30_000 })
    t.type('help')
    t.key('Enter')
    await t.waitFor(/capabilities \[--json\]/)
    t.type('quit')
    t.key('Enter')
    await pWaitFor(() => !t.alive(), { interval: 100, timeout: 20_000 })
    await pWaitFor(async () => (await bootstrap.peers()).find(p => p.name === 'tty-solo')?.state === 'gone', { interval: 200, timeout: 30_000 })
  })
})
