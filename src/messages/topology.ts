import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Links {
  links: Links.Link[]
}

export namespace Links {
  export interface Link {
    peer: Uint8Array<ArrayBuffer>
    relayed: boolean
  }

  export namespace Link {
    let _codec: Codec<Link>

    export const codec = (): Codec<Link> => {
      if (_codec == null) {
        _codec = message<Link>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.peer != null && obj.peer.byteLength > 0)) {
            w.uint32(10)
            w.bytes(obj.peer)
          }

          if ((obj.relayed != null && obj.relayed !== false)) {
            w.uint32(16)
            w.bool(obj.relayed)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            peer: uint8ArrayAlloc(0),
            relayed: false
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.peer = reader.bytes()
                break
              }
              case 2: {
                obj.relayed = reader.bool()
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
                  field: `${prefix}.peer`,
                  value: reader.bytes()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.relayed`,
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

    export interface LinkPeerFieldEvent {
      field: '$.peer'
      value: Uint8Array<ArrayBuffer>
    }

    export interface LinkRelayedFieldEvent {
      field: '$.relayed'
      value: boolean
    }

    export function encode (obj: Partial<Link>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Link.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Link>): Link {
      return decodeMessage(buf, Link.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Link>): Generator<LinkPeerFieldEvent | LinkRelayedFieldEvent> {
      return streamMessage(buf, Link.codec(), opts)
    }
  }

  let _codec: Codec<Links>

  export const codec = (): Codec<Links> => {
    if (_codec == null) {
      _codec = message<Links>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.links != null && obj.links.length > 0) {
          for (const value of obj.links) {
            w.uint32(10)
            Links.Link.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          links: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.links != null && obj.links.length === opts.limits.links) {
                throw new MaxLengthError('Decode error - repeated field "links" had too many elements')
              }

              if (obj.links.length === 512) {
                throw new MaxLengthError('Decode error - repeated field "links" had too many elements')
              }

              obj.links.push(Links.Link.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.links$
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
          links: 512
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.links != null && obj.links === opts.limits.links) {
                throw new MaxLengthError('Streaming decode error - repeated field "links" had too many elements')
              }

              if (obj.links === 512) {
                throw new MaxLengthError('Streaming decode error - repeated field "links" had too many elements')
              }

              for (const evt of Links.Link.codec().stream(reader, reader.uint32(), `${prefix}.links[]`, {
                limits: opts.limits?.links$
              })) {
                yield {
                  ...evt,
                  index: obj.links
                }
              }

              obj.links++

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

  export interface LinksLinksPeerFieldEvent {
    field: '$.links[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface LinksLinksRelayedFieldEvent {
    field: '$.links[].relayed'
    value: boolean
    index: number
  }

  export function encode (obj: Partial<Links>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Links.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Links>): Links {
    return decodeMessage(buf, Links.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Links>): Generator<LinksLinksPeerFieldEvent | LinksLinksRelayedFieldEvent> {
    return streamMessage(buf, Links.codec(), opts)
  }
}
