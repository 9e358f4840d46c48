import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface DialBackResponse {
  status: DialBackResponse.Status
  address: string
  observed: string
}

export namespace DialBackResponse {
  export enum Status {
    REACHABLE = 'REACHABLE',
    UNREACHABLE = 'UNREACHABLE',
    NO_ADDRESS = 'NO_ADDRESS',
    REFUSED = 'REFUSED'
  }

  enum __StatusValues {
    REACHABLE = 0,
    UNREACHABLE = 1,
    NO_ADDRESS = 2,
    REFUSED = 3
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<DialBackResponse>

  export const codec = (): Codec<DialBackResponse> => {
    if (_codec == null) {
      _codec = message<DialBackResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          DialBackResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.address != null && obj.address !== '')) {
          w.uint32(18)
          w.string(obj.address)
        }

        if ((obj.observed != null && obj.observed !== '')) {
          w.uint32(26)
          w.string(obj.observed)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.REACHABLE,
          address: '',
          observed: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = DialBackResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.address = reader.string()
              break
            }
            case 3: {
              obj.observed = reader.string()
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
                field: `${prefix}.status`,
                value: DialBackResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.address`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.observed`,
                value: reader.string()
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

  export interface DialBackResponseStatusFieldEvent {
    field: '$.status'
    value: DialBackResponse.Status
  }

  export interface DialBackResponseAddressFieldEvent {
    field: '$.address'
    value: string
  }

  export interface DialBackResponseObservedFieldEvent {
    field: '$.observed'
    value: string
  }

  export function encode (obj: Partial<DialBackResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DialBackResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackResponse>): DialBackResponse {
    return decodeMessage(buf, DialBackResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackResponse>): Generator<DialBackResponseStatusFieldEvent | DialBackResponseAddressFieldEvent | DialBackResponseObservedFieldEvent> {
    return streamMessage(buf, DialBackResponse.codec(), opts)
  }
}
