import { decodeMessage, encodeMessage, enumeration, MaxLengthError, MaxSizeError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface TaskRequest {
  id: string
  type: string
  payload: Uint8Array<ArrayBuffer>
  reward: bigint
  timeoutMs: number
  attempt: number
  submitter: Uint8Array<ArrayBuffer>
  params: Map<string, string>
  cancel: boolean
  follow: boolean
}

export namespace TaskRequest {
  export interface TaskRequest$paramsEntry {
    key: string
    value: string
  }

  export namespace TaskRequest$paramsEntry {
    let _codec: Codec<TaskRequest$paramsEntry>

    export const codec = (): Codec<TaskRequest$paramsEntry> => {
      if (_codec == null) {
        _codec = message<TaskRequest$paramsEntry>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.key != null && obj.key !== '')) {
            w.uint32(10)
            w.string(obj.key)
          }

          if ((obj.value != null && obj.value !== '')) {
            w.uint32(18)
            w.string(obj.value)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            key: '',
            value: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.key = reader.string()
                break
              }
              case 2: {
                obj.value = reader.string()
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
                  field: `${prefix}.key`,
                  value: reader.string()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.value`,
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

    export interface TaskRequest$paramsEntryKeyFieldEvent {
      field: '$.key'
      value: string
    }

    export interface TaskRequest$paramsEntryValueFieldEvent {
      field: '$.value'
      value: string
    }

    export function encode (obj: Partial<TaskRequest$paramsEntry>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, TaskRequest$paramsEntry.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest$paramsEntry>): TaskRequest$paramsEntry {
      return decodeMessage(buf, TaskRequest$paramsEntry.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest$paramsEntry>): Generator<TaskRequest$paramsEntryKeyFieldEvent | TaskRequest$paramsEntryValueFieldEvent> {
      return streamMessage(buf, TaskRequest$paramsEntry.codec(), opts)
    }
  }

  let _codec: Codec<TaskRequest>

  export const codec = (): Codec<TaskRequest> => {
    if (_codec == null) {
      _codec = message<TaskRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.type != null && obj.type !== '')) {
          w.uint32(18)
          w.string(obj.type)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.payload)
        }

        if ((obj.reward != null && obj.reward !== 0n)) {
          w.uint32(32)
          w.uint64(obj.reward)
        }

        if ((obj.timeoutMs != null && obj.timeoutMs !== 0)) {
          w.uint32(40)
          w.uint32(obj.timeoutMs)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(48)
          w.uint32(obj.attempt)
        }

        if ((obj.submitter != null && obj.submitter.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.submitter)
        }

        if (obj.params != null && obj.params.size > 0) {
          for (const [key, value] of obj.params.entries()) {
            w.uint32(66)
            TaskRequest.TaskRequest$paramsEntry.codec().encode({ key, value }, w)
          }
        }

        if ((obj.cancel != null && obj.cancel !== false)) {
          w.uint32(72)
          w.bool(obj.cancel)
        }

        if ((obj.follow != null && obj.follow !== false)) {
          w.uint32(80)
          w.bool(obj.follow)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          type: '',
          payload: uint8ArrayAlloc(0),
          reward: 0n,
          timeoutMs: 0,
          attempt: 0,
          submitter: uint8ArrayAlloc(0),
          params: new Map<string, string>(),
          cancel: false,
          follow: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.type = reader.string()
              break
            }
            case 3: {
              obj.payload = reader.bytes()
              break
            }
            case 4: {
              obj.reward = reader.uint64()
              break
            }
            case 5: {
              obj.timeoutMs = reader.uint32()
              break
            }
            case 6: {
              obj.attempt = reader.uint32()
              break
            }
            case 7: {
              obj.submitter = reader.bytes()
              break
            }
            case 8: {
              if (opts.limits?.params != null && obj.params.size === opts.limits.params) {
                throw new MaxSizeError('Decode error - map field "params" had too many elements')
              }

              if (obj.params.size === 16) {
                throw new MaxSizeError('Decode error - map field "params" had too many elements')
              }

              const entry = TaskRequest.TaskRequest$paramsEntry.codec().decode(reader, reader.uint32(), {
                limits: {
                  value: opts.limits?.params$value
                }
              })
              obj.params.set(entry.key, entry.value)
              break
            }
            case 9: {
              obj.cancel = reader.bool()
              break
            }
            case 10: {
              obj.follow = reader.bool()
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
          params: 16
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.type`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.reward`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.timeoutMs`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.submitter`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              if (opts.limits?.params != null && obj.params === opts.limits.params) {
                throw new MaxLengthError('Decode error - map field "params" had too many elements')
              }

              if (obj.params === 16) {
                throw new MaxLengthError('Decode error - repeated field "params" had too many elements')
              }

              yield * TaskRequest.TaskRequest$paramsEntry.codec().stream(reader, reader.uint32(), `${prefix}.params{}`, {
                limits: {
                  value: opts.limits?.params$value
                }
              })

              obj.params++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.cancel`,
                value: reader.bool()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.follow`,
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

  export interface TaskRequestIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface TaskRequestTypeFieldEvent {
    field: '$.type'
    value: string
  }

  export interface TaskRequestPayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskRequestRewardFieldEvent {
    field: '$.reward'
    value: bigint
  }

  export interface TaskRequestTimeoutMsFieldEvent {
    field: '$.timeoutMs'
    value: number
  }

  export interface TaskRequestAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface TaskRequestSubmitterFieldEvent {
    field: '$.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskRequestParamsFieldEvent {
    field: '$.params{}'
    key: string
    value: string
  }

  export interface TaskRequestCancelFieldEvent {
    field: '$.cancel'
    value: boolean
  }

  export interface TaskRequestFollowFieldEvent {
    field: '$.follow'
    value: boolean
  }

  export function encode (obj: Partial<TaskRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): TaskRequest {
    return decodeMessage(buf, TaskRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): Generator<TaskRequestIdFieldEvent | TaskRequestTypeFieldEvent | TaskRequestPayloadFieldEvent | TaskRequestRewardFieldEvent | TaskRequestTimeoutMsFieldEvent | TaskRequestAttemptFieldEvent | TaskRequestSubmitterFieldEvent | TaskRequestParamsFieldEvent | TaskRequestCancelFieldEvent | TaskRequestFollowFieldEvent> {
    return streamMessage(buf, TaskRequest.codec(), opts)
  }
}

export interface TaskResponse {
  id: string
  status: TaskResponse.Status
  result: Uint8Array<ArrayBuffer>
  error: string
  worker: Uint8Array<ArrayBuffer>
  queueMs: number
  runMs: number
  reward: bigint
  duplicate: boolean
  dropped: number
}

export namespace TaskResponse {
  export enum Status {
    OK = 'OK',
    ERROR = 'ERROR',
    BUSY = 'BUSY',
    REJECTED = 'REJECTED',
    TIMEOUT = 'TIMEOUT',
    NOT_FOUND = 'NOT_FOUND',
    CANCELLED = 'CANCELLED',
    PROGRESS = 'PROGRESS'
  }

  enum __StatusValues {
    OK = 0,
    ERROR = 1,
    BUSY = 2,
    REJECTED = 3,
    TIMEOUT = 4,
    NOT_FOUND = 5,
    CANCELLED = 6,
    PROGRESS = 7
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<TaskResponse>

  export const codec = (): Codec<TaskResponse> => {
    if (_codec == null) {
      _codec = message<TaskResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(16)
          TaskResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.result != null && obj.result.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.result)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(34)
          w.string(obj.error)
        }

        if ((obj.worker != null && obj.worker.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.worker)
        }

        if ((obj.queueMs != null && obj.queueMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.queueMs)
        }

        if ((obj.runMs != null && obj.runMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.runMs)
        }

        if ((obj.reward != null && obj.reward !== 0n)) {
          w.uint32(64)
          w.uint64(obj.reward)
        }

        if ((obj.duplicate != null && obj.duplicate !== false)) {
          w.uint32(72)
          w.bool(obj.duplicate)
        }

        if ((obj.dropped != null && obj.dropped !== 0)) {
          w.uint32(80)
          w.uint32(obj.dropped)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          status: Status.OK,
          result: uint8ArrayAlloc(0),
          error: '',
          worker: uint8ArrayAlloc(0),
          queueMs: 0,
          runMs: 0,
          reward: 0n,
          duplicate: false,
          dropped: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.status = TaskResponse.Status.codec().decode(reader)
              break
            }
            case 3: {
              obj.result = reader.bytes()
              break
            }
            case 4: {
              obj.error = reader.string()
              break
            }
            case 5: {
              obj.worker = reader.bytes()
              break
            }
            case 6: {
              obj.queueMs = reader.uint32()
              break
            }
            case 7: {
              obj.runMs = reader.uint32()
              break
            }
            case 8: {
              obj.reward = reader.uint64()
              break
            }
            case 9: {
              obj.duplicate = reader.bool()
              break
            }
            case 10: {
              obj.dropped = reader.uint32()
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
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.status`,
                value: TaskResponse.Status.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.result`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.worker`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.queueMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.runMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.reward`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.duplicate`,
                value: reader.bool()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.dropped`,
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

  export interface TaskResponseIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface TaskResponseStatusFieldEvent {
    field: '$.status'
    value: TaskResponse.Status
  }

  export interface TaskResponseResultFieldEvent {
    field: '$.result'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface TaskResponseWorkerFieldEvent {
    field: '$.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResponseQueueMsFieldEvent {
    field: '$.queueMs'
    value: number
  }

  export interface TaskResponseRunMsFieldEvent {
    field: '$.runMs'
    value: number
  }

  export interface TaskResponseRewardFieldEvent {
    field: '$.reward'
    value: bigint
  }

  export interface TaskResponseDuplicateFieldEvent {
    field: '$.duplicate'
    value: boolean
  }

  export interface TaskResponseDroppedFieldEvent {
    field: '$.dropped'
    value: number
  }

  export function encode (obj: Partial<TaskResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResponse>): TaskResponse {
    return decodeMessage(buf, TaskResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResponse>): Generator<TaskResponseIdFieldEvent | TaskResponseStatusFieldEvent | TaskResponseResultFieldEvent | TaskResponseErrorFieldEvent | TaskResponseWorkerFieldEvent | TaskResponseQueueMsFieldEvent | TaskResponseRunMsFieldEvent | TaskResponseRewardFieldEvent | TaskResponseDuplicateFieldEvent | TaskResponseDroppedFieldEvent> {
    return streamMessage(buf, TaskResponse.codec(), opts)
  }
}
