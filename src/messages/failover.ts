import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface FailoverBeat {
  service: string
  member: Uint8Array<ArrayBuffer>
  priority: number
  seq: bigint
  term: bigint
  state: FailoverBeat.State
  healthy: boolean
  eligible: boolean
  voteCandidate: Uint8Array<ArrayBuffer>
  voteTerm: bigint
  acks: FailoverBeat.Ack[]
  running: boolean
}

export namespace FailoverBeat {
  export enum State {
    STANDBY = 'STANDBY',
    CANDIDATE = 'CANDIDATE',
    ACTIVE = 'ACTIVE',
    RELEASED = 'RELEASED'
  }

  enum __StateValues {
    STANDBY = 0,
    CANDIDATE = 1,
    ACTIVE = 2,
    RELEASED = 3
  }

  export namespace State {
    export const codec = (): Codec<State> => {
      return enumeration<State>(__StateValues)
    }
  }

  export interface Ack {
    member: Uint8Array<ArrayBuffer>
    seq: bigint
  }

  export namespace Ack {
    let _codec: Codec<Ack>

    export const codec = (): Codec<Ack> => {
      if (_codec == null) {
        _codec = message<Ack>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.member != null && obj.member.byteLength > 0)) {
            w.uint32(10)
            w.bytes(obj.member)
          }

