import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generated, updateReferences } from '../harness/reference.js'

// The references in docs/reference/ are generated (npm run docs) from the config schema, the metrics registry and
// the HTTP route table. This fails when one of them changed and the page was not regenerated.
const ROOT = join(import.meta.dirname, '..', '..')

describe('generated references', () => {
  it('docs/reference/ matches the schema, the registry and the route table (run npm run docs)', async () => {
    expect(await updateReferences(ROOT, true)).toEqual([])
  })

  it('every configuration key, metric and endpoint is in them, none with an empty meaning', async () => {
    const pages = await generated()
    const config = pages.find(p => p.name === 'config')!.content
    for (const key of ['node.role', 'network.psk_file', 'tasks.records_max', 'relay.circuit_data', 'metrics.allowed_hosts', 'group_size', 'health_check.rise', 'state.max_size']) expect(config).toContain(`\`${key}\``)
    for (const page of pages) expect(page.content).not.toMatch(/\|\s*\|\s*$/m)
    expect(pages.find(p => p.name === 'metrics')!.content).toContain('`p2p_node_healthy`')
    expect(pages.find(p => p.name === 'http')!.content).toContain('`DELETE /api/tasks/<id>`')
  })
})
