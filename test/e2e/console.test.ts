// The web console in a real headless Chromium (Debian's chromium, driven by puppeteer-core) against a local
// network of real processes: members listed, a killed worker turning gone on the open page, a task through the
// form, a handoff through the button, an XSS payload staying text, actions refused without the token.
// Screenshots of each view go to test-results/console/ (and to docs/console/ with P2P_UPDATE_SCREENSHOTS=1).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pWaitFor from 'p-wait-for'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, FIREFOX } from '../harness/browsers.js'
import { Cluster, dnsAddr, keygen, ROOT, waitAllSeeAll, type TestNode } from '../harness/cluster.js'

const SHOTS = join(ROOT, 'test-results', 'console')
const DOCS = join(ROOT, 'docs', 'console')
/** tasks on `n` whose payload came from the attacker's page */
async function evilTasks (n: TestNode): Promise<number> {
  return ((await n.request('tasks')) as any[]).filter(t => JSON.stringify(t).includes('from evil')).length
}

const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


describe.skipIf(CHROMIUM == null)('web console in Chromium (real processes; skipped without /usr/bin/chromium, which scripts/ensure-deps.sh installs as root)', () => {
  const cluster = new Cluster()
  let boot: TestNode
  let w: TestNode[] = []
  let browser: Browser
  let token: string
  let load: NodeJS.Timeout | undefined
  /** messages the page logged as errors (a CSP violation is one) */
  const pageErrors: string[] = []

  const url = (n: TestNode, view: string): string => `${n.status!.metricsUrl!}/#${view}`
  const shot = async (page: Page, name: string, docs = true): Promise<void> => {
    mkdirSync(SHOTS, { recursive: true })
    const file = join(SHOTS, `${name}.png`)
    await page.screenshot({ path: file, fullPage: true })
    if (docs && process.env.P2P_UPDATE_SCREENSHOTS != null) { mkdirSync(DOCS, { recursive: true }); copyFileSync(file, join(DOCS, `${name}.png`)) }
  }
  const open = async (n: TestNode, view: string): Promise<Page> => {
    const page = await browser.newPage()
    await page.setViewport({ width: 1400, height: 900 })
    // refused requests (401, 503) are logged by the browser as failed loads: expected here, anything else is not
    page.on('console', m => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) pageErrors.push(m.text()) })
    page.on('pageerror', e => { pageErrors.push(String(e)) })
    page.on('dialog', d => { pageErrors.push(`dialog: ${d.message()}`); void d.dismiss() })
    await page.goto(url(n, view))
    // the page marks itself: a reload would lose the mark
    await page.evaluate(() => { (window as any).__loaded = 1 })
    return page
  }
  const failoverOf = async (n: TestNode): Promise<any> => ((await n.request('failover')) as any[])[0]

  beforeAll(async () => {
    boot = cluster.add({ name: 'c-boot', role: 'bootstrap', mesh: false })
    await boot.start()
    const { tokenFile } = keygen(join(cluster.dir, 'keys'))
    token = readFileSync(tokenFile, 'utf8').trim()
    w = [['w1', 300], ['w2', 200], ['w3', 100]].map(([name, priority]) => cluster.add({
      name: `c-${name as string}`, role: 'worker', bootstrap: [dnsAddr(boot)], capabilities: ['compute'],
      extra: {
        failover: {
          services: [{
            name: 'demo', priority, group_size: 3, open_group: true, heartbeat_interval: '200ms', preempt_delay: '5s',
            command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]
          }]
        }
      }
    }))
    // actions on w2 need the bearer token; w1 samples its history every second (charts with something in them)
    w[1].updateConfig(cfg => { cfg.metrics.api_token_file = tokenFile })
    w[0].updateConfig(cfg => { cfg.metrics.history_interval = '1s'; cfg.tasks = { ...cfg.tasks, handlers: { napping: { command: ['sleep', `30.${process.pid}`], capability: 'compute' } } } })
    await Promise.all(w.map(async n => { await n.start() }))
    await waitAllSeeAll([boot, ...w])
    await pWaitFor(async () => (await failoverOf(w[0])).running === true, { interval: 200, timeout: 30_000 })
    // a steady trickle of tasks through w1 while the page is looked at
    const api = `${w[0].status!.metricsUrl!}/api/tasks`
    load = setInterval(() => { void fetch(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', payload: 'tick', wait: false }) }).catch(() => {}) }, 100)
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  })
  afterAll(async () => {
    clearInterval(load)
    await browser?.close()
    await cluster.teardown()
  })

  it('serves the page with a strict CSP and no inline script', async () => {
    const res = await fetch(`${w[0].status!.metricsUrl!}/`, { headers: { 'accept-encoding': 'gzip' } })
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain('unsafe-inline')
    const html = await res.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    const js = await fetch(`${w[0].status!.metricsUrl!}/ui/app.js`)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    // every asset from the node itself: no other origin named in the page or the script
    expect(html + await js.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\//i)
  })

  it('lists every member, and a killed worker turns gone on the open page without a reload, then comes back', async () => {
    const page = await open(w[0], 'network')
    const rows = async (): Promise<Record<string, string>> => await page.$$eval('[data-testid=members] tbody tr', trs => Object.fromEntries(trs.map(tr => [tr.getAttribute('data-name') ?? '', tr.getAttribute('data-state') ?? ''])))
    await pWaitFor(async () => { const r = await rows(); return ['c-boot', 'c-w2', 'c-w3'].every(n => r[n] === 'alive') }, { interval: 200, timeout: 30_000 })
    // the graph draws this node, the others and their connections (asked over /links/1.0.0)
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .node').length >= 4 && document.querySelectorAll('[data-testid=graph] line').length >= 5, { timeout: 30_000 })
    await shot(page, 'network')

    const killedAt = Date.now()
    w[2].kill('SIGKILL')
    await pWaitFor(async () => (await rows())['c-w3'] === 'gone', { interval: 100, timeout: 30_000 })
    const goneAfter = Date.now() - killedAt
    expect(await page.evaluate(() => (window as any).__loaded)).toBe(1)
    await w[2].start()
    await pWaitFor(async () => (await rows())['c-w3'] === 'alive', { interval: 100, timeout: 30_000 })
    expect(await page.evaluate(() => (window as any).__loaded)).toBe(1)
    console.log(`console: killed worker shown gone ${goneAfter} ms after kill -9 (heartbeat 500 ms x 3 misses)`)
    await page.close()
  })

  it('a task submitted through the form shows its result; an XSS payload in the output stays text', async () => {
    const page = await open(w[0], 'tasks')
    await page.type('form.submit input[name=type]', 'echo')
    await page.type('form.submit textarea[name=payload]', XSS)
    await page.click('form.submit button[type=submit]')
    await page.waitForSelector('[data-testid=task-detail][data-state=done] [data-testid=task-output]', { timeout: 30_000 })
    const output = await page.$eval('[data-testid=task-output]', el => el.textContent)
    expect(output).toBe(XSS)
    // nothing of it became markup: no image, no script ran
    expect(await page.$$eval('[data-testid=task-detail] img, [data-testid=task-detail] script', els => els.length)).toBe(0)
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined()
    // the recent list shows it, with its worker
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=tasks] tbody tr')].some(tr => tr.textContent?.includes('echo') && tr.textContent.includes('done')), { timeout: 10_000 })
    // a large output is cut, with a way to see all of it
    const big = 'x'.repeat(5000)
    await page.$eval('form.submit textarea[name=payload]', el => { (el as HTMLTextAreaElement).value = '' })
    await page.type('form.submit textarea[name=payload]', big.slice(0, 50))
    await page.$eval('form.submit textarea[name=payload]', (el, v) => { (el as HTMLTextAreaElement).value = v }, big)
    await page.click('form.submit button[type=submit]')
    await page.waitForFunction(() => document.querySelector('[data-testid=task-output]')?.textContent?.length === 2000, { timeout: 30_000 })
    await page.$$eval('.result button', bs => { (bs.find(b => b.textContent?.startsWith('Show all')) as HTMLButtonElement).click() })
    await page.waitForFunction(() => document.querySelector('[data-testid=task-output]')?.textContent?.length === 5000, { timeout: 10_000 })
    // an unknown type is refused with the node's reason, shown on the form
    await page.$eval('form.submit input[name=type]', el => { (el as HTMLInputElement).value = '' })
    await page.type('form.submit input[name=type]', 'no-such-type')
    await page.click('form.submit button[type=submit]')
    await page.waitForFunction(() => /no live worker offers task type "no-such-type"/.test(document.querySelector('form.submit .error')?.textContent ?? ''), { timeout: 10_000 })
    // a few of w1's samples (one a second) so the charts show something
    await pWaitFor(async () => (await (await fetch(`${w[0].status!.metricsUrl!}/api/history`)).json() as unknown[]).length >= 8, { interval: 500, timeout: 30_000 })
    await shot(page, 'tasks')
    await page.close()
  })

  it('the cancel button stops a running task and the page shows it cancelled', async () => {
    const page = await open(w[0], 'tasks')
    await page.type('form.submit input[name=type]', 'napping')
    await page.click('form.submit button[type=submit]')
    await page.waitForSelector('[data-testid=task-detail][data-state=running] [data-testid=task-cancel]', { timeout: 30_000 })
    await page.click('[data-testid=task-cancel]')
    await page.waitForSelector('[data-testid=task-detail][data-state=cancelled]', { timeout: 15_000 })
    expect(await page.$('[data-testid=task-cancel]')).toBeNull()
    await pWaitFor(() => { try { execFileSync('pgrep', ['-f', `^sleep 30.${process.pid}`]); return false } catch { return true } }, { interval: 100, timeout: 5000 })
    await page.close()
  })

  it('the handoff button moves the service and the timeline shows it', async () => {
    const page = await open(w[0], 'failover')
    await page.waitForSelector('[data-service=demo] [data-testid=handoff]:not([disabled])', { timeout: 30_000 })
    await page.click('[data-service=demo] [data-testid=handoff]')
    await pWaitFor(async () => (await failoverOf(w[1])).running === true, { interval: 100, timeout: 30_000 })
    // the page (still the same load) shows w2 active and a timeline entry for it
    await page.waitForFunction((id: string) => document.querySelector('[data-service=demo]')?.getAttribute('data-active') === id &&
      document.querySelector('[data-testid=timeline] li')?.getAttribute('data-active') === id, { timeout: 15_000 }, w[1].peerId)
    const timeline = await page.$$eval('[data-testid=timeline] li', lis => lis.map(li => li.textContent ?? ''))
    expect(timeline.some(t => t.includes('released here: handoff'))).toBe(true)
    expect(await page.evaluate(() => (window as any).__loaded)).toBe(1)
    expect((await failoverOf(w[0])).running).toBe(false)
    await shot(page, 'failover')
    await page.close()
  })

  it('this node: status, health, log lines with a level filter, and history charts', async () => {
    const page = await open(w[0], 'node')
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.includes('c-w1') === true, { timeout: 15_000 })
    expect(await page.$eval('[data-testid=health]', el => el.textContent)).toMatch(/healthy/)
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=logs] tr').length > 3, { timeout: 15_000 })
    await page.select('[data-testid=log-level]', 'warn')
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=logs] tr td:nth-child(2)')].every(td => ['warn', 'error', 'fatal'].includes(td.textContent ?? '')), { timeout: 15_000 })
    await page.select('[data-testid=log-level]', 'info')
    // four charts; the node samples every 10 s and the page takes each sample from the event stream
    expect(await page.$$eval('.chart canvas', cs => cs.length)).toBe(4)
    await shot(page, 'node')
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }])
    await page.goto(url(w[0], 'network'))
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=members] tbody tr').length >= 3, { timeout: 15_000 })
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    const [r, g, b] = bg.match(/\d+/g)!.map(Number)
    expect(r + g + b).toBeLessThan(150)
    await shot(page, 'network-dark')
    await page.close()
  })

  it('with a token the console asks for it first: a wrong one is refused, the right one opens it and actions go through', async () => {
    const denied = async (what: string): Promise<number> => await w[1].metric(`p2p_access_denied_total{what="${what}"}`)
    const [noneBefore, badBefore] = [await denied('api_no_token'), await denied('api_bad_token')]
    // no session: the login page, not the console (nothing of the node is served)
    const page = await open(w[1], 'tasks')
    await page.waitForSelector('form input[name=token]', { timeout: 10_000 })
    expect(await page.$('[data-testid=status]')).toBeNull()
    expect(await denied('api_no_token')).toBeGreaterThan(noneBefore)
    expect((await fetch(`${w[1].status!.metricsUrl!}/api/status`)).status).toBe(401)
    // a wrong token: the login again, saying so
    await page.type('form input[name=token]', 'wrong')
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')])
    await page.waitForSelector('p[role=alert]', { timeout: 10_000 })
    expect(await denied('api_bad_token')).toBeGreaterThan(badBefore)
    // the right one: the token leaves the address bar, a session cookie (HttpOnly: no script reads it) stays
    await page.type('form input[name=token]', token)
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')])
    expect(page.url()).toBe(`${w[1].status!.metricsUrl!}/`)
    expect(await page.evaluate(() => document.cookie)).toBe('')
    await page.goto(url(w[1], 'tasks'))
    const submitted = async (): Promise<number> => await w[1].metric('p2p_tasks_submitted_total')
    const before = await submitted()
    await page.waitForSelector('form.submit input[name=type]', { timeout: 10_000 })
    await page.type('form.submit input[name=type]', 'echo')
    await page.type('form.submit textarea[name=payload]', 'with the token')
    await page.click('form.submit button[type=submit]')
    await page.waitForFunction(() => document.querySelector('[data-testid=task-detail][data-state=done] [data-testid=task-output]')?.textContent === 'with the token', { timeout: 30_000 })
    expect(await submitted()).toBe(before + 1)
    // the live view works through the cookie too: members listed from the event stream and the reads
    await page.goto(url(w[1], 'network'))
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=members] tbody tr').length >= 3, { timeout: 15_000 })
    // another browser profile has no session: the login again
    const incognito = await browser.createBrowserContext()
    const other = await incognito.newPage()
    await other.goto(url(w[1], 'network'))
    await other.waitForSelector('form input[name=token]', { timeout: 10_000 })
    await incognito.close()
    await page.close()
    expect(pageErrors).toEqual([])
  })

  it('a page from another origin can neither act on the node nor read it (fetch, form POST, script tag)', async () => {
    // the attacker's page, served from another port of this host: it tries what a browser lets any page try
    const target = w[0].status!.metricsUrl!
    const html = `<!doctype html><html><body>
      <form id="f" method="post" action="${target}/api/failover/demo/handoff" enctype="text/plain" target="sink"><input name='{"a":"' value='b"}'></form>
      <iframe name="sink"></iframe>
      <script>
        window.results = {}
        fetch('${target}/api/tasks', { method: 'POST', mode: 'no-cors', body: JSON.stringify({ type: 'echo', payload: 'from evil' }) })
          .then(() => { window.results.post = 'sent' }, e => { window.results.post = String(e) })
        fetch('${target}/api/status').then(r => r.text()).then(t => { window.results.read = t }, e => { window.results.read = 'refused: ' + e })
        const s = document.createElement('script'); s.src = '${target}/api/logs'; s.onerror = () => { window.results.script = 'error' }; s.onload = () => { window.results.script = 'loaded' }; document.body.appendChild(s)
        document.getElementById('f').submit()
      </script></body></html>`
    const { createServer } = await import('node:http')
    const evil = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html) })
    await new Promise<void>(resolve => evil.listen(0, '127.0.0.1', resolve))
    const port = (evil.address() as { port: number }).port
    const refusedBefore = await w[0].metric('p2p_access_denied_total{what="api_cross_site"}')
    const active = (await failoverOf(w[0])).active
    const page = await browser.newPage()
    try {
      await page.goto(`http://127.0.0.1:${port}/`)
      await page.waitForFunction(() => { const r = (window as any).results; return r?.post != null && r?.read != null && r?.script != null }, { timeout: 15_000 })
      const results = await page.evaluate(() => (window as any).results)
      // the browser sent them (no-cors, form, script): the node refused each one
      await pWaitFor(async () => await w[0].metric('p2p_access_denied_total{what="api_cross_site"}') - refusedBefore >= 4, { interval: 200, timeout: 10_000 })
      expect(results.read).toMatch(/^refused/)
      expect(results.script).toBe('error')
      expect(await evilTasks(w[0])).toBe(0)
      expect((await failoverOf(w[0])).active).toBe(active)
    } finally {
      await page.close()
      evil.close()
    }
  })

  it.skipIf(FIREFOX == null)('the same page in Firefox: members listed live, a task through the form, its XSS output as text (skipped without /usr/bin/firefox-esr, which scripts/ensure-deps.sh installs as root)', async () => {
    const firefox = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true })
    try {
      const page = await firefox.newPage()
      await page.setViewport({ width: 1400, height: 900 })
      await page.goto(url(w[0], 'network'))
      await page.waitForFunction(() => ['c-boot', 'c-w2', 'c-w3'].every(n => document.querySelector(`[data-testid=members] tr[data-name="${n}"]`)?.getAttribute('data-state') === 'alive'), { timeout: 30_000 })
      await page.waitForFunction(() => document.querySelector('[data-testid=stream]')?.textContent?.includes('live') === true, { timeout: 15_000 })
      await page.goto(url(w[0], 'tasks'))
      await page.waitForSelector('form.submit input[name=type]')
      await page.type('form.submit input[name=type]', 'echo')
      await page.type('form.submit textarea[name=payload]', XSS)
      await page.click('form.submit button[type=submit]')
      await page.waitForSelector('[data-testid=task-detail][data-state=done] [data-testid=task-output]', { timeout: 30_000 })
      expect(await page.$eval('[data-testid=task-output]', el => el.textContent)).toBe(XSS)
      expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined()
      expect(await page.$$eval('.chart canvas', cs => cs.length)).toBe(2)
      await shot(page, 'tasks-firefox', false)
    } finally {
      await firefox.close()
    }
  })
})
