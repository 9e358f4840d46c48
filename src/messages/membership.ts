import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface HeartBeat {
  peerId: Uint8Array<ArrayBuffer>
  name: string
  role: string
  version: string
  seq: bigint
  timestampMs: bigint
  intervalMs: number
  misses: number
  load: number
  healthy: boolean
  capabilities: string[]
  addrs: Uint8Array<ArrayBuffer>[]
}

export namespace HeartBeat {
  let _codec: Codec<HeartBeat>

  export const codec = (): Codec<HeartBeat> => {
    if (_codec == null) {
      _codec = message<HeartBeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peerId)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.role != null && obj.role !== '')) {
          w.uint32(26)
          w.string(obj.role)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(34)
          w.string(obj.version)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(40)
          w.uint64(obj.seq)
        }

        if ((obj.timestampMs != null && obj.timestampMs !== 0n)) {
          w.uint32(48)
          w.uint64(obj.timestampMs)
        }

        if ((obj.intervalMs != null && obj.intervalMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.intervalMs)
        }

        if ((obj.misses != null && obj.misses !== 0)) {
          w.uint32(64)
          w.uint32(obj.misses)
        }

        if ((obj.load != null && obj.load !== 0)) {
          w.uint32(72)
          w.uint32(obj.load)
        }

        if ((obj.healthy != null && obj.healthy !== false)) {
          w.uint32(80)
          w.bool(obj.healthy)
        }

        if (obj.capabilities != null && obj.capabilities.length > 0) {
          for (const value of obj.capabilities) {
            w.uint32(90)
            w.string(value)
          }
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(98)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: uint8ArrayAlloc(0),
          name: '',
          role: '',
          version: '',
          seq: 0n,
          timestampMs: 0n,
          intervalMs: 0,
          misses: 0,
          load: 0,
          healthy: false,
          capabilities: [],
          addrs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.bytes()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.role = reader.string()
              break
            }
            case 4: {
              obj.version = reader.string()
              break
            }
            case 5: {
              obj.seq = reader.uint64()
              break
            }
            case 6: {
              obj.timestampMs = reader.uint64()
              break
            }
            case 7: {
              obj.intervalMs = reader.uint32()
              break
            }
            case 8: {
              obj.misses = reader.uint32()
              break
            }
            case 9: {
              obj.load = reader.uint32()
              break
            }
            case 10: {
              obj.healthy = reader.bool()
              break
            }
            case 11: {
              if (opts.limits?.capabilities != null && obj.capabilities.length === opts.limits.capabilities) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              if (obj.capabilities.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              obj.capabilities.push(reader.string())
              break
            }
            case 12: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs.length === 16) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
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
          capabilities: 64,
          addrs: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.role`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.timestampMs`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.intervalMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.misses`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.load`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.healthy`,
                value: reader.bool()
              }
              break
            }
            case 11: {
              if (opts.limits?.capabilities != null && obj.capabilities === opts.limits.capabilities) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              if (obj.capabilities === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              yield {
                field: `${prefix}.capabilities[]`,
                index: obj.capabilities,
                value: reader.string()
              }

              obj.capabilities++

              break
            }
            case 12: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              if (obj.addrs === 16) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

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

  export interface HeartBeatPeerIdFieldEvent {
    field: '$.peerId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HeartBeatNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface HeartBeatRoleFieldEvent {
    field: '$.role'
    value: string
  }

  export interface HeartBeatVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface HeartBeatSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface HeartBeatTimestampMsFieldEvent {
    field: '$.timestampMs'
    value: bigint
  }

  export interface HeartBeatIntervalMsFieldEvent {
    field: '$.intervalMs'
    value: number
  }

  export interface HeartBeatMissesFieldEvent {
    field: '$.misses'
    value: number
  }

  export interface HeartBeatLoadFieldEvent {
    field: '$.load'
    value: number
  }

  export interface HeartBeatHealthyFieldEvent {
    field: '$.healthy'
    value: boolean
  }

  export interface HeartBeatCapabilitiesFieldEvent {
    field: '$.capabilities[]'
    index: number
    value: string
  }

  export interface HeartBeatAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<HeartBeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HeartBeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartBeat>): HeartBeat {
    return decodeMessage(buf, HeartBeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartBeat>): Generator<HeartBeatPeerIdFieldEvent | HeartBeatNameFieldEvent | HeartBeatRoleFieldEvent | HeartBeatVersionFieldEvent | HeartBeatSeqFieldEvent | HeartBeatTimestampMsFieldEvent | HeartBeatIntervalMsFieldEvent | HeartBeatMissesFieldEvent | HeartBeatLoadFieldEvent | HeartBeatHealthyFieldEvent | HeartBeatCapabilitiesFieldEvent | HeartBeatAddrsFieldEvent> {
    return streamMessage(buf, HeartBeat.codec(), opts)
  }
}

export interface CapabilityAdvertisement {
  peerId: Uint8Array<ArrayBuffer>
  name: string
  role: string
  capabilities: string[]
  taskTypes: string[]
  maxConcurrency: number
  timestampMs: bigint
  queueCapacity: number
}

export namespace CapabilityAdvertisement {
  let _codec: Codec<CapabilityAdvertisement>

  export const codec = (): Codec<CapabilityAdvertisement> => {
    if (_codec == null) {
      _codec = message<CapabilityAdvertisement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peerId)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.role != null && obj.role !== '')) {
          w.uint32(26)
          w.string(obj.role)
        }

        if (obj.capabilities != null && obj.capabilities.length > 0) {
          for (const value of obj.capabilities) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (obj.taskTypes != null && obj.taskTypes.length > 0) {
          for (const value of obj.taskTypes) {
            w.uint32(42)
            w.string(value)
          }
        }

        if ((obj.maxConcurrency != null && obj.maxConcurrency !== 0)) {
          w.uint32(48)
          w.uint32(obj.maxConcurrency)
        }

        if ((obj.timestampMs != null && obj.timestampMs !== 0n)) {
          w.uint32(56)
          w.uint64(obj.timestampMs)
        }

        if ((obj.queueCapacity != null && obj.queueCapacity !== 0)) {
          w.uint32(64)
          w.uint32(obj.queueCapacity)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: uint8ArrayAlloc(0),
          name: '',
          role: '',
          capabilities: [],
          taskTypes: [],
          maxConcurrency: 0,
          timestampMs: 0n,
          queueCapacity: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.bytes()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.role = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.capabilities != null && obj.capabilities.length === opts.limits.capabilities) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              if (obj.capabilities.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              obj.capabilities.push(reader.string())
              break
            }
            case 5: {
              if (opts.limits?.taskTypes != null && obj.taskTypes.length === opts.limits.taskTypes) {
                throw new MaxLengthError('Decode error - repeated field "taskTypes" had too many elements')
              }

              if (obj.taskTypes.length === 64) {
                throw new MaxLengthError('Decode error - repeated field "taskTypes" had too many elements')
              }

              obj.taskTypes.push(reader.string())
              break
            }
            case 6: {
              obj.maxConcurrency = reader.uint32()
              break
            }
            case 7: {
              obj.timestampMs = reader.uint64()
              break
            }
            case 8: {
              obj.queueCapacity = reader.uint32()
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
          capabilities: 64,
          taskTypes: 64
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.role`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.capabilities != null && obj.capabilities === opts.limits.capabilities) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              if (obj.capabilities === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              yield {
                field: `${prefix}.capabilities[]`,
                index: obj.capabilities,
                value: reader.string()
              }

              obj.capabilities++

              break
            }
            case 5: {
              if (opts.limits?.taskTypes != null && obj.taskTypes === opts.limits.taskTypes) {
                throw new MaxLengthError('Streaming decode error - repeated field "taskTypes" had too many elements')
              }

              if (obj.taskTypes === 64) {
                throw new MaxLengthError('Streaming decode error - repeated field "taskTypes" had too many elements')
              }

              yield {
                field: `${prefix}.taskTypes[]`,
                index: obj.taskTypes,
                value: reader.string()
              }

              obj.taskTypes++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxConcurrency`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.timestampMs`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.queueCapacity`,
                value: reader.uint32()
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

  export interface CapabilityAdvertisementPeerIdFieldEvent {
    field: '$.peerId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapabilityAdvertisementNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface CapabilityAdvertisementRoleFieldEvent {
    field: '$.role'
    value: string
  }

  export interface CapabilityAdvertisementCapabilitiesFieldEvent {
    field: '$.capabilities[]'
    index: number
    value: string
  }

  export interface CapabilityAdvertisementTaskTypesFieldEvent {
    field: '$.taskTypes[]'
    index: number
    value: string
  }

  export interface CapabilityAdvertisementMaxConcurrencyFieldEvent {
    field: '$.maxConcurrency'
    value: number
  }

  export interface CapabilityAdvertisementTimestampMsFieldEvent {
    field: '$.timestampMs'
    value: bigint
  }

  export interface CapabilityAdvertisementQueueCapacityFieldEvent {
    field: '$.queueCapacity'
    value: number
  }

  export function encode (obj: Partial<CapabilityAdvertisement>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapabilityAdvertisement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement>): CapabilityAdvertisement {
    return decodeMessage(buf, CapabilityAdvertisement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement>): Generator<CapabilityAdvertisementPeerIdFieldEvent | CapabilityAdvertisementNameFieldEvent | CapabilityAdvertisementRoleFieldEvent | CapabilityAdvertisementCapabilitiesFieldEvent | CapabilityAdvertisementTaskTypesFieldEvent | CapabilityAdvertisementMaxConcurrencyFieldEvent | CapabilityAdvertisementTimestampMsFieldEvent | CapabilityAdvertisementQueueCapacityFieldEvent> {
    return streamMessage(buf, CapabilityAdvertisement.codec(), opts)
  }
}

export interface MemberSnapshot {
  messages: MemberSnapshot.Signed[]
}

export namespace MemberSnapshot {
  export enum Kind {
    HEARTBEAT = 'HEARTBEAT',
    CAPABILITIES = 'CAPABILITIES'
  }

  enum __KindValues {
    HEARTBEAT = 0,
    CAPABILITIES = 1
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  export interface Signed {
    kind: MemberSnapshot.Kind
    from: Uint8Array<ArrayBuffer>
    data: Uint8Array<ArrayBuffer>
    seqno: Uint8Array<ArrayBuffer>
    signature: Uint8Array<ArrayBuffer>
    ageMs: number
  }

  export namespace Signed {
    let _codec: Codec<Signed>

    export const codec = (): Codec<Signed> => {
      if (_codec == null) {
        _codec = message<Signed>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if (obj.kind != null && __KindValues[obj.kind] !== 0) {
            w.uint32(8)
            MemberSnapshot.Kind.codec().encode(obj.kind, w)
          }

          if ((obj.from != null && obj.from.byteLength > 0)) {
            w.uint32(18)
            w.bytes(obj.from)
          }

          if ((obj.data != null && obj.data.byteLength > 0)) {
            w.uint32(26)
            w.bytes(obj.data)
          }

          if ((obj.seqno != null && obj.seqno.byteLength > 0)) {
            w.uint32(34)
            w.bytes(obj.seqno)
          }

          if ((obj.signature != null && obj.signature.byteLength > 0)) {
            w.uint32(42)
            w.bytes(obj.signature)
          }

          if ((obj.ageMs != null && obj.ageMs !== 0)) {
            w.uint32(48)
            w.uint32(obj.ageMs)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            kind: Kind.HEARTBEAT,
            from: uint8ArrayAlloc(0),
            data: uint8ArrayAlloc(0),
            seqno: uint8ArrayAlloc(0),
            signature: uint8ArrayAlloc(0),
            ageMs: 0
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.kind = MemberSnapshot.Kind.codec().decode(reader)
                break
              }
              case 2: {
                obj.from = reader.bytes()
                break
              }
              case 3: {
                obj.data = reader.bytes()
                break
              }
              case 4: {
                obj.seqno = reader.bytes()
                break
              }
              case 5: {
                obj.signature = reader.bytes()
                break
              }
              case 6: {
                obj.ageMs = reader.uint32()
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
                  field: `${prefix}.kind`,
                  value: MemberSnapshot.Kind.codec().decode(reader)
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.from`,
                  value: reader.bytes()
                }
                break
              }
              case 3: {
                yield {
                  field: `${prefix}.data`,
                  value: reader.bytes()
                }
                break
              }
              case 4: {
                yield {
                  field: `${prefix}.seqno`,
                  value: reader.bytes()
                }
                break
              }
              case 5: {
                yield {
                  field: `${prefix}.signature`,
                  value: reader.bytes()
                }
                break
              }
              case 6: {
                yield {
                  field: `${prefix}.ageMs`,
                  value: reader.uint32()
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

    export interface SignedKindFieldEvent {
      field: '$.kind'
      value: MemberSnapshot.Kind
    }

    export interface SignedFromFieldEvent {
      field: '$.from'
      value: Uint8Array<ArrayBuffer>
    }

    export interface SignedDataFieldEvent {
      field: '$.data'
      value: Uint8Array<ArrayBuffer>
    }

    export interface SignedSeqnoFieldEvent {
      field: '$.seqno'
      value: Uint8Array<ArrayBuffer>
    }

    export interface SignedSignatureFieldEvent {
      field: '$.signature'
      value: Uint8Array<ArrayBuffer>
    }

    export interface SignedAgeMsFieldEvent {
      field: '$.ageMs'
      value: number
    }

    export function encode (obj: Partial<Signed>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Signed.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Signed>): Signed {
      return decodeMessage(buf, Signed.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Signed>): Generator<SignedKindFieldEvent | SignedFromFieldEvent | SignedDataFieldEvent | SignedSeqnoFieldEvent | SignedSignatureFieldEvent | SignedAgeMsFieldEvent> {
      return streamMessage(buf, Signed.codec(), opts)
    }
  }

  let _codec: Codec<MemberSnapshot>

  export const codec = (): Codec<MemberSnapshot> => {
    if (_codec == null) {
      _codec = message<MemberSnapshot>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.messages != null && obj.messages.length > 0) {
          for (const value of obj.messages) {
            w.uint32(10)
            MemberSnapshot.Signed.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          messages: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.messages != null && obj.messages.length === opts.limits.messages) {
                throw new MaxLengthError('Decode error - repeated field "messages" had too many elements')
              }

              if (obj.messages.length === 4096) {
                throw new MaxLengthError('Decode error - repeated field "messages" had too many elements')
              }

              obj.messages.push(MemberSnapshot.Signed.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.messages$
              }))
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
          messages: 4096
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.messages != null && obj.messages === opts.limits.messages) {
                throw new MaxLengthError('Streaming decode error - repeated field "messages" had too many elements')
              }

              if (obj.messages === 4096) {
                throw new MaxLengthError('Streaming decode error - repeated field "messages" had too many elements')
              }

              for (const evt of MemberSnapshot.Signed.codec().stream(reader, reader.uint32(), `${prefix}.messages[]`, {
                limits: opts.limits?.messages$
              })) {
                yield {
                  ...evt,
                  index: obj.messages
                }
              }

              obj.messages++

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

  export interface MemberSnapshotMessagesKindFieldEvent {
    field: '$.messages[].kind'
    value: MemberSnapshot.Kind
    index: number
  }

  export interface MemberSnapshotMessagesFromFieldEvent {
    field: '$.messages[].from'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MemberSnapshotMessagesDataFieldEvent {
    field: '$.messages[].data'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MemberSnapshotMessagesSeqnoFieldEvent {
    field: '$.messages[].seqno'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MemberSnapshotMessagesSignatureFieldEvent {
    field: '$.messages[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MemberSnapshotMessagesAgeMsFieldEvent {
    field: '$.messages[].ageMs'
    value: number
    index: number
  }

  export function encode (obj: Partial<MemberSnapshot>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MemberSnapshot.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberSnapshot>): MemberSnapshot {
    return decodeMessage(buf, MemberSnapshot.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberSnapshot>): Generator<MemberSnapshotMessagesKindFieldEvent | MemberSnapshotMessagesFromFieldEvent | MemberSnapshotMessagesDataFieldEvent | MemberSnapshotMessagesSeqnoFieldEvent | MemberSnapshotMessagesSignatureFieldEvent | MemberSnapshotMessagesAgeMsFieldEvent> {
    return streamMessage(buf, MemberSnapshot.codec(), opts)
  }
}
