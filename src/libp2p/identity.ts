import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { IdentityError } from '../util/errors.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Loads the node's private key from `file`, creating an Ed25519 key there (mode 0600) on first start,
 * so a restarted node keeps its peer id.
 */
export async function loadOrCreateIdentity (file: string): Promise<{ key: PrivateKey, created: boolean }> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw new IdentityError(`cannot read identity file ${file}: ${err.message}`)
  }
  if (bytes != null) {
    try {
      return { key: privateKeyFromProtobuf(bytes), created: false }
    } catch (err: any) {
      throw new IdentityError(`identity file ${file} is not a libp2p private key: ${err.message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  // write then rename, so a crash never leaves a half-written key behind
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
  return { key, created: true }
}
