// The in-process tier: whole nodes (P2PNode, every subsystem) in the test's own process, over real TCP on
// 127.0.0.1 — as kad-dht's test helper runs many DHTs in one process. Starts in well under a second per node and
// lets a test reach into a node (its submitter, membership, metrics) where a process would need the control
// socket. Processes, network namespaces and browsers are the e2e tier (test/e2e).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import pWaitFor from 'p-wait-for'
import { parseConfig } from '../../src/config/load.js'
import { P2PNode } from '../../src/p2p-node.js'
import { silentLogger } from './fixtures.js'
import type { PeerView } from '../../src/messages/api.js'

export interface NodeOptions {
  role?: 'bootstrap' | 'relay' | 'worker'
  capabilities?: string[]
  /** more config (YAML keys as the node takes them), merged over the defaults below */
  config?: Record<string, Record<string, unknown>>
}

export interface InProcessNodes {
  nodes: P2PNode[]
  dir: string
}

/**
 * Starts `n` nodes (the first a bootstrap unless `opts` says otherwise, the rest workers with `echo`) on
 * 127.0.0.1, each with its own data dir, mDNS and metrics off, a 500 ms heartbeat. They are not connected:
 * `connect` them.
 */
export async function createNodes (n: number, opts: (i: number) => NodeOptions = i => ({ role: i === 0 ? 'bootstrap' : 'worker' })): Promise<InProcessNodes> {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-inproc-'))
  const nodes: P2PNode[] = []
  try {
    for (let i = 0; i < n; i++) {
      const o = opts(i)
      const base = {
        node: { role: o.role ?? 'worker', name: `n${i}`, listen_host: '127.0.0.1', listen_port: 0, heartbeat_interval: '500ms', data_dir: join(dir, `n${i}`), capabilities: o.capabilities ?? [] },
        network: { enable_mdns: false, enable_relay: false, protocol_version: 'p2p-inproc' },
        metrics: { enabled: false }
      }
      const merged: Record<string, Record<string, unknown>> = { ...base }
      for (const [section, keys] of Object.entries(o.config ?? {})) merged[section] = { ...(merged[section] ?? {}), ...keys }
      const node = await P2PNode.create(parseConfig(stringify(merged), { file: join(dir, `n${i}.yaml`) }), silentLogger())
      await node.start()
      nodes.push(node)
    }
  } catch (err) {
    await teardown({ nodes, dir })
    throw err
  }
  return { nodes, dir }
}

/** dials `b` from `a` (at its listen address) and waits until each lists the other as a live member */
export async function connect (a: P2PNode, b: P2PNode, timeoutMs = 15_000): Promise<void> {
  await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
  await pWaitFor(async () => await knows(a, b) && await knows(b, a), { timeout: timeoutMs, interval: 50 })
}

/** `a` lists `b` as a live member (what `peers` shows) */
export async function knows (a: P2PNode, b: P2PNode): Promise<boolean> {
  const peers = await a.commands.peers([]) as PeerView[]
  return peers.some(p => p.peerId === b.peerId && p.state === 'alive')
}

/** stops every node (in reverse) and removes their data dirs */
export async function teardown (set: InProcessNodes): Promise<void> {
  for (const node of [...set.nodes].reverse()) await node.stop().catch(() => {})
  rmSync(set.dir, { recursive: true, force: true })
}
