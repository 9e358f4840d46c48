// Runs inside a NAT lab host (bench/nat.mjs starts it there): one side of a simultaneous-open trial, the
// primitive hole punching rests on. Listens on 4001 (TCP, and QUIC when @chainsafe/libp2p-quic is installed),
// waits for the other side's peer id and the start signal, then dials the other side's router on 4001 at the
// same moment as the other side dials it. Prints one JSON line per transport.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const [me, other, otherRouter, dir] = process.argv.slice(2)
const quic = await import('@chainsafe/libp2p-quic').then(m => m.quic, () => undefined)
const node = await createLibp2p({
  addresses: { listen: ['/ip4/0.0.0.0/tcp/4001', ...(quic != null ? ['/ip4/0.0.0.0/udp/4001/quic-v1'] : [])] },
  transports: [tcp(), ...(quic != null ? [quic()] : [])],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false }
})
writeFileSync(`${dir}/${me}.id`, node.peerId.toString())
const deadline = Date.now() + 30_000
while ((!existsSync(`${dir}/${other}.id`) || !existsSync(`${dir}/go`)) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
const id = readFileSync(`${dir}/${other}.id`, 'utf8')
const trials = [['tcp', `/ip4/${otherRouter}/tcp/4001/p2p/${id}`], ...(quic != null ? [['quic', `/ip4/${otherRouter}/udp/4001/quic-v1/p2p/${id}`]] : [])]
const out = {}
await Promise.all(trials.map(async ([name, addr]) => {
  const t0 = Date.now()
  try {
    await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000), force: true })
    out[name] = { ok: true, ms: Date.now() - t0 }
  } catch (err) {
    out[name] = { ok: false, ms: Date.now() - t0, error: err.name }
  }
}))
console.log(JSON.stringify(out))
await node.stop()
process.exit(0)
