// Redis away and back: the throttling counters live in Redis so that every instance shares them;
// while it is unreachable the service keeps serving, holding the same limits per instance, says so
// in its readiness answer and its log, and goes back to Redis by itself when it returns.
// Each test runs its own redis-server on a free port: the machine's shared one is never touched.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import type { App } from '../../src/app.ts'
import { eventually, PATIENCE_MS, patiently } from '../support/eventually.ts'
import { freshDatabaseUrl, type Harness, makeApp } from '../support/harness.ts'
import { freePort } from '../support/ports.ts'
import { assertProblem } from '../support/problems.ts'
import { scanKeys } from '../support/redis.ts'
import { health, login, PASSWORD, register } from '../support/requests.ts'

/** A request the service must answer, one way or another, well within this. */
const ANSWER_WITHIN_MS = 10_000
const WRONG = 'not the password at all, clearly'

/** A private redis-server on one port, which the test can kill and start again. */
class PrivateRedis {
  readonly port: number
  #child: ChildProcess | undefined
  constructor(port: number) {
    this.port = port
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.#child = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`redis-server on ${this.port} not ready:\n${output}`))
      }, PATIENCE_MS)
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          child.stdout?.off('data', onData)
          child.off('exit', onExit)
          resolve()
        }
      }
      const onExit = (code: number | null) => {
        clearTimeout(timer)
        reject(new Error(`redis-server on ${this.port} exited (${code}):\n${output}`))
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', onExit)
    })
    child.stdout?.resume()
    child.stderr?.resume()
  }

  /** SIGKILL: a crash, not a polite shutdown. */
  async kill(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((done) => child.once('exit', done))
    child.kill('SIGKILL')
    await exited
  }

  /** SIGSTOP: connections stay open, nothing answers (a hung server or a network partition). */
  freeze(): void {
    const pid = this.#child?.pid
    if (pid === undefined) throw new Error(`redis-server on ${this.port} is not running`)
    process.kill(pid, 'SIGSTOP')
  }

  thaw(): void {
    if (this.#child?.pid && this.#child.exitCode === null) process.kill(this.#child.pid, 'SIGCONT')
  }

  /** A short-lived client of the test's own (not the app's). */
  async use<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    await client.connect()
    try {
      return await run(client)
    } finally {
      client.disconnect()
    }
  }

  /** Every key under `prefix` (SCAN, not KEYS). */
  keys(prefix: string): Promise<string[]> {
    return this.use((client) => scanKeys(client, prefix))
  }
}

async function privateRedis(t: TestContext): Promise<PrivateRedis> {
  const redis = new PrivateRedis(await freePort())
  await redis.start()
  t.after(() => redis.kill())
  return redis
}

/** Checks answered this long after the failure that began a 1 s back-off may have missed it. */
const LATE_MS = 900

/**
 * Runs `failures` (which ends in the failure that starts a 1 s back-off), then the checks it
 * returns, and gives their answers. Checks answered LATE_MS or later after the last failure (a
 * stalled machine) prove nothing: a success among them resets the account, and it starts over.
 */
async function withinFirstBlock<T extends LightMyRequestResponse[]>(
  failures: () => Promise<{ [K in keyof T]: () => Promise<T[K]> }>,
): Promise<T> {
  for (let round = 1; ; round++) {
    const checks = await failures()
    const failedAt = performance.now()
    const answers: LightMyRequestResponse[] = []
    for (const check of checks) answers.push(await check())
    const late = performance.now() - failedAt >= LATE_MS
    if (!late || round === 3 || answers.every((a) => a.statusCode === 429)) return answers as T
    // Let a block that is still on run out, so the next round starts from a clean account.
    await new Promise((resolve) => setTimeout(resolve, 1100))
  }
}

function uniquePrefix(): string {
  return `usersvc_test_${randomBytes(6).toString('hex')}`
}

