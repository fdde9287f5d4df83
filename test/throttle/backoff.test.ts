import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import { AppError } from '../../src/errors.ts'
import { type LimiterFactory, memoryLimiters } from '../../src/throttle/limiters.ts'
import {
  addressKey,
  backoffSeconds,
  createThrottle,
  noThrottle,
  type Throttle,
  type ThrottleLimits,
} from '../../src/throttle/throttle.ts'

// Unit tests of the throttle over in-memory limiters, on virtual time: the assertions are on
// Retry-After values and on what is blocked, exactly, however slow the machine is.

/** Generous defaults: each test lowers only the limits it is about. */
function limits(overrides: Partial<ThrottleLimits> = {}): ThrottleLimits {
  return {
    loginPerAddress: { points: 1000, seconds: 60 },
    registerPerAddress: { points: 1000, seconds: 60 },
    recoveryPerAddress: { points: 1000, seconds: 60 },
    backoffAfterPerAddress: 100,
    backoffAfterPerAccount: 100,
    backoffMaxSeconds: 900,
    failureLimit: 100,
    failureWindowSeconds: 600,
    ...overrides,
  }
}

/** A throttle over fresh memory limiters, and those limiters by key prefix (to read their state). */
function makeThrottle(overrides: Partial<ThrottleLimits> = {}) {
  const made = new Map<string, RateLimiterAbstract>()
  const memory = memoryLimiters('t')
  const factory: LimiterFactory = (options) => {
    const limiter = memory(options)
    made.set(options.keyPrefix, limiter)
    return limiter
  }
  return { throttle: createThrottle(factory, limits(overrides)), limiters: made }
}

/** The promise is refused with 429 rate_limited and a whole-second Retry-After ≥ 1; returns it. */
async function rateLimited(promise: Promise<unknown>, what: string): Promise<number> {
  let caught: unknown
  try {
    await promise
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof AppError, `${what}: expected a 429 AppError, got ${String(caught)}`)
  assert.equal(caught.code, 'rate_limited', what)
  assert.equal(caught.status, 429, what)
  const header = caught.headers['retry-after']
  assert.match(header ?? '', /^[1-9]\d*$/, `${what}: retry-after ${header}`)
  return Number(header)
}

/**
 * Virtual time for one test (restored when it ends). The memory limiters read the time with
 * Date.now() and forget records by setTimeout: both mocked from here on, so time moves only by
 * `advance` and a stalled machine (GC, other test files) cannot end a back-off early. Their
 * operations run synchronously, behind already-resolved promises: a tick needs no flushing.
 */
function virtualTime(t: TestContext): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.now() })
  return (ms) => t.mock.timers.tick(ms)
}

const PROBE = new Error('probe')

/**
 * Asks whether a password check would run now, without counting one: the check throws, and a
 * check that throws is taken back (as after a 503). Resolves, or rejects with the throttle's 429.
 */
async function check(throttle: Throttle, account: string, address: string): Promise<void> {
  try {
    await throttle.guard(account, address, async () => {
      throw PROBE
    })
  } catch (error) {
    if (error !== PROBE) throw error
  }
}

/** Not blocked: a check would run. */
async function allowed(throttle: Throttle, account: string, address: string, what: string) {
  await assert.doesNotReject(check(throttle, account, address), what)
}

/** One wrong password, which must have been checked (not refused). */
async function fail(throttle: Throttle, account: string, address: string) {
  assert.equal(await throttle.guard(account, address, async () => false), false)
}

async function succeed(throttle: Throttle, account: string, address: string) {
  assert.equal(await throttle.guard(account, address, async () => true), true)
}

async function failTimes(throttle: Throttle, account: string, address: string, n: number) {
  for (let i = 0; i < n; i++) await fail(throttle, account, address)
}

