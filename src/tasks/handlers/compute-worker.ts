// Runs in a worker thread (piscina), never on the node's event loop. Kept free of imports other than
// node:crypto so it loads fast in every thread.
import { createHash } from 'node:crypto'

export interface ComputeJob { payload: Uint8Array, iterations: number }

/** iterated SHA-256: d1 = sha256(payload), d(n+1) = sha256(d(n)); anyone can verify the result */
export default function compute ({ payload, iterations }: ComputeJob): string {
  let digest = createHash('sha256').update(payload).digest()
  for (let i = 1; i < iterations; i++) digest = createHash('sha256').update(digest).digest()
  return digest.toString('hex')
}
