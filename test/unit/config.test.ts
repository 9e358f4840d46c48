import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, parseConfig } from '../../src/config/load.js'
import { parseDuration } from '../../src/config/duration.js'
import { interpolate } from '../../src/config/interpolate.js'
import { ConfigError } from '../../src/util/errors.js'
import { configSchema, formatByteSize } from '../../src/config/schema.js'
import { taskBodyLimit } from '../../src/cli/daemon.js'
import { ensureSwarmKey } from '../../src/cli/keygen.js'
import { withoutLocalAddresses } from '../../src/libp2p/libp2p.js'
import { dialBackCandidates } from '../../src/discovery/reachability.js'
import { multiaddr } from '@multiformats/multiaddr'

function errorOf (yaml: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(yaml, { file: '/cfg/node.yaml', env })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('parseConfig', () => {
  it('accepts the seed format and fills defaults', () => {
    const c = parseConfig(`node:
  role: worker
  listen_port: 4001
  capabilities: [compute, storage]
  max_connections: 100
  heartbeat_interval: 30
network:
  protocol_version: p2p-network
  mesh_network: true
  enable_mdns: true
  enable_relay: true
  connection_timeout: 30
`, { file: '/cfg/node.yaml', hostname: 'pod-1' })
    expect(c.node).toMatchObject({ role: 'worker', name: 'worker-pod-1', listenPort: 4001, capabilities: ['compute', 'storage'], heartbeatIntervalMs: 30_000, heartbeatMisses: 3 })
    expect(c.network).toMatchObject({ protocolVersion: 'p2p-network', connectionTimeoutMs: 30_000, bootstrap: [] })
    expect(c.node.dataDir).toBe('/cfg/data/worker-pod-1')
    expect(c.node.identityFile).toBe('/cfg/data/worker-pod-1/peer.key')
    expect(c.control.socket).toBe('/cfg/data/worker-pod-1/control.sock')
    expect(c.metrics).toEqual({ enabled: true, host: '0.0.0.0', port: 9090, allowedHosts: [], historyIntervalMs: 10_000 })
  })

  it('interpolates ${VAR} and ${VAR:-default}, re-typing unquoted values', () => {
    const c = parseConfig(`node:
  role: worker
  name: \${POD_NAME}
  listen_port: \${PORT:-4100}
  announce: ["/ip4/\${POD_IP}/tcp/4001"]
  data_dir: "/data/\${POD_NAME}"
`, { env: { POD_NAME: 'w-0', POD_IP: '10.1.2.3' } })
    expect(c.node.name).toBe('w-0')
    expect(c.node.listenPort).toBe(4100)
    expect(c.node.announce).toEqual(['/ip4/10.1.2.3/tcp/4001'])
    expect(c.node.dataDir).toBe('/data/w-0')
  })

  it('takes durations as seconds or strings', () => {
    const c = parseConfig('node:\n  role: relay\n  heartbeat_interval: 500ms\n  member_expiry: 2m\n')
    expect(c.node.heartbeatIntervalMs).toBe(500)
    expect(c.node.memberExpiryMs).toBe(120_000)
  })

  const bad: Array<[string, string, string, number | undefined, RegExp]> = [
    ['unknown key with suggestion', 'node:\n  role: worker\n  capabilites: [a]\n', 'node.capabilites', 3, /unknown key \(did you mean capabilities\?\)/],
    ['unknown section', 'node:\n  role: worker\nnetwrk: {}\n', 'netwrk', 3, /unknown key/],
    ['wrong role', 'node:\n  role: leader\n', 'node.role', 2, /must be one of "bootstrap", "relay", "worker", got "leader"/],
    ['missing role', 'node:\n  name: x\n', 'node.role', 1, /required key is missing \(one of "bootstrap", "relay", "worker"\)/],
    ['port out of range', 'node:\n  role: worker\n  listen_port: 70000\n', 'node.listen_port', 3, /65535/],
    ['wrong type', 'node:\n  role: worker\nnetwork:\n  enable_mdns: "yes"\n', 'network.enable_mdns', 4, /expected boolean, got string "yes"/],
    ['bad duration', 'node:\n  role: worker\n  heartbeat_interval: soon\n', 'node.heartbeat_interval', 3, /not a duration/],
    ['duration too short', 'node:\n  role: worker\n  heartbeat_interval: 1ms\n', 'node.heartbeat_interval', 3, /at least 50ms/],
    ['bad multiaddr', 'node:\n  role: worker\nnetwork:\n  bootstrap:\n    - /dns4/ok/tcp/1\n    - nonsense\n', 'network.bootstrap.1', 6, /not a valid multiaddr/],
    ['unset variable', 'node:\n  role: worker\n  name: ${POD_NAME}\n', 'node.name', 3, /POD_NAME is not set/],
    ['bad capability', 'node:\n  role: worker\n  capabilities: [Compute!]\n', 'node.capabilities.0', 3, /lowercase/],
    ['yaml syntax', 'node:\n  role: worker\n  foo: [\n', '', 4, /YAML syntax error/],
    ['not a mapping', '- a\n- b\n', '', 1, /mapping/],
    ['unquoted ${} in a flow list', 'node:\n  role: worker\n  announce: [/ip4/${POD_IP}/tcp/4001]\n', '', 3, /quote values that contain \$\{\.\.\.\} inside \[ \]/],
    ['duplicate key', 'node:\n  role: worker\n  role: relay\n', '', 3, /YAML syntax error.*[Uu]nique|YAML syntax error/]
  ]
  it.each(bad)('rejects %s naming the key and line', (_name, yaml, path, line, message) => {
    const err = errorOf(yaml)
    const issue = err.issues.find(i => i.path === path)
    expect(issue, `issues: ${JSON.stringify(err.issues)}`).toBeDefined()
    expect(issue?.line).toBe(line)
    expect(issue?.file).toBe('/cfg/node.yaml')
    expect(issue?.message).toMatch(message)
    expect(err.message).toContain(`/cfg/node.yaml:${line}`)
  })

  it('reports every mistake at once', () => {
    const err = errorOf('node:\n  role: nope\n  listen_port: -1\n  bogus: 1\n')
    expect(err.issues.map(i => i.path).sort()).toEqual(['node.bogus', 'node.listen_port', 'node.role'])
  })
})

describe('parseDuration', () => {
  it.each([
    [30, 30_000], ['30', 30_000], ['500ms', 500], ['1.5s', 1500], ['2m', 120_000], ['1m30s', 90_000], ['1h', 3_600_000], [0.25, 250]
  ] as const)('%s -> %d ms', (input, ms) => { expect(parseDuration(input)).toBe(ms) })
  it.each(['', 'soon', '5 s', '1x', '-1', 'ms', '1s2', null, {}, -5, Number.NaN])('rejects %s', input => {
    expect(parseDuration(input)).toBeUndefined()
  })
})

describe('interpolate', () => {
  it('replaces, defaults, and escapes', () => {
    expect(interpolate('a-${X}-${Y:-d}', { X: '1' }, 'k')).toBe('a-1-d')
    expect(interpolate('${E:-fallback}', { E: '' }, 'k')).toBe('fallback')
    expect(interpolate('$${NOT}', {}, 'k')).toBe('${NOT}')
  })
  it('names the key of an unset variable', () => {
    expect(() => interpolate('${MISSING}', {}, 'node.name')).toThrow(/MISSING/)
  })
})

describe('sizes as people read them', () => {
  it.each([[100, '100 B'], [1024, '1 KiB'], [1024 ** 2, '1 MiB'], [1_414_490, '1.3 MiB'], [3 * 1024 ** 3, '3 GiB']])('%d bytes is %s', (n, text) => {
    expect(formatByteSize(n)).toBe(text)
  })
  it('the task API body limit names the setting it follows, in its units', () => {
    const limit = taskBodyLimit(1024 ** 2)
    // a 1 MiB payload as base64 fits, with room for the other fields
    expect(limit.maxBodyBytes).toBeGreaterThan(Buffer.alloc(1024 ** 2).toString('base64').length + 1000)
    expect(limit.maxBodyReason).toBe('the limit follows tasks.max_payload (1 MiB): a payload of that size as base64, plus 16 KiB for the other fields')
  })
})

describe('addresses a node announces', () => {
  const ma = (s: string): ReturnType<typeof multiaddr> => multiaddr(s)
  it('drops loopback and link-local addresses when it has others, relayed ones by their relay\'s address', () => {
    const out = withoutLocalAddresses([
      ma('/ip4/127.0.0.1/tcp/4001'), ma('/ip4/10.1.2.3/tcp/4001'), ma('/ip4/169.254.9.9/tcp/4001'), ma('/ip6/::1/tcp/4001'), ma('/ip6/fe80::1/tcp/4001'),
      ma('/ip4/10.9.9.9/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit'),
      ma('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit')
    ]).map(String)
    expect(out).toEqual(['/ip4/10.1.2.3/tcp/4001', '/ip4/10.9.9.9/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit'])
  })
  it('keeps them when they are all it has (a network on one machine)', () => {
    expect(withoutLocalAddresses([ma('/ip4/127.0.0.1/tcp/4001')]).map(String)).toEqual(['/ip4/127.0.0.1/tcp/4001'])
  })
  it('an empty entry in announce or bootstrap (an unset ${VAR:-}) is left out; a bad one names its index and line', () => {
    const yaml = 'node:\n  role: relay\n  announce: ["/ip4/${POD_IP}/tcp/4001", "${EXTERNAL:-}"]\nnetwork:\n  bootstrap: [/dns4/b/tcp/4001, "${REMOTE:-}"]\n'
    const plain = parseConfig(yaml, { env: { POD_IP: '10.0.0.5' } })
    expect(plain.node.announce).toEqual(['/ip4/10.0.0.5/tcp/4001'])
    expect(plain.network.bootstrap).toEqual(['/dns4/b/tcp/4001'])
    const set = parseConfig(yaml, { env: { POD_IP: '10.0.0.5', EXTERNAL: '/dns4/relay.example.com/tcp/4001', REMOTE: '/dns4/other/tcp/4001' } })
    expect(set.node.announce).toEqual(['/ip4/10.0.0.5/tcp/4001', '/dns4/relay.example.com/tcp/4001'])
    expect(set.network.bootstrap).toEqual(['/dns4/b/tcp/4001', '/dns4/other/tcp/4001'])
    const err = errorOf(yaml, { POD_IP: '10.0.0.5', EXTERNAL: 'relay.example.com' })
    expect(err.message).toMatch(/:3: node\.announce\.1: not a valid multiaddr/)
  })
})

describe('dial-back candidates (reachability)', () => {
  it('the announced TCP ports on the IP the connection comes from, never another IP, never a circuit', () => {
    const from = multiaddr('/ip4/10.214.20.101/tcp/53211')
    const announced = ['/ip4/10.216.20.2/tcp/4001', '/ip4/10.216.20.2/tcp/4001', '/ip4/10.99.0.1/tcp/4002', '/ip4/10.9.9.9/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit'].map(a => multiaddr(a))
    expect(dialBackCandidates(from, announced).map(String)).toEqual(['/ip4/10.214.20.101/tcp/4001', '/ip4/10.214.20.101/tcp/4002'])
    expect(dialBackCandidates(multiaddr('/dns4/somewhere/tcp/1'), announced).map(String)).toEqual([])
  })
})

describe('example configs', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const files = ['config', 'config/local'].flatMap(d => readdirSync(join(root, d)).filter(f => f.endsWith('.yaml')).map(f => join(root, d, f)))
  // the local network's private key, as ./start.sh makes it on its first run
  beforeAll(() => { ensureSwarmKey(join(root, '.local', 'swarm.key')) })

  it('every example in config/ loads as it is (the seed-format one as member node-a)', () => {
    expect(files.length).toBeGreaterThanOrEqual(10)
    for (const f of files) expect(() => loadConfig(f, { P2P_FAILOVER_SELF: 'node-a' }), f).not.toThrow()
  })

  it('the local network\'s three workers form one demo failover group, each with its own priority', () => {
    const services = [1, 2, 3].map(i => loadConfig(join(root, `config/local/worker-${i}.yaml`), {}).failover.services)
    expect(services.map(s => s.map(x => x.name))).toEqual([['demo'], ['demo'], ['demo']])
    expect(services.map(s => s[0].groupSize)).toEqual([3, 3, 3])
    expect(new Set(services.map(s => s[0].priority)).size).toBe(3)
    expect(services[0][0].priority).toBeGreaterThan(services[1][0].priority)
  })

  it('the edge worker needs a relay reservation to be ready and joins through external addresses only', () => {
    const c = loadConfig(join(root, 'config/edge-worker.yaml'), {})
    expect(c.network).toMatchObject({ enableRelay: true, requireRelay: true, enableMdns: false })
    expect(c.network.bootstrap.every(b => !b.includes('.svc.cluster.local'))).toBe(true)
  })
})

