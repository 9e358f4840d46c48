// The generated references: the configuration keys from the zod schema (src/config/schema.ts), the metrics from
// the registry (src/metrics/metrics.ts) and the HTTP endpoints from the route table (src/control/routes.ts),
// written between markers into docs/reference/. `npm run docs` writes them; test/unit/reference.test.ts fails
// when a page is stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { Registry } from 'prom-client'
import { configSchema, formatByteSize, type KeyDoc } from '../../src/config/schema.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { ROUTES } from '../../src/control/routes.js'

type Meta = Partial<KeyDoc> & { kind?: 'duration' | 'bytes' }

/** the metadata of a schema and of every wrapper inside it (default, optional, pipe), outermost first */
function unwrap (schema: z.ZodType): { inner: z.ZodType, meta: Meta, optional: boolean, hasDefault: boolean } {
  const meta: Meta = {}
  let optional = false
  let hasDefault = false
  let cur: any = schema
  for (;;) {
    const m = z.globalRegistry.get(cur) as Meta | undefined
    if (m != null) for (const [k, v] of Object.entries(m)) (meta as any)[k] ??= v
    const def = cur._zod.def
    if (def.type === 'default' || def.type === 'prefault') { hasDefault = true; cur = def.innerType; continue }
    if (def.type === 'optional') { optional = true; cur = def.innerType; continue }
    if (def.type === 'pipe') { cur = def.in.type === 'transform' ? def.out : def.in; if (cur._zod.def.type === 'transform') break; continue }
    if (def.type === 'union' && meta.kind != null) break
    break
  }
  return { inner: cur, meta, optional, hasDefault }
}

function duration (ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

function shownDefault (value: unknown, meta: Meta): string {
  if (meta.shown != null) return meta.shown
  if (value === undefined) return '—'
  if (meta.kind === 'duration' && typeof value === 'number') return `\`${duration(value)}\``
  if (meta.kind === 'bytes' && typeof value === 'number') return `\`${formatByteSize(value).replace(' ', '')}\``
  if (Array.isArray(value) && value.length === 0) return '`[]`'
  if (typeof value === 'object' && value != null) return Object.keys(value).length === 0 ? '`{}`' : '(keys below)'
  return `\`${String(value)}\``
}

interface Row { key: string, shown: string, doc: string }

/** one table's rows for an object schema; `defaults` is what parsing `{}` gives (undefined: the object is required) */
function rows (prefix: string, object: z.ZodObject, defaults: Record<string, unknown> | undefined): Row[] {
  const out: Row[] = []
  for (const [key, field] of Object.entries(object.shape)) {
    const { meta, optional, hasDefault } = unwrap(field as z.ZodType)
    if (meta.doc == null) continue
    const required = !optional && !hasDefault
    out.push({ key: `${prefix}${key}`, shown: required ? '(required)' : shownDefault(defaults?.[key], meta), doc: meta.doc })
  }
  return out
}

const table = (rs: Row[]): string => ['| key | default | meaning |', '|---|---|---|', ...rs.map(r => `| \`${r.key}\` | ${r.shown} | ${r.doc.replace(/\|/g, '\\|')} |`)].join('\n')

const objectOf = (schema: z.ZodType): z.ZodObject => {
  let cur: any = schema
  while (cur._zod.def.type !== 'object') cur = cur._zod.def.innerType ?? cur._zod.def.in ?? cur._zod.def.element ?? cur._zod.def.valueType
  return cur as z.ZodObject
}

export function renderConfigReference (): string {
  const shape = configSchema.shape
  const parts: string[] = []
  for (const section of ['node', 'network', 'relay', 'metrics', 'control', 'logging', 'tasks'] as const) {
    const obj = objectOf(shape[section])
    let defaults: Record<string, unknown> | undefined
    try { defaults = obj.parse(section === 'node' ? { role: 'worker' } : {}) as Record<string, unknown> } catch { defaults = undefined }
    parts.push(`### ${section}\n\n${table(rows(`${section}.`, obj, defaults))}`)
  }
  const handler = objectOf((objectOf(shape.tasks).shape.handlers as any))
  parts.push(`### tasks.handlers.<type>\n\n${table(rows('', handler, { ...defaultsOf(handler, { command: ['x'] }) }))}`)
  const service = objectOf(objectOf(shape.failover).shape.services as z.ZodType)
  const base = { name: 'x', command: 'x', priority: 0, group_size: 1 }
  parts.push(`### failover.services[]\n\n${table(rows('', service, defaultsOf(service, base)))}`)
  for (const [key, required] of [['health_check', { command: 'x' }], ['restart', {}], ['state', { path: 'x' }]] as const) {
    const sub = objectOf(service.shape[key] as z.ZodType)
    parts.push(`### failover.services[].${key}\n\n${table(rows(`${key}.`, sub, defaultsOf(sub, required)))}`)
  }
  return parts.join('\n\n')
}

function defaultsOf (obj: z.ZodObject, required: Record<string, unknown>): Record<string, unknown> {
  const parsed = obj.parse(required) as Record<string, unknown>
  // a required key's value is the test's, not a default
  for (const k of Object.keys(required)) delete parsed[k]
  return parsed
}

export async function renderMetricsReference (): Promise<string> {
  const registry = new Registry()
  createMetrics(registry)
  const metrics = await registry.getMetricsAsJSON()
  const rowsOf = metrics.map(m => {
    const labels = (m as { labelNames?: string[] }).labelNames ?? []
    return `| \`${m.name}\` | ${m.type} | ${labels.map(l => `\`${l}\``).join(', ')} | ${m.help.replace(/\|/g, '\\|')} |`
  })
  return ['| metric | type | labels | meaning |', '|---|---|---|---|', ...rowsOf].join('\n')
}

export function renderHttpReference (): string {
  const access = { open: 'anyone', read: 'token (if set)', write: 'token, or loopback without one' }
  return ['| endpoint | who | answers |', '|---|---|---|', ...ROUTES.map(r => `| \`${r.method} ${r.path}\` | ${access[r.access]} | ${r.answers.replace(/\|/g, '\\|')} |`)].join('\n')
}

