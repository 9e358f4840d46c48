import { createHash } from 'node:crypto'

/**
 * What is wrong with a worker's answer that the submitter can check itself, or undefined. A worker is a peer like
 * any other: `storage.get` names its blob by its sha256, so a blob that does not hash to it is refused (and the
 * next worker asked) instead of handed to the caller.
 */
export function answerProblem (type: string, payload: Uint8Array, result: Uint8Array): string | undefined {
  if (type !== 'storage.get') return undefined
  const asked = new TextDecoder().decode(payload).trim().toLowerCase()
  const got = createHash('sha256').update(result).digest('hex')
  return got === asked ? undefined : `the blob a worker returned hashes to ${got.slice(0, 12)}…, not to the hash asked for`
}