describe('backoffSeconds', () => {
  test('0 before `after` failures, then 1, 2, 4, … seconds', () => {
    for (const failures of [0, 1, 2, 3, 4]) assert.equal(backoffSeconds(failures, 5, 900), 0)
    assert.deepEqual(
      [5, 6, 7, 8, 9, 10, 11].map((n) => backoffSeconds(n, 5, 900)),
      [1, 2, 4, 8, 16, 32, 64],
    )
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => backoffSeconds(n, 1, 900)),
      [0, 1, 2, 4],
    )
  })

  test('capped at maxSeconds, also for very many failures', () => {
    assert.deepEqual(
      [3, 4, 5, 6, 7, 50].map((n) => backoffSeconds(n, 3, 5)),
      [1, 2, 4, 5, 5, 5],
    )
    assert.equal(backoffSeconds(1, 1, 1), 1)
    assert.equal(backoffSeconds(10, 1, 1), 1)
    // No overflow to Infinity or NaN: the cap holds.
    assert.equal(backoffSeconds(5000, 1, 86400), 86400)
    assert.equal(backoffSeconds(100, 1, 86400), 86400)
  })
})

describe('addressKey', () => {
  test('IPv4 as is; IPv4-mapped IPv6 as IPv4; IPv6 by its /64', () => {
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1')
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1')
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:db8:1:2::9'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:0db8:0001:0002:aaaa::1'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(addressKey('::1'), '0:0:0:0::/64')
  })
})

