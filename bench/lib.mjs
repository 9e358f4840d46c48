// Shared helpers for benchmarks: percentiles, the JSON + table report and the command line. Benchmarks print
// figures; they never assert them.
import { readdirSync, readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'

export function percentile (values, p) {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx]
}

export function summary (values) {
  return {
    n: values.length,
    // a loop, not Math.min(...values): a 30-minute soak has 180,000 latencies, past the call stack's limit
    min: values.length ? values.reduce((a, b) => Math.min(a, b), Infinity) : null,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : null,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null
  }
}

export function round (v, digits = 1) {
  return v == null ? null : Math.round(v * 10 ** digits) / 10 ** digits
}

/** Prints one JSON document and an aligned table of rows [metric, value, unit, note]. */
export function report (name, json, rows) {
  console.log(JSON.stringify({ benchmark: name, ...json }, null, 2))
  const header = ['metric', 'value', 'unit', 'note']
  const all = [header, ...rows.map(r => r.map(c => String(c ?? '-')))]
  const widths = header.map((_, i) => Math.max(...all.map(r => r[i].length)))
  console.log('')
  for (const [i, r] of all.entries()) {
    console.log('| ' + r.map((c, j) => c.padEnd(widths[j])).join(' | ') + ' |')
    if (i === 0) console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|')
  }
  console.log('')
}

/**
 * The benchmark's command line (commander): `--help` prints the options, an unknown option or a bad value is
 * an error with exit code 2. `define` adds the options; the parsed values come back.
 */
export function cli (name, summary, define) {
  const program = new Command(name).description(summary).allowExcessArguments(false).exitOverride()
  define(program)
  try {
    program.parse(process.argv)
  } catch (err) {
    process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2)
  }
  return program.opts()
}

/** an option value that must be a number (at least `min`) */
export function number (min = 0) {
  return value => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`a number of at least ${min}, got ${JSON.stringify(value)}`)
    return n
  }
}

const TICKS = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** one process as /proc sees it now: resident memory, CPU seconds used so far, open file descriptors */
export function proc (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const kib = key => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024
  // RSS = anonymous (this process's own heap and buffers) + file-backed (mostly the node binary's pages: shared by
  // every Node process on the host, and by every container using the same image layer)
  return { rssMiB: kib('VmRSS'), anonMiB: kib('RssAnon'), fileMiB: kib('RssFile'), cpuS: (Number(stat[11]) + Number(stat[12])) / TICKS, fds: readdirSync(`/proc/${pid}/fd`).length }
}

/**
 * The deployed net-test namespace's bootstrap HTTP API through `kubectl port-forward`, with the bearer token
 * for POSTs (P2P_API_TOKEN, else the production overlay's Secret, else none). `close()` ends the forward.
 */
export async function k8sApi () {
  const { execFileSync, spawn } = await import('node:child_process')
  const port = 19000 + Math.floor(Math.random() * 900)
  const forward = spawn('kubectl', ['-n', 'net-test', 'port-forward', 'svc/p2p-bootstrap', `${port}:9090`], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  let token = process.env.P2P_API_TOKEN
  if (token == null) {
    try { token = Buffer.from(execFileSync('kubectl', ['-n', 'net-test', 'get', 'secret', 'p2p-network-secrets', '-o', 'jsonpath={.data.api\\.token}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 'base64').toString('utf8').trim() || undefined } catch {}
  }
  for (let i = 0; i < 50; i++) {
    try { await fetch(`${url}/healthz`); break } catch { await new Promise(resolve => setTimeout(resolve, 200)) }
  }
  return { url, token, close: () => { forward.kill() } }
}
