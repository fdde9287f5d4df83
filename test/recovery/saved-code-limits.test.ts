import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createHasher } from '../../src/passwords/hasher.ts'
import { countingHasher, dialects, makeApp } from '../support/harness.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { codeStatus, codesOf, newCodes, recoverWithCode } from '../support/recovery-codes.ts'
import { loginFrom, NEW_PASSWORD, PASSWORD, signUp } from '../support/requests.ts'

// Saved codes are throttled like logins: the account's failure counter (throttle.guard) and the
// per-address login rate. Limits are set so that no answer depends on how fast the test runs:
// the failure limit locks the account for the whole window (THROTTLE_FAILURE_WINDOW_SECONDS),
// and per-address back-off is out of the way (its first step lasts only a second). Under load
// they are refused like logins: 503 overloaded when no hash thread is free.

const A = '192.0.2.1' // TEST-NET-1
const B = '192.0.2.2'
const WRONG_PASSWORD = 'not the right password at all'
const NO_BACKOFF = { THROTTLE_BACKOFF_AFTER: '100', THROTTLE_ACCOUNT_BACKOFF_AFTER: '100' }

/** A code of the right shape that is nobody's. */
const WRONG_CODE = '0000-0000-0000-0000-0000'

for (const dialect of dialects()) {
  describe(`saved recovery codes under the throttle and under load (${dialect})`, () => {
    test('wrong codes count like wrong passwords: at the account’s limit, 429 before any hash, right code or password alike', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, {
        dialect,
        hasher: counting.hasher,
        env: { ...NO_BACKOFF, THROTTLE_FAILURE_LIMIT: '3' },
      })
      const alice = await signUp(app, 'alice')
      const [code] = await codesOf(app, alice.access_token)

      // Two wrong codes and a wrong password from three addresses: the account's third failure.
      assertProblem(
        await recoverWithCode(app, 'alice', WRONG_CODE, NEW_PASSWORD, { address: A }),
        400,
        'invalid_code',
      )
      assertProblem(
        await recoverWithCode(app, 'ALICE', WRONG_CODE, NEW_PASSWORD, { address: B }),
        400,
        'invalid_code',
      )
      assertProblem(
        await loginFrom(app, '192.0.2.3', 'alice', WRONG_PASSWORD),
        401,
        'invalid_credentials',
      )

      counting.reset()
      const right = await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD, {
        address: A,
      })
      assertRateLimited(right, 'the right code, once the account is locked')
      assertRateLimited(await loginFrom(app, B, 'alice', PASSWORD), 'the right password too')
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 }, 'no hash computed')
    })

    test('an unknown login is throttled alike, under its own key', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, {
        dialect,
        hasher: counting.hasher,
        env: { ...NO_BACKOFF, THROTTLE_FAILURE_LIMIT: '2' },
      })
      await signUp(app, 'alice')
      for (const address of [A, B]) {
        assertProblem(
          await recoverWithCode(app, 'nobody', WRONG_CODE, NEW_PASSWORD, { address }),
          400,
          'invalid_code',
        )
      }
      counting.reset()
      assertRateLimited(
        await recoverWithCode(app, 'nobody', WRONG_CODE, NEW_PASSWORD, { address: A }),
        'an unknown login at the limit',
      )
      assert.equal(counting.total(), 0)
      // Another account is untouched.
      assertProblem(
        await recoverWithCode(app, 'alice', WRONG_CODE, NEW_PASSWORD, { address: A }),
        400,
        'invalid_code',
      )
    })

    test('per address: recovery attempts and logins share the login rate', async (t) => {
      const { app } = await makeApp(t, {
        dialect,
        env: { THROTTLE_LOGIN_PER_ADDRESS: '3', THROTTLE_LOGIN_WINDOW_SECONDS: '3600' },
      })
      const alice = await signUp(app, 'alice') // its login is from 127.0.0.1
      const [code] = await codesOf(app, alice.access_token)
      assert.equal((await loginFrom(app, A, 'alice', PASSWORD)).statusCode, 200)
      assertProblem(
        await recoverWithCode(app, 'alice', WRONG_CODE, NEW_PASSWORD, { address: A }),
        400,
        'invalid_code',
      )
      assertProblem(
        await recoverWithCode(app, 'bob', WRONG_CODE, NEW_PASSWORD, { address: A }),
        400,
        'invalid_code',
      )
      // The fourth attempt from A, whatever the account and however right.
      assertRateLimited(
        await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD, { address: A }),
        'the fourth attempt from one address',
      )
      assertRateLimited(await loginFrom(app, A, 'alice', PASSWORD), 'a login from it too')
      const fromB = await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD, {
        address: B,
      })
      assert.equal(fromB.statusCode, 204, fromB.body)
    })

    test('a wrong password when making a set counts like a failed login', async (t) => {
      const { app } = await makeApp(t, {
        dialect,
        env: { ...NO_BACKOFF, THROTTLE_FAILURE_LIMIT: '2' },
      })
      const alice = await signUp(app, 'alice')
      for (let i = 0; i < 2; i++) {
        assertProblem(
          await newCodes(app, alice.access_token, WRONG_PASSWORD),
          401,
          'invalid_credentials',
        )
      }
      assertRateLimited(await newCodes(app, alice.access_token), 'the right password, once locked')
      assertRateLimited(await loginFrom(app, A, 'alice', PASSWORD), 'and at login')
    })

    test('no thread for a hash: 503 overloaded for a new set and for a recovery, and nothing spent', async (t) => {
      // One hash at a time and none waiting; the test holds that one (deterministically).
      const hasher = await createHasher({
        params: { memoryCost: 256, timeCost: 1, parallelism: 1 },
        concurrency: 1,
        queueLimit: 0,
      })
      const { app } = await makeApp(t, { dialect, hasher })
      const alice = await signUp(app, 'alice')
      const [code] = await codesOf(app, alice.access_token)
      let release = () => {}
      const held = hasher.admission.run(() => new Promise<void>((resolve) => (release = resolve)))

      const set = await newCodes(app, alice.access_token)
      assertProblem(set, 503, 'overloaded')
      assert.equal(set.headers['retry-after'], '1')
      const recovery = await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD)
      assertProblem(recovery, 503, 'overloaded')
      // Answered meanwhile: it needs no hash.
      const status = await codeStatus(app, alice.access_token)
      assert.equal(status.statusCode, 200)
      assert.equal(status.json().remaining, 10)

      release()
      await held
      const later = await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD)
      assert.equal(later.statusCode, 204, later.body)
    })
  })
}
