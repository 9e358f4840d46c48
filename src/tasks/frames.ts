/** The task protocol's framing: length-prefixed protobuf frames on a task stream, read as they arrive. */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { TaskRequest, TaskResponse } from '../messages/tasks.js'

/** how much of an arriving chunk the frame decoder takes at a time */
const STEP = 64 * 1024

/**
 * Length-prefixed frames of at most `maxFrame` bytes from a stream's chunks. A chunk is fed to the decoder a
 * piece at a time, frames taken out in between: a stream that delivers several frames in one chunk (a fast
 * sender; a stream read after a pause) is not mistaken for an oversized one. The decoder's buffer never holds
 * more than one frame and one piece. Throws on a frame over `maxFrame`.
 */
function frameDecoder (maxFrame: number): (chunk: Uint8Array | Uint8ArrayList) => Uint8ArrayList[] {
  const decoder = new LengthPrefixedDecoder({ maxDataLength: maxFrame, maxBufferSize: maxFrame + STEP + 16 })
  return chunk => {
    const out: Uint8ArrayList[] = []
    const list = chunk instanceof Uint8ArrayList ? chunk : new Uint8ArrayList(chunk)
    for (let at = 0; at < list.byteLength; at += STEP) {
      for (const f of decoder.decode(list.sublist(at, Math.min(at + STEP, list.byteLength)))) out.push(f instanceof Uint8ArrayList ? f : new Uint8ArrayList(f))
    }
    return out
  }
}

/**
 * The worker's reader of one task stream: bytes as they arrive -> the complete requests in them. Throws on a
 * malformed frame (length over `maxFrame`, bad protobuf); the stream is then dropped.
 */
export function taskRequestDecoder (maxFrame: number): (chunk: Uint8Array | Uint8ArrayList) => TaskRequest[] {
  const frames = frameDecoder(maxFrame)
  return chunk => frames(chunk).map(f => TaskRequest.decode(f, { limits: { params: 16 } }))
}

/** the submitter's reader of a worker's answers on one task stream; throws on a malformed frame */
export function taskResponseDecoder (maxFrame: number): (chunk: Uint8Array | Uint8ArrayList) => TaskResponse[] {
  const frames = frameDecoder(maxFrame)
  return chunk => frames(chunk).map(f => TaskResponse.decode(f))
}
