import type { normalize } from './normalize.js'

/** an object type whose keys that may hold undefined are optional ones (deeply), as a reader of a config expects */
type Settled<T> = T extends Uint8Array | ((...args: any[]) => unknown)
  ? T
  : T extends ReadonlyArray<infer U>
    ? Array<Settled<U>>
    : T extends object
      ? { [K in keyof T as undefined extends T[K] ? never : K]: Settled<T[K]> } & { [K in keyof T as undefined extends T[K] ? K : never]?: Settled<Exclude<T[K], undefined>> }
      : T

/**
 * The validated, fully defaulted configuration every other module receives; durations in ms. Its keys are named
 * once, in normalize (./normalize.ts), and typed by the schema (./schema.ts): this is the type of what it returns.
 */
export type NodeConfig = Settled<ReturnType<typeof normalize>> & {
  /** keys that were read but not used (the seed format's extras): logged at start */
  warnings?: string[]
}
export type HandlerConfig = NodeConfig['tasks']['handlers'][string]
/** one supervised program (docs/adr/0003-failover-design.md) */
export type FailoverServiceConfig = NodeConfig['failover']['services'][number]
export type HookEvent = keyof FailoverServiceConfig['hooks']
export type Hook = FailoverServiceConfig['hooks'][HookEvent][number]
