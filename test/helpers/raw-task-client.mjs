// A task client that speaks the task stream by hand, for test/e2e/hostile-tasks.test.ts. Two modes:
//  - flood: opens one task stream to `target`, sends `count` echo requests of `size` bytes (each its own id)
//    as fast as the stream takes them, reads nothing, and holds the stream open for `seconds`. Prints how many
//    requests went out before the worker stopped taking them.
//  - ask: sends `requests` ([{ id, type, payload }]) one after another and prints each answer (status, output,
//    error): a client that picks its own task ids.
// (`psk`: a swarm key file, to attack a private network as an insider)
// Usage: node raw-task-client.mjs '<json: { mode, target, pv, dataDir, ... }>'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { Registry } from 'prom-client'
import { parseConfig } from '../../dist/config/load.js'
import { TaskRequest, TaskResponse } from '../../dist/messages/tasks.js'
import { taskResponseDecoder } from '../../dist/tasks/frames.js'
import { streamProtocol } from '../../dist/messages/protocols.js'
import { loadOrCreateIdentity } from '../../dist/libp2p/identity.js'
import { buildLibp2p } from '../../dist/libp2p/libp2p.js'

const opts = JSON.parse(process.argv[2])
const config = parseConfig(`node: { role: bootstrap, name: flood, listen_host: 127.0.0.1, listen_port: 0, data_dir: ${JSON.stringify(opts.dataDir)} }\nnetwork: { protocol_version: ${opts.pv}, enable_mdns: false, enable_relay: false${opts.psk != null ? `, psk_file: ${JSON.stringify(opts.psk)}` : ''} }\n`, { file: `${opts.dataDir}/flood.yaml` })
const { key } = await loadOrCreateIdentity(`${opts.dataDir}/peer.key`)
const libp2p = await buildLibp2p(config, key, new Registry())
await libp2p.start()
const target = multiaddr(opts.target)
await libp2p.dial(target)
const stream = await libp2p.dialProtocol(target, streamProtocol('task', opts.pv))
const request = (id, type, payload) => lp.encode.single(TaskRequest.encode({ id, type, payload, reward: 0n, timeoutMs: 60_000, attempt: 1, submitter: new Uint8Array(), params: new Map(), cancel: false, follow: false }))

if (opts.mode === 'ask') {
  const answers = []
  const decode = taskResponseDecoder(2 * 1024 ** 2)
  let waiting
  stream.addEventListener('message', evt => {
    for (const res of decode(evt.data)) {
      waiting?.({ id: res.id, status: TaskResponse.Status[res.status] ?? String(res.status), output: new TextDecoder().decode(res.result), error: res.error, duplicate: res.duplicate })
    }
  })
  for (const r of opts.requests) {
    const answered = new Promise(resolve => { waiting = resolve })
    stream.send(request(r.id, r.type ?? 'echo', new TextEncoder().encode(r.payload)))
    answers.push(await Promise.race([answered, new Promise(resolve => setTimeout(() => resolve({ id: r.id, status: 'NO_ANSWER' }), 10_000))]))
  }
  process.stdout.write(JSON.stringify({ peerId: libp2p.peerId.toString(), answers }) + '\n')
  await libp2p.stop().catch(() => {})
  process.exit(0)
}

// not reading means not taking: a paused stream stops granting the worker window to send in (Yamux)
stream.pause()
stream.maxReadBufferLength = 64 * 1024 ** 2
const payload = randomBytes(opts.size)
const until = Date.now() + opts.seconds * 1000
let sent = 0
let stalled = false
for (let i = 0; i < opts.count && Date.now() < until; i++) {
  // as a client would: no more than a few MiB handed to the stream ahead of what the worker takes
  while (stream.status === 'open' && stream.writeBufferLength > 4 * 1024 ** 2 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
  if (stream.status !== 'open' || Date.now() >= until) { stalled = true; break }
  stream.send(request(`flood-${i}`, 'echo', payload))
  sent = i + 1
}
const rest = until - Date.now()
if (rest > 0) await new Promise(resolve => setTimeout(resolve, rest))
process.stdout.write(JSON.stringify({ sent, stalled }) + '\n')
stream.abort(new Error('done'))
await libp2p.stop().catch(() => {})
process.exit(0)