          if ((obj.seq != null && obj.seq !== 0n)) {
            w.uint32(16)
            w.uint64(obj.seq)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            member: uint8ArrayAlloc(0),
            seq: 0n
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.member = reader.bytes()
                break
              }
              case 2: {
                obj.seq = reader.uint64()
                break
              }
              default: {
                reader.skipType(tag & 7)
                break
              }
            }
          }

          return obj
        }, function * (reader, length, prefix, opts = {}) {
          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.member`,
                  value: reader.bytes()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.seq`,
                  value: reader.uint64()
                }
                break
              }
              default: {
                reader.skipType(tag & 7)
                break
              }
            }
          }
        })
      }

      return _codec
    }

    export interface AckMemberFieldEvent {
      field: '$.member'
      value: Uint8Array<ArrayBuffer>
    }

    export interface AckSeqFieldEvent {
      field: '$.seq'
      value: bigint
    }

    export function encode (obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Ack.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
      return decodeMessage(buf, Ack.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Generator<AckMemberFieldEvent | AckSeqFieldEvent> {
      return streamMessage(buf, Ack.codec(), opts)
    }
  }

  let _codec: Codec<FailoverBeat>

  export const codec = (): Codec<FailoverBeat> => {
    if (_codec == null) {
      _codec = message<FailoverBeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.service != null && obj.service !== '')) {
          w.uint32(10)
          w.string(obj.service)
        }

        if ((obj.member != null && obj.member.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.member)
        }

        if ((obj.priority != null && obj.priority !== 0)) {
          w.uint32(24)
          w.int32(obj.priority)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(32)
          w.uint64(obj.seq)
        }

        if ((obj.term != null && obj.term !== 0n)) {
          w.uint32(40)
          w.uint64(obj.term)
        }

        if (obj.state != null && __StateValues[obj.state] !== 0) {
          w.uint32(48)
          FailoverBeat.State.codec().encode(obj.state, w)
        }

        if ((obj.healthy != null && obj.healthy !== false)) {
          w.uint32(56)
          w.bool(obj.healthy)
        }

        if ((obj.eligible != null && obj.eligible !== false)) {
          w.uint32(64)
          w.bool(obj.eligible)
        }

        if ((obj.voteCandidate != null && obj.voteCandidate.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.voteCandidate)
        }

        if ((obj.voteTerm != null && obj.voteTerm !== 0n)) {
          w.uint32(80)
          w.uint64(obj.voteTerm)
        }

        if (obj.acks != null && obj.acks.length > 0) {
          for (const value of obj.acks) {
            w.uint32(90)
            FailoverBeat.Ack.codec().encode(value, w)
          }
        }

        if ((obj.running != null && obj.running !== false)) {
          w.uint32(96)
          w.bool(obj.running)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          service: '',
          member: uint8ArrayAlloc(0),
          priority: 0,
          seq: 0n,
          term: 0n,
          state: State.STANDBY,
          healthy: false,
          eligible: false,
          voteCandidate: uint8ArrayAlloc(0),
          voteTerm: 0n,
          acks: [],
          running: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.service = reader.string()
              break
            }
            case 2: {
              obj.member = reader.bytes()
              break
            }
            case 3: {
              obj.priority = reader.int32()
              break
            }
            case 4: {
              obj.seq = reader.uint64()
              break
            }
            case 5: {
              obj.term = reader.uint64()
              break
            }
            case 6: {
              obj.state = FailoverBeat.State.codec().decode(reader)
              break
            }
            case 7: {
              obj.healthy = reader.bool()
              break
            }
            case 8: {
              obj.eligible = reader.bool()
              break
            }
            case 9: {
              obj.voteCandidate = reader.bytes()
              break
            }
            case 10: {
              obj.voteTerm = reader.uint64()
              break
            }
            case 11: {
              if (opts.limits?.acks != null && obj.acks.length === opts.limits.acks) {
                throw new MaxLengthError('Decode error - repeated field "acks" had too many elements')
              }

              if (obj.acks.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "acks" had too many elements')
              }

              obj.acks.push(FailoverBeat.Ack.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.acks$
              }))
              break
            }
            case 12: {
              obj.running = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          acks: 64
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.service`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.member`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.priority`,
                value: reader.int32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.term`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.state`,
                value: FailoverBeat.State.codec().decode(reader)
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.healthy`,
                value: reader.bool()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.eligible`,
                value: reader.bool()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.voteCandidate`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.voteTerm`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              if (opts.limits?.acks != null && obj.acks === opts.limits.acks) {
                throw new MaxLengthError('Streaming decode error - repeated field "acks" had too many elements')
              }

              if (obj.acks === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "acks" had too many elements')
              }

              for (const evt of FailoverBeat.Ack.codec().stream(reader, reader.uint32(), `${prefix}.acks[]`, {
                limits: opts.limits?.acks$
              })) {
                yield {
                  ...evt,
                  index: obj.acks
                }
              }

              obj.acks++

              break
            }
            case 12: {
              yield {
                field: `${prefix}.running`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FailoverBeatServiceFieldEvent {
    field: '$.service'
    value: string
  }

  export interface FailoverBeatMemberFieldEvent {
    field: '$.member'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FailoverBeatPriorityFieldEvent {
    field: '$.priority'
    value: number
  }

  export interface FailoverBeatSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface FailoverBeatTermFieldEvent {
    field: '$.term'
    value: bigint
  }

  export interface FailoverBeatStateFieldEvent {
    field: '$.state'
    value: FailoverBeat.State
  }

  export interface FailoverBeatHealthyFieldEvent {
    field: '$.healthy'
    value: boolean
  }

  export interface FailoverBeatEligibleFieldEvent {
    field: '$.eligible'
    value: boolean
  }

  export interface FailoverBeatVoteCandidateFieldEvent {
    field: '$.voteCandidate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FailoverBeatVoteTermFieldEvent {
    field: '$.voteTerm'
    value: bigint
  }

  export interface FailoverBeatAcksMemberFieldEvent {
    field: '$.acks[].member'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface FailoverBeatAcksSeqFieldEvent {
    field: '$.acks[].seq'
    value: bigint
    index: number
  }

  export interface FailoverBeatRunningFieldEvent {
    field: '$.running'
    value: boolean
  }

  export function encode (obj: Partial<FailoverBeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FailoverBeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FailoverBeat>): FailoverBeat {
    return decodeMessage(buf, FailoverBeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FailoverBeat>): Generator<FailoverBeatServiceFieldEvent | FailoverBeatMemberFieldEvent | FailoverBeatPriorityFieldEvent | FailoverBeatSeqFieldEvent | FailoverBeatTermFieldEvent | FailoverBeatStateFieldEvent | FailoverBeatHealthyFieldEvent | FailoverBeatEligibleFieldEvent | FailoverBeatVoteCandidateFieldEvent | FailoverBeatVoteTermFieldEvent | FailoverBeatAcksMemberFieldEvent | FailoverBeatAcksSeqFieldEvent | FailoverBeatRunningFieldEvent> {
    return streamMessage(buf, FailoverBeat.codec(), opts)
  }
}

export interface StateSnapshot {
  service: string
  term: bigint
  version: bigint
  sha256: Uint8Array<ArrayBuffer>
  data: Uint8Array<ArrayBuffer>
}

export namespace StateSnapshot {
  let _codec: Codec<StateSnapshot>

  export const codec = (): Codec<StateSnapshot> => {
    if (_codec == null) {
      _codec = message<StateSnapshot>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.service != null && obj.service !== '')) {
          w.uint32(10)
          w.string(obj.service)
        }

        if ((obj.term != null && obj.term !== 0n)) {
          w.uint32(16)
          w.uint64(obj.term)
        }

        if ((obj.version != null && obj.version !== 0n)) {
          w.uint32(24)
          w.uint64(obj.version)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.sha256)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          service: '',
          term: 0n,
          version: 0n,
          sha256: uint8ArrayAlloc(0),
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.service = reader.string()
              break
            }
            case 2: {
              obj.term = reader.uint64()
              break
            }
            case 3: {
              obj.version = reader.uint64()
              break
            }
            case 4: {
              obj.sha256 = reader.bytes()
              break
            }
            case 5: {
              obj.data = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.service`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.term`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface StateSnapshotServiceFieldEvent {
    field: '$.service'
    value: string
  }

  export interface StateSnapshotTermFieldEvent {
    field: '$.term'
    value: bigint
  }

  export interface StateSnapshotVersionFieldEvent {
    field: '$.version'
    value: bigint
  }

  export interface StateSnapshotSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StateSnapshotDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<StateSnapshot>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StateSnapshot.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StateSnapshot>): StateSnapshot {
    return decodeMessage(buf, StateSnapshot.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StateSnapshot>): Generator<StateSnapshotServiceFieldEvent | StateSnapshotTermFieldEvent | StateSnapshotVersionFieldEvent | StateSnapshotSha256FieldEvent | StateSnapshotDataFieldEvent> {
    return streamMessage(buf, StateSnapshot.codec(), opts)
  }
}
