import type { Role } from './schema.js'

/** The validated, fully defaulted configuration every other module receives. Durations are in ms. */
export interface NodeConfig {
  /** absolute path of the file it came from, when it came from a file */
  file?: string
  node: {
    role: Role
    name: string
    listenHost: string
    listenPort: number
    announce: string[]
    capabilities: string[]
    maxConnections: number
    heartbeatIntervalMs: number
    heartbeatMisses: number
    memberExpiryMs: number
    dataDir: string
    identityFile: string
  }
  network: {
    protocolVersion: string
    meshNetwork: boolean
    enableMdns: boolean
    enableRelay: boolean
    connectionTimeoutMs: number
    bootstrap: string[]
    bootstrapMaxBackoffMs: number
    pingIntervalMs: number
  }
  metrics: { enabled: boolean, host: string, port: number }
  control: { socket: string }
  logging: { level: string }
}