describe('createThrottle (memory limiters)', () => {
  test('the N-th failure from one address blocks that account+address, for 1, 2, 4, … s', async (t) => {
    virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 3, backoffMaxSeconds: 8 })
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'after 1 failure')
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'after 2 failures')
    await fail(throttle, 'alice', '192.0.2.1')
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.1'), '3 failures'), 1)

    // Only that pair: another address on the account, and another account from the address, go on.
    await allowed(throttle, 'alice', '192.0.2.2', 'another address')
    await allowed(throttle, 'bob', '192.0.2.1', 'another account')

    // While blocked, no password is checked at all, and nothing is counted.
    let ran = false
    await rateLimited(
      throttle.guard('alice', '192.0.2.1', async () => {
        ran = true
        return false
      }),
      'a check while blocked',
    )
    assert.equal(ran, false)
  })

  test('each failure after the threshold doubles the wait, up to the cap', async (t) => {
    const advance = virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 1, backoffMaxSeconds: 2 })
    const waits: number[] = []
    for (let i = 0; i < 3; i++) {
      await fail(throttle, 'alice', '192.0.2.1')
      const wait = await rateLimited(check(throttle, 'alice', '192.0.2.1'), `failure ${i + 1}`)
      waits.push(wait)
      advance(wait * 1000)
    }
    assert.deepEqual(waits, [1, 2, 2])
  })

  // Real time, as the checks sleep in it; yet no stall can change the outcome. The 20 guards start
  // at once and, the memory limiters answering through resolved promises, all get past the
  // threshold and gate (or are refused) within the microtasks of this one turn of the event loop,
  // before any check's sleep can end: the 1 s back-offs the checks then set are never consulted.
  test('simultaneous checks cannot outrun the threshold', async () => {
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 3, backoffAfterPerAccount: 3 })
    let ran = 0
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        throttle.guard('alice', '192.0.2.1', async () => {
          ran++
          await sleep(20)
          return false
        }),
      ),
    )
    assert.equal(ran, 3, `${ran} checks ran`)
    const refused = results.filter((r) => r.status === 'rejected')
    assert.equal(refused.length, 20 - ran)
    for (const r of refused) {
      assert.ok(
        r.status === 'rejected' && r.reason instanceof AppError && r.reason.code === 'rate_limited',
      )
    }
  })

  test('a back-off ends after its Retry-After', async (t) => {
    const advance = virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 2 })
    await failTimes(throttle, 'alice', '192.0.2.1', 2)
    const wait = await rateLimited(check(throttle, 'alice', '192.0.2.1'), 'blocked')
    assert.equal(wait, 1)
    // Still blocked when asked again at once: checking does not consume or clear anything.
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.1'), 'again'), 1)
    // Until the last millisecond of the Retry-After, and no longer.
    advance(wait * 1000 - 1)
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.1'), '1 ms before'), 1)
    advance(1)
    await allowed(throttle, 'alice', '192.0.2.1', 'after the Retry-After')
    // The failures are still remembered: the next one backs off longer.
    await fail(throttle, 'alice', '192.0.2.1')
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.1'), '3rd'), 2)
  })

  test('other addresses are blocked only once the per-account threshold is reached', async (t) => {
    const advance = virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 3, backoffAfterPerAccount: 5 })
    await failTimes(throttle, 'alice', '192.0.2.1', 3)
    await rateLimited(check(throttle, 'alice', '192.0.2.1'), 'A after 3')
    await allowed(throttle, 'alice', '192.0.2.2', 'B: account at 3 of 5')
    await fail(throttle, 'alice', '192.0.2.2')
    await allowed(throttle, 'alice', '192.0.2.2', 'B: account at 4 of 5')
    await allowed(throttle, 'alice', '192.0.2.3', 'C: account at 4 of 5')
    await fail(throttle, 'alice', '192.0.2.3')
    // The 5th failure of the account: every address waits, also one that never failed.
    for (const address of ['192.0.2.2', '192.0.2.3', '192.0.2.4']) {
      assert.equal(await rateLimited(check(throttle, 'alice', address), address), 1)
    }
    await allowed(throttle, 'bob', '192.0.2.4', 'another account')
    // And once that wait is over, the account's own back-off doubles.
    advance(1000)
    await fail(throttle, 'alice', '192.0.2.4')
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.5'), '6th'), 2)
  })

  test('the per-account lock at failureLimit lasts for the rest of the failure window', async (t) => {
    const advance = virtualTime(t)
    const { throttle, limiters } = makeThrottle({ failureLimit: 3, failureWindowSeconds: 3 })
    await fail(throttle, 'alice', '192.0.2.1')
    // Later failures do not extend the window: it runs from the first one.
    advance(1100)
    await fail(throttle, 'alice', '192.0.2.2')
    await allowed(throttle, 'alice', '192.0.2.3', 'two failures of three')
    await fail(throttle, 'alice', '192.0.2.3')

    const accountFailures = limiters.get('fail:acct')
    assert.ok(accountFailures, 'a fail:acct limiter was made')
    const window = await accountFailures.get('alice')
    assert.ok(window, 'the account failures are counted')
    assert.equal(window.consumedPoints, 3)
    // The rest of the 3 s window that began 1.1 s ago, 1.9 s, in whole seconds: not a whole new
    // window, not a back-off of 1 s (backoffAfterPerAccount is 100).
    assert.equal(window.msBeforeNext, 1900)
    const waits: number[] = []
    for (const address of ['192.0.2.1', '192.0.2.3', '192.0.2.9']) {
      waits.push(await rateLimited(check(throttle, 'alice', address), address))
    }
    assert.deepEqual(waits, [2, 2, 2])

    // Locked until the Retry-After has passed; when it ends the count starts over: one more
    // failure is not a lock.
    advance(2000 - 1)
    await rateLimited(check(throttle, 'alice', '192.0.2.9'), '1 ms before the Retry-After')
    advance(1)
    await allowed(throttle, 'alice', '192.0.2.1', 'after the window')
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'a failure in a new window')
    await allowed(throttle, 'alice', '192.0.2.4', 'a failure in a new window, other address')
  })

  test('the lock at failureLimit is given at once for a long window', async (t) => {
    virtualTime(t)
    const { throttle } = makeThrottle({ failureLimit: 4, failureWindowSeconds: 600 })
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      await fail(throttle, 'alice', address)
      await allowed(throttle, 'alice', address, address)
    }
    await fail(throttle, 'alice', '192.0.2.4')
    // All of the 600 s window: no time passed since its first failure.
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.200'), 'locked'), 600)
  })

  test('a success resets the address and account counts', async (t) => {
    virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 3, backoffAfterPerAccount: 5 })
    await failTimes(throttle, 'alice', '192.0.2.1', 2)
    await failTimes(throttle, 'alice', '192.0.2.2', 2)
    await succeed(throttle, 'alice', '192.0.2.1')
    // Without the reset this would be A's 3rd failure and the account's 5th: both would block.
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'A after success + 1 failure')
    await allowed(throttle, 'alice', '192.0.2.3', 'another address after success + 1 failure')
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'A after success + 2 failures')
    // Counting resumes from zero: the 3rd failure since the success blocks A again.
    await fail(throttle, 'alice', '192.0.2.1')
    assert.equal(await rateLimited(check(throttle, 'alice', '192.0.2.1'), 'A 3rd'), 1)
  })

  test('a success on one account leaves other accounts counting', async (t) => {
    virtualTime(t)
    const { throttle } = makeThrottle({ backoffAfterPerAddress: 2 })
    await fail(throttle, 'alice', '192.0.2.1')
    await fail(throttle, 'bob', '192.0.2.1')
    await succeed(throttle, 'alice', '192.0.2.1')
    await fail(throttle, 'bob', '192.0.2.1')
    await rateLimited(check(throttle, 'bob', '192.0.2.1'), 'bob 2nd failure')
    await fail(throttle, 'alice', '192.0.2.1')
    await allowed(throttle, 'alice', '192.0.2.1', 'alice 1st failure since success')
  })

  test('per-address login rate: 429 rate_limited with Retry-After beyond it', async (t) => {
    virtualTime(t)
    const { throttle } = makeThrottle({ loginPerAddress: { points: 3, seconds: 60 } })
    for (let i = 0; i < 3; i++) await throttle.loginAttempt('192.0.2.1')
    const wait = await rateLimited(throttle.loginAttempt('192.0.2.1'), '4th login attempt')
    assert.equal(wait, 60, 'the whole 60 s window: no time passed')
    await rateLimited(throttle.loginAttempt('192.0.2.1'), '5th login attempt')
    // Another address, and registrations from the same address, have their own counts.
    await assert.doesNotReject(throttle.loginAttempt('192.0.2.2'))
    await assert.doesNotReject(throttle.registration('192.0.2.1'))
  })

  test('per-address registration rate: 429 rate_limited, and allowed again after the window', async (t) => {
    const advance = virtualTime(t)
    const { throttle } = makeThrottle({ registerPerAddress: { points: 2, seconds: 1 } })
    await throttle.registration('192.0.2.1')
    await throttle.registration('192.0.2.1')
    const wait = await rateLimited(throttle.registration('192.0.2.1'), '3rd registration')
    assert.equal(wait, 1)
    await assert.doesNotReject(throttle.registration('192.0.2.2'), 'another address')
    await assert.doesNotReject(throttle.loginAttempt('192.0.2.1'), 'a login attempt')
    advance(wait * 1000 - 1)
    await rateLimited(throttle.registration('192.0.2.1'), '1 ms before the Retry-After')
    advance(1)
    await assert.doesNotReject(throttle.registration('192.0.2.1'), 'after the Retry-After')
  })

  test('the 429 is an AppError the HTTP layer turns into a problem with Retry-After', async () => {
    const { throttle } = makeThrottle({ loginPerAddress: { points: 1, seconds: 60 } })
    await throttle.loginAttempt('192.0.2.1')
    await assert.rejects(throttle.loginAttempt('192.0.2.1'), (error: unknown) => {
      assert.ok(error instanceof AppError)
      assert.equal(error.code, 'rate_limited')
      assert.equal(error.status, 429)
      assert.deepEqual(Object.keys(error.headers), ['retry-after'])
      assert.equal(typeof error.detail, 'string')
      return true
    })
  })

  test('noThrottle never refuses', async () => {
    for (let i = 0; i < 50; i++) {
      await noThrottle.loginAttempt('192.0.2.1')
      await noThrottle.registration('192.0.2.1')
      assert.equal(await noThrottle.guard('alice', '192.0.2.1', async () => false), false)
    }
    await allowed(noThrottle, 'alice', '192.0.2.1', 'noThrottle')
  })
})