describe('every schema key reaches the node', () => {
  // docs/development/extending.md, "Add a config key": a key in the schema (src/config/schema.ts) that normalize
  // forgets would be validated, documented and then ignored. Each key of each section must have a camelCase field
  // (with Ms for a duration) in the parsed config; the few renamed ones are listed.
  const RENAMED: Record<string, string> = { 'network.psk_file': 'psk', 'metrics.api_token_file': 'apiToken', 'relay.circuit_data': 'circuitDataBytes' }
  /** `duration` or `bytes` when the key's schema says so (the kind the schema's helpers attach) */
  const kindOf = (schema: any): string | undefined => {
    for (let cur = schema; cur != null; cur = cur._zod.def.innerType ?? cur._zod.def.in) {
      const kind = (z.globalRegistry.get(cur) as { kind?: string } | undefined)?.kind
      if (kind != null) return kind
    }
    return undefined
  }
  const camel = (k: string): string => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
  it.each(['node', 'network', 'relay', 'metrics', 'control', 'logging', 'tasks'] as const)('%s', section => {
    const c = parseConfig('node:\n  role: worker\n', { file: '/cfg/config.yaml', hostname: 'h' }) as unknown as Record<string, Record<string, unknown>>
    const shape = (configSchema.shape[section] as any)._zod.def.innerType?._zod.def.shape ?? (configSchema.shape[section] as any)._zod.def.shape
    const missing = Object.keys(shape).filter(k => {
      const kind = kindOf(shape[k])
      const name = RENAMED[`${section}.${k}`] ?? `${camel(k)}${kind === 'duration' ? 'Ms' : ''}`
      return !Object.hasOwn(c[section], name)
    })
    expect(missing).toEqual([])
  })
})
