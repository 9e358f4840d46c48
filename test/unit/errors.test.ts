import { describe, expect, it } from 'vitest'
import {
  CommandError, ConfigError, exitCodeOf, httpStatusOf, NoCapableWorkerError, NotActiveError, NotRunningError, PayloadTooLargeError, UnknownServiceError, UsageError
} from '../../src/util/errors.js'
import { parseTaskArgs, parseTaskJson } from '../../src/tasks/args.js'

describe('one map from a failure to an exit code and an HTTP status', () => {
  const cases: Array<[Error, number, number]> = [
    [new UsageError('bad'), 2, 400],
    [new ConfigError([{ path: 'node.role', message: 'required' }]), 2, 400],
    [new UnknownServiceError('no such service'), 2, 404],
    [new NotActiveError('not active here'), 1, 409],
    [new NoCapableWorkerError('nobody offers it'), 2, 422],
    [new PayloadTooLargeError('too big'), 2, 413],
    [new NotRunningError('no daemon'), 1, 503],
    [new Error('anything else'), 1, 500]
  ]
  it.each(cases)('%s -> exit %i, HTTP %i', (err, exit, http) => {
    expect(exitCodeOf(err)).toBe(exit)
    expect(httpStatusOf(err)).toBe(http)
    // across the control socket only the name travels: the CLI maps what the daemon threw the same way
    expect(exitCodeOf(new CommandError(err.message, err.name))).toBe(exit)
  })
})

describe('task fields: one set of rules for the command line and the JSON API', () => {
  const same: Array<[string[], Record<string, unknown>, RegExp]> = [
    [['echo', '--timeout', 'soon'], { type: 'echo', timeout: 'soon' }, /timeout: a duration/],
    [['echo', '--reward', '-1'], { type: 'echo', reward: -1 }, /reward: a whole number of credits/],
    [['echo', '--retries', '101'], { type: 'echo', retries: 101 }, /retries: a number from 0 to 100/],
    [['echo', '--capability', 'Bad Cap'], { type: 'echo', capability: 'Bad Cap' }, /capability: a capability name/],
    [['echo', '--cost', 'x'], { type: 'echo', cost: 'x' }, /cost: a whole number/],
    [['Bad Type!'], { type: 'Bad Type!' }, /type: a task type name/]
  ]
  it.each(same)('%j and %j are refused for the same reason', (words, body, reason) => {
    const cli = parseTaskArgs(words)
    const api = parseTaskJson(body)
    expect(cli.ok || api.ok).toBe(false)
    expect(!cli.ok && cli.error).toMatch(reason)
    expect(!api.ok && api.error).toMatch(reason)
  })
  it('and accepted into the same spec', () => {
    const cli = parseTaskArgs(['echo', 'hi', '--timeout', '5s', '--reward', '3', '--retries', '2', '--capability', 'gpu', '--cost', '7', '--broadcast'])
    const api = parseTaskJson({ type: 'echo', payload: 'hi', timeout: '5s', reward: 3, retries: 2, capability: 'gpu', cost: 7, broadcast: true })
    expect(cli.ok && api.ok).toBe(true)
    expect(cli.ok && cli.spec).toEqual(api.ok && api.spec)
    expect(cli.ok && cli.spec).toMatchObject({ type: 'echo', timeoutMs: 5000, reward: 3, maxRetries: 2, capability: 'gpu', broadcast: true, params: { cost: '7' } })
  })
})
