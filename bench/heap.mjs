// Heap snapshots of running nodes and what grew between two of them. Nodes started with
// NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2 write one to their working directory on SIGUSR2.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'

/** Signals `pid` to write a heap snapshot into `dir` (its working directory) and returns the file once complete. */
export async function heapSnapshot (pid, dir) {
  const mine = () => readdirSync(dir).filter(f => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`))
  const before = new Set(mine())
  process.kill(pid, 'SIGUSR2')
  let file
  let size = -1
  // V8 writes the file in one go; it is complete when its size stops changing and it parses as JSON's end
  await pWaitFor(() => {
    file ??= mine().find(f => !before.has(f))
    if (file == null) return false
    const now = statSync(join(dir, file)).size
    const done = now > 0 && now === size && readFileSync(join(dir, file)).subarray(-2).toString().includes('}')
    size = now
    return done
  }, { interval: 500, timeout: 120_000 })
  return join(dir, file)
}

/** bytes and count per kind of object (constructor name for objects and closures, V8's type otherwise) */
export function heapByKind (file) {
  const s = JSON.parse(readFileSync(file, 'utf8'))
  const fields = s.snapshot.meta.node_fields
  const types = s.snapshot.meta.node_types[0]
  const width = fields.length
  const ti = fields.indexOf('type')
  const ni = fields.indexOf('name')
  const si = fields.indexOf('self_size')
  const kinds = new Map()
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + ti]]
    const key = type === 'object' || type === 'closure' ? `${type} ${s.strings[s.nodes[i + ni]].slice(0, 60)}` : type
    const k = kinds.get(key) ?? { bytes: 0, count: 0 }
    k.bytes += s.nodes[i + si]
    k.count++
    kinds.set(key, k)
  }
  return kinds
}

/** the kinds that grew most in bytes from snapshot `a` to `b`, with the totals */
export function heapGrowth (a, b, top = 12) {
  const before = heapByKind(a)
  const after = heapByKind(b)
  const total = m => [...m.values()].reduce((sum, k) => sum + k.bytes, 0)
  const grew = [...after].map(([kind, k]) => {
    const was = before.get(kind) ?? { bytes: 0, count: 0 }
    return { kind, bytes: k.bytes - was.bytes, count: k.count - was.count }
  }).sort((x, y) => y.bytes - x.bytes).slice(0, top)
  return { beforeMiB: total(before) / 2 ** 20, afterMiB: total(after) / 2 ** 20, grew }
}
