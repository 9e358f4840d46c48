import type { Handler } from './handler.js'

/** returns the payload: for tests and benchmarks */
export const echoHandler: Handler = {
  type: 'echo',
  run: async ctx => ctx.payload
}