/** Readiness once it answers `status`, with its full answer. */
function readyWhen(app: App, status: string): Promise<LightMyRequestResponse> {
  return eventually(
    async () => {
      const res = await health(app, 'ready')
      return res.statusCode === 200 && res.json().status === status ? res : undefined
    },
    { what: `readiness "${status}"` },
  )
}

function logged(h: Harness, level: number, pattern: RegExp) {
  return h.logs
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((line) => line.level === level && pattern.test(line.msg))
}

/** The expected status, and in any case not a server error (5xx). */
function answered(res: LightMyRequestResponse, status: number, what: string) {
  assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body}`)
  assert.equal(res.statusCode, status, `${what}: ${res.body}`)
}

const INFO = 30
const WARN = 40

describe('Redis outage', () => {
  test('Redis killed: the service keeps serving and throttling, reports "degraded", and recovers by itself', async (t) => {
    const redis = await privateRedis(t)
    const prefix = uniquePrefix()
    const h = await makeApp(t, {
      databaseUrl: await freshDatabaseUrl(t, 'postgres'),
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, THROTTLE_BACKOFF_AFTER: '3' },
    })
    const { app } = h

    // Connected: readiness says so, and the counters are in Redis.
    const ready = await readyWhen(app, 'ok')
    assert.deepEqual(ready.json(), {
      status: 'ok',
      checks: { database: 'ok', signing_key: 'ok', redis: 'ok', mail: 'ok', webhooks: 'ok' },
    })
    answered(await register(app, 'alice'), 201, 'register before the outage')
    answered(await login(app, 'alice', WRONG), 401, 'wrong password before the outage')
    const before = await redis.keys(prefix)
    assert.ok(before.includes(`${prefix}:fail:acct:alice`), before.join(', '))
    assert.ok(before.includes(`${prefix}:register:addr:127.0.0.1`), before.join(', '))
    assert.equal(logged(h, INFO, /^redis connected/).length, 1, h.logs.join('\n'))

    await redis.kill()

    // Still in rotation (200), but degraded; the log says why, once.
    const degraded = await readyWhen(app, 'degraded')
    assert.deepEqual(degraded.json(), {
      status: 'degraded',
      checks: { database: 'ok', signing_key: 'ok', redis: 'down', mail: 'ok', webhooks: 'ok' },
    })
    await eventually(() => (logged(h, WARN, /redis unreachable/).length > 0 ? true : undefined), {
      what: 'warning that redis is unreachable',
    })
    assert.equal((await health(app, 'live')).statusCode, 200)

    // Registration and login answer as ever: 201, 200, 401, never a 5xx.
    answered(await register(app, 'bob'), 201, 'register during the outage')
    assertProblem(await register(app, 'bob'), 409, 'login_taken', 'duplicate during the outage')
    const ok = await login(app, 'bob')
    answered(ok, 200, 'login during the outage')
    assert.equal(ok.json().user.login, 'bob')

    // Throttling still holds (in this instance's memory): after the 3rd failure, a 429.
    const [throttled] = await withinFirstBlock(async () => {
      for (let i = 1; i <= 3; i++) {
        assertProblem(await login(app, 'bob', WRONG), 401, 'invalid_credentials', `failure ${i}`)
      }
      return [() => login(app, 'bob')]
    })
    assertProblem(throttled, 429, 'rate_limited', 'the attempt after the 3rd failure')
    assert.match(String(throttled.headers['retry-after']), /^[1-9]\d*$/)
    // Only that account is held back.
    answered(await login(app, 'alice'), 200, 'another account during the outage')

    // One warning for the outage, not one per failed command or reconnection attempt.
    assert.equal(logged(h, WARN, /redis unreachable/).length, 1, h.logs.join('\n'))

    await redis.start()

    // Back by itself: readiness is "ok" again, and the counters go to Redis again.
    const recovered = await readyWhen(app, 'ok')
    assert.deepEqual(recovered.json(), {
      status: 'ok',
      checks: { database: 'ok', signing_key: 'ok', redis: 'ok', mail: 'ok', webhooks: 'ok' },
    })
    assert.deepEqual(await redis.keys(prefix), [], 'a restarted Redis starts empty')
    answered(await register(app, 'carol'), 201, 'register after the outage')
    answered(await login(app, 'carol', WRONG), 401, 'wrong password after the outage')
    const after = await redis.keys(prefix)
    assert.ok(after.includes(`${prefix}:fail:acct:carol`), after.join(', '))
    assert.ok(after.includes(`${prefix}:login:addr:127.0.0.1`), after.join(', '))
    assert.equal(logged(h, INFO, /^redis connected/).length, 2, h.logs.join('\n'))
  })

  test('Redis not answering (frozen, connection open): registration and login still answer', async (t) => {
    const redis = await privateRedis(t)
    t.after(() => redis.thaw())
    const prefix = uniquePrefix()
    const { app } = await makeApp(t, {
      databaseUrl: await freshDatabaseUrl(t, 'postgres'),
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix },
    })
    await readyWhen(app, 'ok')
    answered(await register(app, 'gina'), 201, 'register before the freeze')

    redis.freeze()
    try {
      // Each on its own, so that one hang does not hide what the others do.
      const answers = await Promise.allSettled([
        patiently(login(app, 'gina'), 'answer to POST /session/', ANSWER_WITHIN_MS),
        patiently(register(app, 'hank'), 'answer to POST /user/', ANSWER_WITHIN_MS),
        patiently(health(app, 'ready'), 'answer to GET /health/ready', ANSWER_WITHIN_MS),
      ])
      const [loggedIn, registered, ready] = answers.map((answer) => {
        if (answer.status === 'rejected') return String(answer.reason)
        return answer.value.statusCode
      })
      assert.deepEqual(
        { loggedIn, registered, ready },
        { loggedIn: 200, registered: 201, ready: 200 },
      )
      // And Redis was indeed frozen meanwhile: its readiness ping went unanswered.
      const readiness = answers[2]
      assert.equal(readiness?.status, 'fulfilled')
      const body = readiness.value.json()
      assert.equal(body.checks.redis, 'down', JSON.stringify(body))
    } finally {
      redis.thaw()
    }
  })

  test('two instances sharing Redis: failures spread over both add up', async (t) => {
    const redis = await privateRedis(t)
    const prefix = uniquePrefix()
    const databaseUrl = await freshDatabaseUrl(t, 'postgres')
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, THROTTLE_BACKOFF_AFTER: '3' }
    const a = await makeApp(t, { databaseUrl, env })
    const b = await makeApp(t, { databaseUrl, env })
    await readyWhen(a.app, 'ok')
    await readyWhen(b.app, 'ok')

    answered(await register(a.app, 'dave'), 201, 'register at A')
    const [atB, atA] = await withinFirstBlock(async () => {
      // Failures 1 and 3 at A, 2 at B: neither instance saw three, together they did.
      assertProblem(await login(a.app, 'dave', WRONG), 401, 'invalid_credentials', 'failure 1 at A')
      assertProblem(await login(b.app, 'dave', WRONG), 401, 'invalid_credentials', 'failure 2 at B')
      const count = await redis.use((client) => client.get(`${prefix}:fail:acct:dave`))
      assert.equal(count, '2', 'both failures are counted in Redis')
      assertProblem(await login(a.app, 'dave', WRONG), 401, 'invalid_credentials', 'failure 3 at A')
      return [() => login(b.app, 'dave', PASSWORD), () => login(a.app, 'dave', PASSWORD)]
    })
    // The next attempt is held back at either instance, the correct password notwithstanding.
    assertProblem(atB, 429, 'rate_limited', 'next attempt at B')
    assertProblem(atA, 429, 'rate_limited', 'next attempt at A')
  })
})
