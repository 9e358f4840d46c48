#!/usr/bin/env node
// Across NAT, in network namespaces (root, ip netns, nft): a bootstrap and a relay on the "WAN", a submitting
// worker behind a port-preserving NAT, and three peers for it: behind another port-preserving NAT, behind a
// symmetric NAT, and on a public address. Per peer: time until the submitter lists it (and how it is connected),
// first-task latency, task p50/p99 and throughput, relayed and direct in the same run; DCUtR attempts by outcome;
// and the simultaneous-open trial hole punching rests on (TCP; QUIC too when @chainsafe/libp2p-quic is installed).
// Usage: npm run bench -- nat [--tasks 200] [--concurrency 8] [--bytes 65536]
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pWaitFor from 'p-wait-for'
import { Cluster } from '../build/test/harness/cluster.js'
import { addLabNode, canUseNat, NatLab } from '../build/test/harness/nat.js'
import { cli, number, report, round, summary } from './lib.mjs'

const opts = cli('bench/nat.mjs', 'Relayed vs direct across NATs in network namespaces (needs root, ip netns, nft)', p => p
  .option('--tasks <n>', 'tasks per peer, sequential and then concurrent', number(1), 200)
  .option('--concurrency <n>', 'tasks in flight for the throughput run', number(1), 8)
  .option('--bytes <n>', 'payload bytes per task in the throughput run', number(1), 65536))
if (!canUseNat()) {
  console.error('bench/nat.mjs needs root with ip netns and nft (./scripts/ensure-deps.sh installs nftables)')
  process.exit(2)
}
const here = dirname(fileURLToPath(import.meta.url))
const API = 9090
const inHost = (host, args) => new Promise((resolve, reject) => {
  const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(here, '..') })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.on('exit', code => code === 0 ? resolve(out.trim().split('\n').map(l => JSON.parse(l))) : reject(new Error(`${args[0]} exited ${code}`)))
})

/** both sides of a simultaneous-open trial between two NATed hosts; the dial outcomes per transport */
async function punchTrial (lab, symmetric) {
  const a = lab.site()
  const b = lab.site({ symmetric })
  const dir = mkdtempSync(join(tmpdir(), 'p2p-punch-'))
  const peer = join(here, 'nat-punch-peer.mjs')
  const both = [inHost(a.hosts[0], [peer, 'A', 'B', b.router.ip, dir]), inHost(b.hosts[0], [peer, 'B', 'A', a.router.ip, dir])]
  setTimeout(() => writeFileSync(join(dir, 'go'), ''), 3000)
  const [[ra], [rb]] = await Promise.all(both)
  return Object.fromEntries(Object.keys(ra).map(t => [t, { ok: ra[t].ok && rb[t].ok ? 'both' : ra[t].ok || rb[t].ok ? 'one' : 'none', a: ra[t], b: rb[t] }]))
}

