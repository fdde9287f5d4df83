import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import type { App } from '../../src/app.ts'
import { eventually } from '../support/eventually.ts'
import { freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { REDIS_URL, scanKeys } from '../support/redis.ts'
import { health, loginFrom, PASSWORD, registerFrom } from '../support/requests.ts'
import { conclusively, stopwatch, TooSlow, unlessTooSlow } from '../support/timing.ts'

// The throttling limits shared through Redis by two instances on one PostgreSQL database. The
// Redis server is shared with other test runs: every test writes under its own key prefix and
// deletes its keys afterwards.
//
// Real time. Within WITHIN_MS nothing at Redis can change behind a test's back: no 1 s back-off
// runs out, and no command waits long enough to be given up (REDIS_COMMAND_TIMEOUT_MS in
// src/throttle/plugin.ts) and answered by an instance's in-memory insurance limiter instead. A run
// whose answer is wrong only after that much real time (a stalled machine) proves nothing and is
// run again (test/support/timing.ts); a run that was fast enough must pass every assertion.

const WITHIN_MS = 500
/** The shortest back-off, the first one. */
const FIRST_BACKOFF_MS = 1000
const WRONG = 'not the right password at all'
const A = '192.0.2.1'
const B = '192.0.2.2'

/** A Redis client for the test, and a unique prefix whose keys are deleted after it. */
async function redisFor(t: TestContext) {
  const prefix = `test-${randomUUID()}`
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  t.after(async () => {
    const keys = await scanKeys(redis, prefix)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })
  return { redis, prefix }
}

/** Polls readiness until Redis is connected, as a load balancer would before sending traffic. */
function untilReady(app: App): Promise<LightMyRequestResponse> {
  return eventually(() => health(app, 'ready'), {
    what: 'Redis connected',
    until: (res) => res.json().checks?.redis === 'ok',
    timeoutMs: 5000,
    lastOnTimeout: true,
  })
}

/** Two instances on one PostgreSQL database, sharing limits through Redis under one prefix. */
async function twoInstances(t: TestContext, env: Record<string, string> = {}) {
  const { redis, prefix } = await redisFor(t)
  const databaseUrl = await freshDatabaseUrl(t, 'postgres')
  const shared = { REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env }
  const first = await makeApp(t, { databaseUrl, env: shared })
  const second = await makeApp(t, { databaseUrl, env: shared })
  for (const app of [first.app, second.app]) {
    const ready = await untilReady(app)
    assert.equal(ready.json().checks.redis, 'ok', `Redis not connected: ${ready.body}`)
  }
  return { a: first.app, b: second.app, redis, prefix }
}

describe('throttling shared through Redis (two instances, postgres)', () => {
  test('/health/ready reports Redis: checks.redis "ok", status "ok"', async (t) => {
    await conclusively(t, async () => {
      const { a, b } = await twoInstances(t)
      for (const app of [a, b]) {
        let elapsed = stopwatch()
        const res = await health(app, 'ready')
        unlessTooSlow(res.json().checks?.redis === 'ok', elapsed, WITHIN_MS, 'ready')
        assert.equal(res.statusCode, 200, res.body)
        assert.deepEqual(res.json(), {
          status: 'ok',
          checks: { database: 'ok', signing_key: 'ok', redis: 'ok', mail: 'ok', webhooks: 'ok' },
        })
        elapsed = stopwatch()
        const status = await app.sharedState.status()
        unlessTooSlow(status === 'ok', elapsed, WITHIN_MS, 'sharedState')
        assert.equal(status, 'ok')
      }
    })
  })

  test('failures at both instances add up to one back-off', async (t) => {
    await conclusively(t, async () => {
      const { a, b } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '4' })
      assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
      const elapsed = stopwatch()
      for (const [app, what] of [
        [a, 'A 1'],
        [a, 'A 2'],
        [b, 'B 1'],
        [b, 'B 2'],
      ] as const) {
        assertProblem(await loginFrom(app, A, 'alice', WRONG), 401, 'invalid_credentials', what)
      }
      // Four failures from one address, two at each instance: both refuse it, right password or
      // not.
      for (const [app, what] of [
        [a, 'next at A'],
        [b, 'next at B'],
      ] as const) {
        const res = await loginFrom(app, A, 'alice')
        unlessTooSlow(res.statusCode === 429, elapsed, WITHIN_MS, what)
        assert.equal(assertRateLimited(res, what), 1)
      }
      // Another address is not backing off.
      assert.equal((await loginFrom(b, B, 'alice')).statusCode, 200)
    })
  })

  test('the per-account back-off is shared too', async (t) => {
    await conclusively(t, async () => {
      const { a, b } = await twoInstances(t, { THROTTLE_ACCOUNT_BACKOFF_AFTER: '3' })
      assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
      const elapsed = stopwatch()
      assertProblem(await loginFrom(a, '192.0.2.11', 'alice', WRONG), 401, 'invalid_credentials')
      assertProblem(await loginFrom(b, '192.0.2.12', 'alice', WRONG), 401, 'invalid_credentials')
      assertProblem(await loginFrom(a, '192.0.2.13', 'alice', WRONG), 401, 'invalid_credentials')
      const res = await loginFrom(b, '192.0.2.14', 'alice')
      unlessTooSlow(res.statusCode === 429, elapsed, WITHIN_MS, 'a 4th address at B')
      assertRateLimited(res, 'a 4th address at B')
    })
  })

  test('a success at one instance resets the counts the other sees', async (t) => {
    await conclusively(t, async () => {
      const { a, b } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '4' })
      assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
      const elapsed = stopwatch()
      for (let i = 0; i < 3; i++) {
        assertProblem(await loginFrom(a, A, 'alice', WRONG), 401, 'invalid_credentials')
      }
      assert.equal((await loginFrom(b, A, 'alice')).statusCode, 200)
      // Without the reset the first of these would be the 4th failure and the next a 429.
      for (let i = 0; i < 3; i++) {
        const res = await loginFrom(a, A, 'alice', WRONG)
        unlessTooSlow(res.statusCode === 401, elapsed, WITHIN_MS, `failure ${i} after the reset`)
        assertProblem(res, 401, 'invalid_credentials', `${i}`)
      }
      const res = await loginFrom(a, A, 'alice')
      unlessTooSlow(res.statusCode === 200, elapsed, WITHIN_MS, 'the right password')
      assert.equal(res.statusCode, 200)
    })
  })

  test('the per-address login and registration rates are shared', async (t) => {
    await conclusively(t, async () => {
      const { a, b } = await twoInstances(t, {
        THROTTLE_LOGIN_PER_ADDRESS: '3',
        THROTTLE_REGISTER_PER_ADDRESS: '2',
      })
      const elapsed = stopwatch()
      /** A 429, unless a count may have been lost to a command timed out at Redis. */
      const refused = (res: LightMyRequestResponse, what: string) => {
        unlessTooSlow(res.statusCode === 429, elapsed, WITHIN_MS, what)
        return assertRateLimited(res, what)
      }
      assert.equal((await registerFrom(a, A, 'alice')).statusCode, 201)
      assert.equal((await registerFrom(b, A, 'bob')).statusCode, 201)
      refused(await registerFrom(a, A, 'carol'), '3rd registration from A')
      refused(await registerFrom(b, A, 'carol'), '4th registration from A')
      assert.equal((await loginFrom(a, B, 'carol')).statusCode, 401, 'carol was not created')

      assert.equal((await loginFrom(a, A, 'alice')).statusCode, 200)
      assert.equal((await loginFrom(b, A, 'alice')).statusCode, 200)
      assert.equal((await loginFrom(a, A, 'bob')).statusCode, 200)
      const wait = refused(await loginFrom(b, A, 'bob'), '4th login attempt from A')
      // The rest of the 60 s window, which began with the 1st login attempt from A.
      const least = 60 - elapsed() / 1000
      assert.ok(wait >= least && wait <= 60, `retry-after ${wait}, ≥ ${least}`)
      refused(await loginFrom(a, A, 'bob'), '5th login attempt from A')
      // B used 2 of its 3 attempts; it is not A.
      assert.equal((await loginFrom(b, B, 'bob')).statusCode, 200)
    })
  })

  test('the counters are Redis keys under REDIS_KEY_PREFIX, with expiries, never holding a password', async (t) => {
    await conclusively(t, async () => {
      const { a, b, redis, prefix } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '2' })
      const secret = 'a guessed password nobody should store'
      assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
      // The block: key of the 1 s back-off is among the keys read, until it runs out.
      const elapsed = stopwatch()
      assertProblem(await loginFrom(a, A, 'alice', secret), 401, 'invalid_credentials')
      assertProblem(await loginFrom(b, A, 'alice', WRONG), 401, 'invalid_credentials')
      const res = await loginFrom(a, A, 'alice', PASSWORD)
      unlessTooSlow(res.statusCode === 429, elapsed, WITHIN_MS, 'backing off')
      assertRateLimited(res, 'backing off')

      const keys = await scanKeys(redis, prefix)
      assert.ok(keys.length > 0, 'keys under the prefix')
      const kinds = new Set(
        keys.map((key) =>
          key
            .slice(prefix.length + 1)
            .split(':', 2)
            .join(':'),
        ),
      )
      for (const kind of ['fail:addr', 'fail:acct', 'block:addr', 'login:addr', 'register:addr']) {
        unlessTooSlow(kinds.has(kind), elapsed, WITHIN_MS, `no ${kind} key`)
        assert.ok(kinds.has(kind), `a ${kind} key among ${keys.join(', ')}`)
      }
      for (const key of keys) {
        for (const password of [secret, WRONG, PASSWORD]) {
          assert.ok(!key.includes(password), `${key} holds a password`)
        }
        // Value and expiry at one instant: a key cannot run out between the two.
        const replies = await redis.multi().get(key).pttl(key).exec()
        assert.equal(replies?.length, 2, `MULTI for ${key}`)
        for (const [error] of replies) assert.ifError(error)
        const value = replies[0]?.[1]
        const ttl = replies[1]?.[1]
        // Gone since SCAN (pttl -2): only the 1 s back-off may be, and only once that much time
        // went by. Its value and expiry were then not read: the run proves too little.
        const gone = value === null && ttl === -2
        const mayRunOut = key.startsWith(`${prefix}:block:`)
        if (gone && mayRunOut && elapsed() >= FIRST_BACKOFF_MS) throw new TooSlow(`${key} ran out`)
        assert.match(String(value), /^\d+$/, `${key} holds a count, not ${value}`)
        assert.ok(typeof ttl === 'number' && ttl > 0, `${key} expires (pttl ${ttl})`)
      }
      // The counts themselves: two failures of alice from A, seen by both instances.
      const failures = keys.find((key) => key === `${prefix}:fail:acct:alice`)
      assert.ok(failures, `the account failure key among ${keys.join(', ')}`)
      const count = await redis.get(failures)
      unlessTooSlow(count === '2', elapsed, WITHIN_MS, `${count} failures counted`)
      assert.equal(count, '2')
    })
  })
})
