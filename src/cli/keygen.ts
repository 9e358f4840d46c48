import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { UsageError } from '../util/errors.js'

export interface KeygenResult { peerId: string, identityFile: string, swarmKeyFile: string, tokenFile: string }

/**
 * Writes, mode 0600, a private-network swarm key (`swarm.key`, for network.psk_file), a peer identity
 * (`peer.key`, for node.identity_file: its peer id goes into allowlists) and an API token (`api.token`, for
 * metrics.api_token_file). Never overwrites an existing file unless told to.
 */
export async function keygen (dir: string, force = false): Promise<KeygenResult> {
  const out = resolve(dir)
  const files = { identityFile: join(out, 'peer.key'), swarmKeyFile: join(out, 'swarm.key'), tokenFile: join(out, 'api.token') }
  const present = Object.values(files).filter(f => existsSync(f))
  if (present.length > 0 && !force) throw new UsageError(`${present.join(', ')} already exist${present.length === 1 ? 's' : ''}: refusing to overwrite keys (--force to replace them)`)
  mkdirSync(out, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  writeFileSync(files.identityFile, privateKeyToProtobuf(key), { mode: 0o600 })
  writeFileSync(files.swarmKeyFile, swarmKey(), { mode: 0o600 })
  writeFileSync(files.tokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 })
  return { peerId: peerIdFromPrivateKey(key).toString(), ...files }
}

/** a new private-network key in the format network.psk_file reads */
function swarmKey (): string {
  return `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`
}

/**
 * Makes the swarm key at `path` (0600, its folder 0700) unless one is there: the local network's nodes share it,
 * so that a failover group on loopback is closed to every other process of this machine. True when it was made.
 */
export function ensureSwarmKey (path: string): boolean {
  if (existsSync(path)) return false
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, swarmKey(), { mode: 0o600, flag: 'wx' })
  return true
}
