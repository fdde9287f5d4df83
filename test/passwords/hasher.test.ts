// The one test file that hashes with the real default argon2id parameters (m=19456, t=2, p=1).
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { type Algorithm, hash as argon2Hash } from '@node-rs/argon2'
import { loadConfig } from '../../src/config/index.ts'
import { AppError } from '../../src/errors.ts'
import { createAdmission } from '../../src/passwords/admission.ts'
import { createHasher, type Hasher } from '../../src/passwords/hasher.ts'
import { PASSWORD } from '../support/requests.ts'

const DEFAULT_PARAMS = loadConfig({}).passwords.argon2
const PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/

/** What `hash` rejected with, or fails the test when it did not reject. */
function rejection(result: PromiseSettledResult<unknown> | undefined): unknown {
  assert.ok(result, 'no result')
  assert.equal(result.status, 'rejected')
  return result.reason
}

describe('hasher (real default argon2id parameters)', () => {
  let hasher: Hasher
  let stored: string

  before(async () => {
    hasher = await createHasher({ params: DEFAULT_PARAMS })
    stored = await hasher.hash(PASSWORD)
  })

  test('the defaults are OWASP’s argon2id setting', () => {
    assert.deepEqual(DEFAULT_PARAMS, { memoryCost: 19456, timeCost: 2, parallelism: 1 })
  })

  test('a hash is an argon2id PHC string with the configured parameters', () => {
    assert.match(stored, PHC)
    assert.ok(!stored.includes(PASSWORD))
  })

  test('two hashes of one password differ (a fresh salt each time)', async () => {
    const again = await hasher.hash(PASSWORD)
    assert.match(again, PHC)
    assert.notEqual(again, stored)
    const salt = (phc: string) => phc.split('$')[4]
    assert.notEqual(salt(again), salt(stored))
  })

  test('verify: true for the password, false for any other', async () => {
    assert.equal(await hasher.verify(stored, PASSWORD), true)
    assert.equal(await hasher.verify(stored, `${PASSWORD} `), false)
    assert.equal(await hasher.verify(stored, PASSWORD.toUpperCase()), false)
    assert.equal(await hasher.verify(stored, ''), false)
  })

  test('Unicode passwords round-trip', async () => {
    const password = 'пароль \u{1F409} café 九月'
    const phc = await hasher.hash(password)
    assert.equal(await hasher.verify(phc, password), true)
    assert.equal(await hasher.verify(phc, 'пароль \u{1F409} cafe 九月'), false)
  })

  test('verify of a garbage stored string is false, not a throw', async () => {
    for (const garbage of [
      '',
      'not-a-hash',
      '$argon2id$',
      '$argon2id$v=19$m=19456,t=2,p=1$garbage$garbage',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', // bcrypt
      stored.slice(0, -10),
    ]) {
      assert.equal(await hasher.verify(garbage, PASSWORD), false, JSON.stringify(garbage))
    }
  })

  test('a hash made with other parameters still verifies', async () => {
    const cheap = await createHasher({ params: { memoryCost: 256, timeCost: 1, parallelism: 1 } })
    const old = await cheap.hash(PASSWORD)
    assert.equal(await hasher.verify(old, PASSWORD), true)
    assert.equal(await hasher.verify(old, 'something else entirely'), false)
  })

  test('verifyDummy does the work and resolves to nothing', async () => {
    assert.equal(await hasher.verifyDummy(PASSWORD), undefined)
  })

  test('needsRehash: false for today’s parameters', () => {
    assert.equal(hasher.needsRehash(stored), false)
  })

  test('needsRehash: true for other m, t or p', async () => {
    for (const params of [
      { memoryCost: 256, timeCost: 2, parallelism: 1 },
      { memoryCost: 19456, timeCost: 1, parallelism: 1 },
      { memoryCost: 19456, timeCost: 3, parallelism: 1 },
      { memoryCost: 19456, timeCost: 2, parallelism: 2 },
    ]) {
      const other = await createHasher({ params })
      const phc = await other.hash(PASSWORD)
      assert.equal(hasher.needsRehash(phc), true, phc)
      assert.equal(other.needsRehash(phc), false, phc)
      assert.equal(other.needsRehash(stored), true, JSON.stringify(params))
    }
  })

  test('needsRehash: true for another argon2 variant', async () => {
    // @node-rs/argon2's Algorithm is an ambient const enum: Argon2i = 1.
    const argon2i = await argon2Hash(PASSWORD, { ...DEFAULT_PARAMS, algorithm: 1 as Algorithm })
    assert.match(argon2i, /^\$argon2i\$/)
    assert.equal(hasher.needsRehash(argon2i), true)
  })

  test('needsRehash: true for garbage', () => {
    for (const garbage of ['', 'not-a-hash', '$argon2id$v=19$garbage', '$2b$12$abc']) {
      assert.equal(hasher.needsRehash(garbage), true, JSON.stringify(garbage))
    }
  })

  test('beyond concurrency and queue, a hash is refused at once with 503 overloaded', async () => {
    const limited = await createHasher({ params: DEFAULT_PARAMS, concurrency: 1, queueLimit: 1 })
    const pending = [
      limited.hash('first password!'),
      limited.hash('second password'),
      limited.hash('third password!'),
    ]
    // One runs and one waits; the third was not accepted at all.
    assert.equal(limited.admission.active, 1)
    assert.equal(limited.admission.queued, 1)
    const [first, second, third] = await Promise.allSettled(pending)
    assert.equal(first?.status, 'fulfilled')
    assert.equal(second?.status, 'fulfilled')
    assert.match(first?.status === 'fulfilled' ? first.value : '', PHC)
    assert.match(second?.status === 'fulfilled' ? second.value : '', PHC)
    const error = rejection(third)
    assert.ok(error instanceof AppError, String(error))
    assert.equal(error.code, 'overloaded')
    assert.equal(error.status, 503)
    assert.deepEqual(error.headers, { 'retry-after': '1' })
    // Everything was released: the next hash is accepted.
    assert.equal(limited.admission.active, 0)
    assert.equal(limited.admission.queued, 0)
    assert.match(await limited.hash('fourth password'), PHC)
  })

  test('verify goes through the same limiter', async () => {
    const limited = await createHasher({ params: DEFAULT_PARAMS, concurrency: 1, queueLimit: 0 })
    const results = await Promise.allSettled([
      limited.verify(stored, PASSWORD),
      limited.verify(stored, PASSWORD),
    ])
    assert.deepEqual(results[0], { status: 'fulfilled', value: true })
    const error = rejection(results[1])
    assert.ok(error instanceof AppError)
    assert.equal(error.code, 'overloaded')
  })
})

