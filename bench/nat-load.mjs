// Runs inside a NAT lab host (bench/nat.mjs starts it there): tasks through the local node's HTTP API, all to
// the one worker that offers `capability`. Prints one JSON line: first-task latency, sequential latencies,
// then throughput at a concurrency with a payload size.
const [port, capability, n, concurrency, bytes] = process.argv.slice(2).map((v, i) => i === 1 ? v : Number(v))
const url = `http://127.0.0.1:${port}/api/tasks`
const payload = Buffer.alloc(bytes, 'x').toString('base64')
async function one (body) {
  const t0 = performance.now()
  const r = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', capability, timeout: '30s', ...body }) })).json()
  return { ms: performance.now() - t0, ok: r.state === 'done' && r.results?.[0]?.ok === true, worker: r.results?.[0]?.workerName, attempts: r.results?.[0]?.attempts }
}
const first = await one({ payload: 'first' })
const seq = []
for (let i = 0; i < n; i++) seq.push(await one({ payload: `t${i}` }))
let next = 0
let failed = 0
const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < n) {
    next++
    const r = await one({ payload_base64: payload })
    if (!r.ok) failed++
  }
}))
const seconds = (performance.now() - t0) / 1000
console.log(JSON.stringify({ first, latencies: seq.map(r => r.ms), seqFailed: seq.filter(r => !r.ok).length, workers: [...new Set(seq.map(r => r.worker))], throughput: { tasks: n, failed, seconds, bytes } }))
