#!/usr/bin/env node
// The web console's cost, on a loopback network of real nodes (1 bootstrap, 3 workers, a failover service, a
// steady task load through worker 1):
//  - page weight: the page, script, stylesheet and icon, as sent (gzip) and unpacked
//  - load: navigation -> the members table filled, in headless Chromium
//  - the node's RSS and CPU with no console open, with one tab open on each view in turn, and closed again
//  - what one open tab asks of the node: HTTP requests per minute, events per second on its stream
// Usage: node bench/console.mjs [--window 60] [--rate 20]
import os from 'node:os'
import pWaitFor from 'p-wait-for'
import puppeteer from 'puppeteer-core'
import { CHROMIUM } from '../build/test/harness/browsers.js'
import { Cluster, dnsAddr } from '../build/test/harness/cluster.js'
import { cli, number, proc, report, round, summary } from './lib.mjs'

const opts = cli('bench/console.mjs', 'Page weight, load time and the node\'s extra RSS/CPU with the web console open and closed', p => p
  .option('--window <seconds>', 'how long each phase (closed, open, closed again) is measured', number(10), 60)
  .option('--rate <n>', 'tasks per second submitted through worker 1', number(0), 20))
if (CHROMIUM == null) { console.error('bench/console.mjs needs Chromium (scripts/ensure-deps.sh installs it)'); process.exit(2) }

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** RSS samples (one a second) and CPU share of one process over `seconds` */
async function measure (pid, seconds, during = async () => {}) {
  const rss = []
  const cpu0 = proc(pid).cpuS
  const t0 = performance.now()
  const work = during()
  for (let i = 0; i < seconds; i++) { await sleep(1000); rss.push(proc(pid).rssMiB) }
  await work
  const cpu = (proc(pid).cpuS - cpu0) / ((performance.now() - t0) / 1000)
  return { rss: summary(rss), rssEnd: rss.at(-1), cpuPercent: round(cpu * 100, 1) }
}

const cluster = new Cluster()
process.env.TEST_LOG_LEVEL = 'info'
let load
let browser
try {
  const boot = cluster.add({ name: 'bc-boot', role: 'bootstrap', mesh: false, heartbeat: '1s' })
  await boot.start()
  const workers = [300, 200, 100].map((priority, i) => cluster.add({
    name: `bc-w${i + 1}`, role: 'worker', capabilities: ['compute'], bootstrap: [dnsAddr(boot)], heartbeat: '1s',
    extra: { failover: { services: [{ name: 'demo', priority, group_size: 3, open_group: true, command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"] }] } }
  }))
  for (const w of workers) await w.start()
  const w1 = workers[0]
  const base = w1.status.metricsUrl
  await pWaitFor(async () => (await w1.peers()).filter(p => p.state === 'alive').length === 3, { interval: 200, timeout: 60_000 })
  if (opts.rate > 0) {
    load = setInterval(() => { void fetch(`${base}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', payload: 'bench', wait: false }) }).catch(() => {}) }, 1000 / opts.rate)
  }

  // page weight, as a browser gets it (gzip) and unpacked
  const weight = { gzip: 0, raw: 0, files: {} }
  for (const path of ['/', '/ui/app.js', '/ui/app.css', '/ui/icon.svg']) {
    const raw = Buffer.from(await (await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).length
    const res = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    const gz = Number(res.headers.get('content-length'))
    await res.arrayBuffer()
    weight.files[path] = { raw, gzip: gz }
    weight.raw += raw
    weight.gzip += gz
  }

  console.error(`warming up for 20 s, then ${opts.window} s closed, ${opts.window} s open (network, tasks, failover, node), ${opts.window} s closed`)
  await sleep(20_000)
  const pid = w1.proc.pid
  const closed = await measure(pid, opts.window)

  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  const page = await browser.newPage()
  await page.setViewport({ width: 1400, height: 900 })
  let requests = 0
  let events = 0
  page.on('request', () => { requests++ })
  // the events reaching the tab's own stream, as the browser's network layer sees them
  const cdp = await page.createCDPSession()
  await cdp.send('Network.enable')
  cdp.on('Network.eventSourceMessageReceived', () => { events++ })
  const t0 = performance.now()
  await page.goto(`${base}/#network`)
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=members] tbody tr').length >= 3, { timeout: 30_000 })
  const loadMs = performance.now() - t0
  requests = 0
  events = 0
  // the page's main-thread busy time per view (Chromium's TaskDuration), as a share of the time shown
  const busy = {}
  const open = await measure(pid, opts.window, async () => {
    for (const view of ['network', 'tasks', 'failover', 'node']) {
      await page.evaluate(v => { location.hash = v }, view)
      const m0 = await page.metrics()
      const t0 = performance.now()
      await sleep(opts.window * 1000 / 4)
      busy[view] = round(((await page.metrics()).TaskDuration - m0.TaskDuration) / ((performance.now() - t0) / 1000) * 100, 1)
    }
  })
  const perMinute = requests / (opts.window / 60)
  await page.close()
  await browser.close()
  browser = undefined
  const after = await measure(pid, opts.window)

  report('console', {
    machine: { cpus: os.cpus().length, node: process.version, taskRate: opts.rate },
    pageWeightBytes: weight,
    loadMs: round(loadMs),
    node: { closed, open, closedAgain: after },
    tab: { requestsPerMinute: round(perMinute), eventsPerSecond: round(events / opts.window, 1), mainThreadBusyPercent: busy }
  }, [
    ['page weight (gzip, as sent)', round(weight.gzip / 1024), 'KiB', `${round(weight.raw / 1024)} KiB unpacked; page + script + style + icon`],
    ['load: navigation -> members listed', round(loadMs), 'ms', 'headless Chromium, loopback'],
    ['worker RSS, console closed', round(closed.rss.mean), 'MiB', `p50 ${round(closed.rss.p50)}, max ${round(closed.rss.max)}`],
    ['worker RSS, one tab open', round(open.rss.mean), 'MiB', `max ${round(open.rss.max)}; views cycled`],
    ['worker RSS, closed again', round(after.rss.mean), 'MiB', `end ${round(after.rssEnd)}`],
    ['worker CPU, closed / open / closed', `${closed.cpuPercent} / ${open.cpuPercent} / ${after.cpuPercent}`, '% of a core', `${opts.rate} tasks/s through this node`],
    ['tab: HTTP requests', round(perMinute), 'per min', 'snapshot refreshes of the open view, besides the stream'],
    ['tab: events on its stream', round(events / opts.window, 1), 'per s', 'member, task, failover, sample'],
    ['tab: main thread busy per view', Object.values(busy).join(' / '), '%', Object.keys(busy).join(' / ')]
  ])
} finally {
  clearInterval(load)
  await browser?.close()
  await cluster.teardown()
}
