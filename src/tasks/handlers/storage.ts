import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HandlerError, json, NotFoundError, type Handler, type HandlerContext } from './handler.js'

const HASH = /^[0-9a-f]{64}$/

/**
 * Content-addressed blobs on `storage` workers, in <data_dir>/blobs/<sha256>. `storage.put` stores the
 * payload and copies it to `replicas - 1` other storage workers before answering, so losing one worker
 * does not lose the blob; `storage.get` returns a blob by hash (a worker without it answers not-found and
 * the submitter asks another). The blobs take at most `maxBytes` (tasks.storage_max_bytes): past it a put is
 * refused, so no peer can fill the disk the task journal and state files live on.
 */
export function storageHandlers (dataDir: string, replicas: number, maxBytes = Infinity): Handler[] {
  const dir = join(dataDir, 'blobs')
  const hashOf = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')
  /** bytes of the blobs kept (and of writes under way), counted once from the folder, then kept up to date */
  let used: Promise<number> | undefined
  const usage = async (): Promise<number> => await (used ??= (async () => {
    let total = 0
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (HASH.test(f)) total += (await stat(join(dir, f)).catch(() => ({ size: 0 }))).size
      // a write cut short by a crash
      else if (f.endsWith('.tmp')) await unlink(join(dir, f)).catch(() => {})
    }
    return total
  })())

  async function store (hash: string, data: Uint8Array): Promise<void> {
    const path = join(dir, hash)
    if (await stat(path).then(() => true, () => false)) return
    const before = await usage()
    if (before + data.byteLength > maxBytes) throw new HandlerError(`storage full: ${before} of ${maxBytes} bytes used (tasks.storage_max_bytes)`)
    used = Promise.resolve(before + data.byteLength)
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const tmp = join(dir, `${hash}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
      await writeFile(tmp, data, { mode: 0o600 })
      await rename(tmp, path)
    } catch (err) {
      used = Promise.resolve((await usage()) - data.byteLength)
      throw err
    }
  }

  async function replicate (ctx: HandlerContext, hash: string): Promise<number> {
    let copies = 1
    const tried = [ctx.selfPeerId]
    while (copies < replicas) {
      const r = await ctx.submit({ type: 'storage.replicate', payload: ctx.payload, params: { hash }, exclude: tried, maxRetries: 0 })
      if (r.worker == null || tried.includes(r.worker)) break
      tried.push(r.worker)
      if (r.ok) copies++
    }
    return copies
  }

  return [
    {
      type: 'storage.put',
      capability: 'storage',
      async run (ctx) {
        const hash = hashOf(ctx.payload)
        await store(hash, ctx.payload)
        const copies = await replicate(ctx, hash)
        return json({ hash, size: ctx.payload.byteLength, replicas: copies })
      }
    },
    {
      type: 'storage.replicate',
      capability: 'storage',
      internal: true,
      async run (ctx) {
        const hash = hashOf(ctx.payload)
        if (ctx.params.hash != null && ctx.params.hash !== hash) throw new HandlerError('payload does not match its hash')
        await store(hash, ctx.payload)
        return json({ hash })
      }
    },
    {
      type: 'storage.get',
      capability: 'storage',
      async run (ctx) {
        const hash = new TextDecoder().decode(ctx.payload).trim().toLowerCase()
        if (!HASH.test(hash)) throw new HandlerError('storage.get takes a sha256 hash (64 hex characters)')
        try {
          const data = await readFile(join(dir, hash))
          // a corrupted file is as good as missing: another replica may be intact
          if (hashOf(data) !== hash) throw new NotFoundError(`blob ${hash} is corrupt here`)
          return new Uint8Array(data)
        } catch (err: any) {
          if (err.code === 'ENOENT') throw new NotFoundError(`blob ${hash} is not stored here`)
          throw err
        }
      }
    }
  ]
}
