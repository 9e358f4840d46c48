// The seed p2p-failover config format, accepted as a migration path (docs/guides/failover.md, "Migrating from p2p-failover"):
//
//   config_metadata: { name: validator }            -> the failover service's name
//   ddns:                                           -> the group: one entry per member
//     - { name: node-a, ip: 10.0.0.1, port: 4001, priority: 100 }
//   execution: { instructions: ./start.sh }         -> the supervised command (a string runs with sh -c)
//
// The member this file describes is picked by P2P_FAILOVER_SELF (an entry's name), else by the one entry whose
// ip is an address of this host, else by the entry named like the hostname. Every member becomes a worker that
// listens on its entry's ip and port and dials the other entries; the group size is the number of entries.
// Native sections (node, network, metrics, control, logging) may sit beside the seed keys and win over what is
// derived here; anything else the seed carries is ignored with a warning, not an error.
import { z } from 'zod'
import type { ConfigIssue } from '../util/errors.js'

export const SEED_KEYS = ['config_metadata', 'ddns', 'execution'] as const
const NATIVE_BESIDE_SEED = ['node', 'network', 'metrics', 'control', 'logging'] as const

const ipv4 = z.string().regex(/^(\d{1,3})(\.\d{1,3}){3}$/, 'must be an IPv4 address such as 10.0.0.1')
const entrySchema = z.looseObject({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
  ip: ipv4,
  port: z.int().min(1).max(65535),
  priority: z.int().min(-1_000_000).max(1_000_000)
})
export const seedSchema = z.looseObject({
  config_metadata: z.looseObject({
    name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
  }),
  ddns: z.array(entrySchema).min(1).max(64).superRefine((list, ctx) => {
    for (const key of ['name', 'ip:port'] as const) {
      const seen = new Set<string>()
      list.forEach((e, i) => {
        const v = key === 'name' ? e.name : `${e.ip}:${e.port}`
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [i, key === 'name' ? 'name' : 'port'], message: `duplicate ${key} ${v}: each member needs its own` })
        seen.add(v)
      })
    }
  }),
  execution: z.looseObject({
    instructions: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  })
})
export type Seed = z.output<typeof seedSchema>

/** true when a parsed YAML document is in the seed format */
export function isSeed (raw: Record<string, unknown>): boolean {
  return SEED_KEYS.some(k => k in raw)
}

export interface SeedContext {
  env: Record<string, string | undefined>
  hostname?: string
  /** this host's interface addresses */
  localAddresses: string[]
}

/**
 * The native config (before its own validation) for the member this host is, plus warnings for ignored keys;
 * throws a list of issues (with seed key paths) when the member cannot be told or the file mixes formats.
 */
export function fromSeed (seed: Seed, raw: Record<string, unknown>, ctx: SeedContext): { config: Record<string, any>, warnings: string[], issues: Array<Omit<ConfigIssue, 'file' | 'line'> & { at: PropertyKey[] }> } {
  const issues: Array<Omit<ConfigIssue, 'file' | 'line'> & { at: PropertyKey[] }> = []
  const warnings: string[] = []
  for (const key of Object.keys(raw)) {
    if (key === 'failover' || key === 'tasks') issues.push({ path: key, at: [key], message: `a seed-format file (with ${SEED_KEYS.join(', ')}) cannot also have a native \`${key}\` section: use one format` })
    else if (!(SEED_KEYS as readonly string[]).includes(key) && !(NATIVE_BESIDE_SEED as readonly string[]).includes(key)) warnings.push(`seed format: key \`${key}\` is not used and was ignored`)
  }
  const known = { config_metadata: ['name'], execution: ['instructions'] } as const
  for (const [section, keys] of Object.entries(known)) {
    for (const k of Object.keys((seed as any)[section])) if (!(keys as readonly string[]).includes(k)) warnings.push(`seed format: \`${section}.${k}\` is not used and was ignored`)
  }

  const wanted = ctx.env.P2P_FAILOVER_SELF
  let self: number
  if (wanted != null && wanted !== '') {
    self = seed.ddns.findIndex(e => e.name === wanted)
    if (self < 0) issues.push({ path: 'ddns', at: ['ddns'], message: `P2P_FAILOVER_SELF=${wanted} names no entry (entries: ${seed.ddns.map(e => e.name).join(', ')})` })
  } else {
    const byIp = seed.ddns.map((e, i) => ctx.localAddresses.includes(e.ip) ? i : -1).filter(i => i >= 0)
    const byName = seed.ddns.findIndex(e => e.name === ctx.hostname)
    self = byIp.length === 1 ? byIp[0] : byName
    if (self < 0) {
      const why = byIp.length > 1 ? `${byIp.length} entries have an address of this host (${byIp.map(i => seed.ddns[i].name).join(', ')})` : `no entry has an address of this host or its hostname ${ctx.hostname ?? ''}`
      issues.push({ path: 'ddns', at: ['ddns'], message: `cannot tell which entry is this member: ${why}; set P2P_FAILOVER_SELF to the entry's name` })
    }
  }
  if (issues.length > 0 || self < 0) return { config: {}, warnings, issues }

  const me = seed.ddns[self]
  const local = ctx.localAddresses.includes(me.ip)
  const derived: Record<string, any> = {
    node: {
      role: 'worker',
      name: me.name,
      // the entry's address when this host has it; otherwise (NAT, a container) listen everywhere and announce it
      listen_host: local ? me.ip : '0.0.0.0',
      listen_port: me.port,
      ...(local ? {} : { announce: [`/ip4/${me.ip}/tcp/${me.port}`] })
    },
    network: {
      bootstrap: seed.ddns.filter((_, i) => i !== self).map(e => `/ip4/${e.ip}/tcp/${e.port}`),
      enable_mdns: false
    },
    failover: {
      services: [{
        name: seed.config_metadata.name,
        command: seed.execution.instructions,
        priority: me.priority,
        group_size: seed.ddns.length,
        // the seed names its members by address, not by key: the group is open unless the file adds a
        // network.psk_file beside the seed keys (the start warns about it)
        open_group: true
      }]
    }
  }
  const config: Record<string, any> = { ...derived }
  for (const key of NATIVE_BESIDE_SEED) {
    const mine = raw[key]
    if (mine != null && typeof mine === 'object' && !Array.isArray(mine)) config[key] = { ...(derived[key] ?? {}), ...mine }
    else if (mine != null) config[key] = mine
  }
  return { config, warnings, issues }
}
