import { readFileSync } from 'node:fs'
import { UsageError } from '../util/errors.js'

/**
 * `task … --payload-file PATH` (`-`: standard input): the file is read here, where the command is typed, and goes
 * to the daemon as `--payload-base64`, so a payload of any size up to tasks.max_payload, text or binary, can be
 * sent from the command line (an argument is capped by the OS near 128 KiB, a REPL line at 64 KiB).
 */
export function withPayloadFile (words: string[], readStdin: () => Uint8Array = () => readFileSync(0)): string[] {
  const out: string[] = []
  let seen = false
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    const inline = w.startsWith('--payload-file=') ? w.slice('--payload-file='.length) : undefined
    if (w !== '--payload-file' && inline == null) { out.push(w); continue }
    const path = inline ?? words[++i]
    if (path == null || path === '') throw new UsageError('--payload-file: a file name, or - for standard input')
    if (seen) throw new UsageError('--payload-file: give it once')
    seen = true
    let data: Uint8Array
    try {
      data = path === '-' ? readStdin() : readFileSync(path)
    } catch (err: any) {
      throw new UsageError(`--payload-file: cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`)
    }
    out.push('--payload-base64', Buffer.from(data).toString('base64'))
  }
  return out
}