/** the generated pages: file, marker name, content */
export async function generated (): Promise<Array<{ file: string, name: string, content: string }>> {
  return [
    { file: 'docs/reference/configuration.md', name: 'config', content: renderConfigReference() },
    { file: 'docs/reference/http-api-and-metrics.md', name: 'http', content: renderHttpReference() },
    { file: 'docs/reference/http-api-and-metrics.md', name: 'metrics', content: await renderMetricsReference() }
  ]
}

const start = (name: string): string => `<!-- generated:${name} (npm run docs; do not edit by hand) -->`
const end = (name: string): string => `<!-- end generated:${name} -->`

/** the text of `file` with the section `name` replaced by `content`; throws if the markers are missing */
export function withSection (text: string, name: string, content: string): string {
  const a = text.indexOf(start(name))
  const b = text.indexOf(end(name))
  if (a < 0 || b < a) throw new Error(`no markers for ${name}: ${start(name)} ... ${end(name)}`)
  return `${text.slice(0, a)}${start(name)}\n${content}\n${text.slice(b)}`
}

/** writes the generated sections (or, with `check`, lists the pages that differ) */
export async function updateReferences (root: string, check: boolean): Promise<string[]> {
  const stale: string[] = []
  const texts = new Map<string, string>()
  for (const g of await generated()) {
    const before = texts.get(g.file) ?? readFileSync(join(root, g.file), 'utf8')
    texts.set(g.file, withSection(before, g.name, g.content))
  }
  for (const [file, text] of texts) {
    if (readFileSync(join(root, file), 'utf8') === text) continue
    stale.push(file)
    if (!check) writeFileSync(join(root, file), text)
  }
  return stale
}

if (process.argv[1] === import.meta.filename) {
  const check = process.argv.includes('--check')
  const root = process.cwd()
  const stale = await updateReferences(root, check)
  if (check && stale.length > 0) {
    console.error(`stale: ${stale.join(', ')} (npm run docs)`)
    process.exit(1)
  }
  console.log(stale.length > 0 ? `${check ? 'stale' : 'wrote'}: ${stale.join(', ')}` : 'the references are up to date')
}
