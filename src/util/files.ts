import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Writes `data` to `path` whole or not at all: a temporary file beside it, synced, then renamed over it. The file
 * is private to this user (0600) and so is a folder made for it (0700): what a node keeps under its data dir
 * (keys, state, journals) is nobody else's to read.
 */
export function writeAtomic (path: string, data: Uint8Array, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.p2p-tmp-${process.pid}`
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}
