import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import type { App } from '../../src/app.ts'
import { assertProblem, health } from '../api.ts'
import { freshDatabaseUrl, makeApp, PASSWORD, scanKeys } from '../helpers.ts'

// The throttling limits shared through Redis by two instances on one PostgreSQL database. The
// Redis server is shared with other test runs: every test writes under its own key prefix and
// deletes its keys afterwards.

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
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
async function untilReady(app: App): Promise<LightMyRequestResponse> {
  let res = await health(app, 'ready')
  for (let i = 0; i < 50 && res.json().checks?.redis !== 'ok'; i++) {
    await sleep(100)
    res = await health(app, 'ready')
  }
  return res
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

function loginFrom(app: App, address: string, login: string, password = PASSWORD) {
  return app.inject({
    method: 'POST',
    url: '/session/',
    payload: { login, password },
    remoteAddress: address,
  })
}

function registerFrom(app: App, address: string, login: string) {
  return app.inject({
    method: 'POST',
    url: '/user/',
    payload: { login, password: PASSWORD },
    remoteAddress: address,
  })
}

function assertRateLimited(res: LightMyRequestResponse, what: string): number {
  assertProblem(res, 429, 'rate_limited', what)
  const header = res.headers['retry-after']
  assert.match(String(header), /^[1-9]\d*$/, `${what}: retry-after ${header}`)
  return Number(header)
}

describe('throttling shared through Redis (two instances, postgres)', () => {
  test('/health/ready reports Redis: checks.redis "ok", status "ok"', async (t) => {
    const { a, b } = await twoInstances(t)
    for (const app of [a, b]) {
      const res = await health(app, 'ready')
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(res.json(), {
        status: 'ok',
        checks: { database: 'ok', signing_key: 'ok', redis: 'ok' },
      })
      assert.equal(await app.sharedState.status(), 'ok')
    }
  })

  test('failures at both instances add up to one back-off', async (t) => {
    const { a, b } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '4' })
    assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
    for (const [app, what] of [
      [a, 'A 1'],
      [a, 'A 2'],
      [b, 'B 1'],
      [b, 'B 2'],
    ] as const) {
      assertProblem(await loginFrom(app, A, 'alice', WRONG), 401, 'invalid_credentials', what)
    }
    // Four failures from one address, two at each instance: both refuse it, right password or not.
    assert.equal(assertRateLimited(await loginFrom(a, A, 'alice'), 'next at A'), 1)
    assertRateLimited(await loginFrom(b, A, 'alice'), 'next at B')
    // Another address is not backing off.
    assert.equal((await loginFrom(b, B, 'alice')).statusCode, 200)
  })

  test('the per-account back-off is shared too', async (t) => {
    const { a, b } = await twoInstances(t, { THROTTLE_ACCOUNT_BACKOFF_AFTER: '3' })
    assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
    assertProblem(await loginFrom(a, '192.0.2.11', 'alice', WRONG), 401, 'invalid_credentials')
    assertProblem(await loginFrom(b, '192.0.2.12', 'alice', WRONG), 401, 'invalid_credentials')
    assertProblem(await loginFrom(a, '192.0.2.13', 'alice', WRONG), 401, 'invalid_credentials')
    assertRateLimited(await loginFrom(b, '192.0.2.14', 'alice'), 'a 4th address at B')
  })

  test('a success at one instance resets the counts the other sees', async (t) => {
    const { a, b } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '4' })
    assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
    for (let i = 0; i < 3; i++) {
      assertProblem(await loginFrom(a, A, 'alice', WRONG), 401, 'invalid_credentials')
    }
    assert.equal((await loginFrom(b, A, 'alice')).statusCode, 200)
    // Without the reset the first of these would be the 4th failure and the next a 429.
    for (let i = 0; i < 3; i++) {
      assertProblem(await loginFrom(a, A, 'alice', WRONG), 401, 'invalid_credentials', `${i}`)
    }
    assert.equal((await loginFrom(a, A, 'alice')).statusCode, 200)
  })

  test('the per-address login and registration rates are shared', async (t) => {
    const { a, b } = await twoInstances(t, {
      THROTTLE_LOGIN_PER_ADDRESS: '3',
      THROTTLE_REGISTER_PER_ADDRESS: '2',
    })
    assert.equal((await registerFrom(a, A, 'alice')).statusCode, 201)
    assert.equal((await registerFrom(b, A, 'bob')).statusCode, 201)
    assertRateLimited(await registerFrom(a, A, 'carol'), '3rd registration from A')
    assertRateLimited(await registerFrom(b, A, 'carol'), '4th registration from A')
    assert.equal((await loginFrom(a, B, 'carol')).statusCode, 401, 'carol was not created')

    assert.equal((await loginFrom(a, A, 'alice')).statusCode, 200)
    assert.equal((await loginFrom(b, A, 'alice')).statusCode, 200)
    assert.equal((await loginFrom(a, A, 'bob')).statusCode, 200)
    const wait = assertRateLimited(await loginFrom(b, A, 'bob'), '4th login attempt from A')
    assert.ok(wait >= 55 && wait <= 60, `retry-after ${wait}`)
    assertRateLimited(await loginFrom(a, A, 'bob'), '5th login attempt from A')
    // B used 2 of its 3 attempts; it is not A.
    assert.equal((await loginFrom(b, B, 'bob')).statusCode, 200)
  })

  test('the counters are Redis keys under REDIS_KEY_PREFIX, with expiries, never holding a password', async (t) => {
    const { a, b, redis, prefix } = await twoInstances(t, { THROTTLE_BACKOFF_AFTER: '2' })
    const secret = 'a guessed password nobody should store'
    assert.equal((await registerFrom(a, '198.51.100.1', 'alice')).statusCode, 201)
    assertProblem(await loginFrom(a, A, 'alice', secret), 401, 'invalid_credentials')
    assertProblem(await loginFrom(b, A, 'alice', WRONG), 401, 'invalid_credentials')
    assertRateLimited(await loginFrom(a, A, 'alice', PASSWORD), 'backing off')

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
      assert.ok(kinds.has(kind), `a ${kind} key among ${keys.join(', ')}`)
    }
    for (const key of keys) {
      for (const password of [secret, WRONG, PASSWORD]) {
        assert.ok(!key.includes(password), `${key} holds a password`)
      }
      const value = await redis.get(key)
      assert.match(String(value), /^\d+$/, `${key} holds a count, not ${value}`)
      const ttl = await redis.pttl(key)
      assert.ok(ttl > 0, `${key} expires (pttl ${ttl})`)
    }
    // The counts themselves: two failures of alice from A, seen by both instances.
    const failures = keys.find((key) => key === `${prefix}:fail:acct:alice`)
    assert.ok(failures, `the account failure key among ${keys.join(', ')}`)
    assert.equal(await redis.get(failures), '2')
  })
})
