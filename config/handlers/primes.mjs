// A task handler written in JavaScript (tasks.handlers.<type>.module): counts the primes up to N (the payload),
// reporting progress as it goes. It runs on a worker thread of the node, never on its event loop, with the
// handler's timeout and max_memory; a throw is a task error. Try it from the REPL of `npm start`:
//   task primes 20000000 --follow
//
// ctx: { taskId, type, params, signal, progress(msg), log.{debug,info,warn,error}(msg, fields?) }
// Return a string, a Uint8Array or anything JSON can encode; that is the task's result.

export async function run (payload, ctx) {
  const n = Number(new TextDecoder().decode(payload).trim() || '1000000')
  if (!Number.isInteger(n) || n < 2 || n > 2_000_000_000) throw new Error(`payload must be a whole number from 2 to 2000000000, got ${JSON.stringify(new TextDecoder().decode(payload))}`)
  // a segmented sieve: memory stays ~1 MiB whatever N is
  const segment = 1 << 20
  const limit = Math.floor(Math.sqrt(n))
  const small = sieve(limit)
  let count = 0
  const steps = Math.ceil((n + 1) / segment)
  for (let step = 0, low = 0; low <= n; step++, low += segment) {
    // a cancel or the timeout aborts the signal: stop at the next segment (a module that never looks loses its thread)
    if (ctx.signal.aborted) throw new Error('stopped')
    const high = Math.min(low + segment - 1, n)
    const marks = new Uint8Array(high - low + 1)
    for (const p of small) {
      const start = Math.max(p * p, Math.ceil(low / p) * p)
      for (let m = start; m <= high; m += p) marks[m - low] = 1
    }
    for (let i = 0; i < marks.length; i++) if (marks[i] === 0 && low + i >= 2) count++
    if (steps >= 10 && step % Math.floor(steps / 10) === 0) ctx.progress(`${Math.round(100 * high / n)}%: ${count} primes up to ${high}`)
    // let the thread hear an abort between segments
    if (step % 8 === 7) await new Promise(resolve => setImmediate(resolve))
  }
  ctx.log.info('counted primes', { n, count })
  return { n, primes: count }
}

function sieve (limit) {
  const marks = new Uint8Array(limit + 1)
  const primes = []
  for (let i = 2; i <= limit; i++) {
    if (marks[i] === 1) continue
    primes.push(i)
    for (let m = i * i; m <= limit; m += i) marks[m] = 1
  }
  return primes
}
