/** one Server-Sent Events frame: `id` when the frame has one; `data` parsed as JSON */
export interface SseFrame { id?: number, event: string, data: any }

/** reads a Server-Sent Events response frame by frame (comments and frames without event or data are skipped) */
export async function * sseFrames (res: Response): AsyncGenerator<SseFrame> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buf += value
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const field = (name: string): string | undefined => block.split('\n').find(l => l.startsWith(`${name}: `))?.slice(name.length + 2)
        const event = field('event')
        const data = field('data')
        const id = field('id')
        if (event != null && data != null) yield { ...(id != null ? { id: Number(id) } : {}), event, data: JSON.parse(data) }
      }
    }
  } finally {
    reader.releaseLock()
  }
}