const lab = new NatLab('x')
const cluster = new Cluster()
process.env.TEST_LOG_LEVEL = 'info'
try {
  const hosts = {}
  const add = (name, role, host, extra = {}) => {
    const bootAddr = hosts.boot != null ? [`/ip4/${hosts.boot.ip}/tcp/4001`] : []
    const n = addLabNode(cluster, lab, host, { name, role, bootstrap: bootAddr, extra, apiPort: API })
    hosts[name] = host
    return n
  }
  const boot = add('boot', 'bootstrap', lab.publicHost())
  await boot.start()
  const relay = add('relay', 'relay', lab.publicHost())
  await relay.start()
  // each reached with a capability only it offers
  const names = { 'NAT (port-preserving)': 'nat', 'NAT (symmetric)': 'sym', public: 'pub' }
  const peers = {
    'NAT (port-preserving)': add('nat', 'worker', lab.natHost()),
    'NAT (symmetric)': add('sym', 'worker', lab.natHost({ symmetric: true })),
    public: add('pub', 'worker', lab.publicHost())
  }
  for (const [kind, n] of Object.entries(peers)) n.updateConfig(c => { c.node.capabilities = [names[kind]] })
  await Promise.all(Object.values(peers).map(async n => { await n.start() }))
  // the submitter joins last: the time until it lists each of the others, and how it reaches them
  const sub = add('sub', 'worker', lab.natHost())
  const t0 = performance.now()
  await sub.start()
  const listed = {}
  await pWaitFor(async () => {
    const list = await sub.peers()
    for (const [kind, n] of Object.entries(peers)) {
      const p = list.find(x => x.peerId === n.peerId)
      if (listed[kind] == null && p?.state === 'alive' && p.connection !== 'none') listed[kind] = { ms: performance.now() - t0 }
    }
    return Object.keys(listed).length === Object.keys(peers).length
  }, { interval: 50, timeout: 120_000 })
  // a moment for connections to settle (a relayed connection to the public peer is replaced by a direct one)
  await pWaitFor(async () => (await sub.peers()).find(p => p.peerId === peers.public.peerId)?.connection === 'direct', { interval: 100, timeout: 60_000 })
  const runs = {}
  for (const [kind, n] of Object.entries(peers)) {
    const conn = (await sub.peers()).find(p => p.peerId === n.peerId)
    const [r] = await inHost(hosts.sub, [join(here, 'nat-load.mjs'), API, names[kind], opts.tasks, opts.concurrency, opts.bytes])
    const lat = summary(r.latencies)
    runs[kind] = {
      listedMs: round(listed[kind].ms),
      connection: conn.connection,
      via: conn.via,
      firstTaskMs: round(r.first.ms),
      latencyMs: { p50: round(lat.p50, 2), p99: round(lat.p99, 2) },
      failed: r.seqFailed + r.throughput.failed,
      tasksPerSecond: round(r.throughput.tasks / r.throughput.seconds),
      MiBPerSecond: round(r.throughput.tasks * r.throughput.bytes / r.throughput.seconds / 1024 ** 2, 2),
      ranOn: r.workers
    }
  }
  const dcutr = {}
  for (const [name, n] of Object.entries({ sub, ...Object.fromEntries(Object.entries(peers).map(([k, v]) => [names[k], v])) })) {
    dcutr[name] = Object.fromEntries(await Promise.all(['direct', 'failed', 'no_address'].map(async o => [o, await n.metric(`p2p_dcutr_upgrades_total{outcome="${o}"}`)])))
  }
  const reach = Object.fromEntries(await Promise.all([['sub', sub], ...Object.entries(peers)].map(async ([k, n]) => [k, (await n.request('status')).reachability?.state])))
  const relayBytes = await relay.metric('p2p_relay_data_bytes_total')
  await cluster.teardown()
  const punch = { 'port-preserving': await punchTrial(lab, false), symmetric: await punchTrial(lab, true) }

  report('nat', { machine: { tasks: opts.tasks, concurrency: opts.concurrency, bytes: opts.bytes }, peers: runs, dcutr, reachability: reach, relayDataBytes: relayBytes, simultaneousOpen: punch }, [
    ...Object.entries(runs).flatMap(([kind, r]) => [
      [`${kind}: listed after`, r.listedMs, 'ms', `${r.connection}${r.via != null ? ' via relay' : ''}`],
      [`${kind}: first task`, r.firstTaskMs, 'ms', ''],
      [`${kind}: task p50 / p99`, `${r.latencyMs.p50} / ${r.latencyMs.p99}`, 'ms', `${opts.tasks} sequential echo tasks`],
      [`${kind}: throughput`, r.tasksPerSecond, 'tasks/s', `${r.MiBPerSecond} MiB/s at ${opts.concurrency} in flight, ${opts.bytes} B each; ${r.failed} failed`]
    ]),
    ...Object.entries(dcutr).map(([name, d]) => [`DCUtR on ${name}`, `${d.direct}/${d.failed}/${d.no_address}`, 'direct/failed/no address', '']),
    ['reachability', Object.entries(reach).map(([k, v]) => `${k}: ${v}`).join(', '), '', 'dial back by bootstrap and relay'],
    ['relay carried', round(relayBytes / 1024 ** 2), 'MiB', 'p2p_relay_data_bytes_total'],
    ...Object.entries(punch).flatMap(([nat, byTransport]) => Object.entries(byTransport).map(([t, r]) => [`simultaneous open, NAT + ${nat} NAT, ${t}`, r.ok, 'sides connected', `A ${r.a.ok ? 'ok' : r.a.error} in ${r.a.ms} ms, B ${r.b.ok ? 'ok' : r.b.error} in ${r.b.ms} ms`]))
  ])
} finally {
  await cluster.teardown()
  lab.destroy()
}