describe('limiter', () => {
  test('runs at most `concurrency` tasks at once, the rest in arrival order', async () => {
    const limiter = createAdmission({ concurrency: 2, queueLimit: 10, maxWaitMs: 60_000 })
    const started: number[] = []
    const gates: Array<() => void> = []
    const task = (n: number) => () =>
      new Promise<number>((resolve) => {
        started.push(n)
        gates[n] = () => resolve(n)
      })
    const runs = [0, 1, 2, 3].map((n) => limiter.run(task(n)))
    await Promise.resolve()
    assert.deepEqual(started, [0, 1])
    assert.equal(limiter.active, 2)
    assert.equal(limiter.queued, 2)
    gates[1]?.()
    assert.equal(await runs[1], 1)
    assert.deepEqual(started, [0, 1, 2])
    gates[0]?.()
    gates[2]?.()
    assert.deepEqual(await Promise.all(runs.slice(0, 3)), [0, 1, 2])
    assert.deepEqual(started, [0, 1, 2, 3])
    gates[3]?.()
    assert.equal(await runs[3], 3)
    assert.equal(limiter.active, 0)
  })

  test('a task that fails frees its slot', async () => {
    const limiter = createAdmission({ concurrency: 1, queueLimit: 0, maxWaitMs: 60_000 })
    await assert.rejects(
      limiter.run(async () => {
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.equal(limiter.active, 0)
    assert.equal(await limiter.run(async () => 'next'), 'next')
  })

  test('refuses a task whose expected wait exceeds maxWaitMs, judged from recent task times', async () => {
    // Its own clock: each task of the warm-up takes exactly 100 ms, whatever the machine does.
    let clock = 0
    const limiter = createAdmission({
      concurrency: 1,
      queueLimit: 100,
      maxWaitMs: 250,
      now: () => clock,
    })
    // Teach it that a task takes 100 ms (past the warm-up, when the bound applies).
    for (let i = 0; i < 10; i++)
      await limiter.run(async () => {
        clock += 100
      })
    let release: () => void = () => {}
    const running = limiter.run(() => new Promise<void>((resolve) => (release = resolve)))
    // Waiting places 1 and 2 are expected to take ~100 and ~200 ms: admitted. Place 3: ~300 ms.
    const second = limiter.run(async () => 'second')
    const third = limiter.run(async () => 'third')
    await assert.rejects(
      limiter.run(async () => 'fourth'),
      (error: unknown) => {
        assert.ok(error instanceof AppError)
        assert.equal(error.code, 'overloaded')
        return true
      },
    )
    assert.equal(limiter.queued, 2)
    release()
    await running
    assert.deepEqual(await Promise.all([second, third]), ['second', 'third'])
  })
})
