import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/app.ts'
import { countingHasher, dialects, makeApp } from '../support/harness.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import {
  bearer,
  loginFrom,
  NEW_PASSWORD,
  PASSWORD,
  registerFrom,
  signUp,
} from '../support/requests.ts'
import { refreshTokenCount, userCount } from '../support/store.ts'
import { conclusively, stopwatch, unlessTooSlow } from '../support/timing.ts'

// Brute-force protection through the HTTP API. Client addresses are set with inject's
// remoteAddress (request.ip); 192.0.2.0/24 is TEST-NET-1. Each test sets the THROTTLE_* it is about.
// Real time: where an answer must meet a back-off (1 s at first) begun by an earlier request, a run
// in which a second went by in between is run again (test/support/timing.ts); a run that was fast enough must
// pass every assertion.

const WRONG = 'not the right password at all'
/** The shortest back-off, the first one. */
const FIRST_BACKOFF_MS = 1000
const A = '192.0.2.1'
const B = '192.0.2.2'

function changePasswordFrom(app: App, address: string, token: string, current: string) {
  return app.inject({
    method: 'PUT',
    url: '/user/me/password',
    headers: bearer(token),
    payload: { current_password: current, new_password: NEW_PASSWORD },
    remoteAddress: address,
  })
}

function assertInvalidCredentials(res: LightMyRequestResponse, what: string) {
  assertProblem(res, 401, 'invalid_credentials', what)
  assert.equal(res.headers['retry-after'], undefined, what)
}

/** What a client could tell answers apart by: all but Date and X-Request-Id, which always differ. */
function visible(res: LightMyRequestResponse) {
  const { date: _date, 'x-request-id': _id, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.body }
}

for (const dialect of dialects()) {
  describe(`brute-force protection over HTTP (${dialect})`, () => {
    test('back-off per account+address: 429 after the 5th failure, before any hash, even for the right password', async (t) => {
      await conclusively(t, async () => {
        const counting = await countingHasher()
        const { app } = await makeApp(t, {
          dialect,
          hasher: counting.hasher,
          env: { THROTTLE_BACKOFF_AFTER: '5', THROTTLE_BACKOFF_MAX_SECONDS: '1' },
        })
        assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)

        for (let i = 1; i <= 4; i++) {
          assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), `failure ${i}`)
        }
        const elapsed = stopwatch()
        assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), 'failure 5')
        counting.reset()
        const tokensBefore = await refreshTokenCount(app)
        const blocked = await loginFrom(app, A, 'alice', PASSWORD)
        unlessTooSlow(blocked.statusCode === 429, elapsed, FIRST_BACKOFF_MS, 'after 5 failures')
        assert.equal(assertRateLimited(blocked, 'after 5 failures, right password'), 1)
        assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 }, 'no hash computed')
        assert.equal(await refreshTokenCount(app), tokensBefore, 'no session made')

        // Meanwhile another address logs in to the same account.
        const other = await loginFrom(app, B, 'alice', PASSWORD)
        assert.equal(other.statusCode, 200, other.body)
        assert.equal(other.json().user.login, 'alice')

        // After the stated wait, the right password works from A and resets A's count.
        await sleep(1000 * Number(blocked.headers['retry-after']) + 100)
        const ok = await loginFrom(app, A, 'alice', PASSWORD)
        assert.equal(ok.statusCode, 200, ok.body)
        // Were the count not reset, the first of these would be A's 6th failure and the next
        // attempt a 429.
        for (let i = 1; i <= 4; i++) {
          assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), `after reset, ${i}`)
        }
        assert.equal((await loginFrom(app, A, 'alice', PASSWORD)).statusCode, 200)
      })
    })

    test('the back-off doubles, capped by THROTTLE_BACKOFF_MAX_SECONDS', async (t) => {
      await conclusively(t, async () => {
        const { app } = await makeApp(t, {
          dialect,
          env: { THROTTLE_BACKOFF_AFTER: '2', THROTTLE_BACKOFF_MAX_SECONDS: '2' },
        })
        assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
        assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), 'failure 1')
        const waits: number[] = []
        for (let round = 0; round < 3; round++) {
          // One more failure (the 2nd, 3rd, 4th) begins a back-off; the next attempt meets it.
          const elapsed = stopwatch()
          assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), `round ${round}`)
          const res = await loginFrom(app, A, 'alice', WRONG)
          unlessTooSlow(res.statusCode === 429, elapsed, FIRST_BACKOFF_MS, `round ${round}`)
          waits.push(assertRateLimited(res, `round ${round}`))
          if (round < 2) await sleep(1000 * (waits.at(-1) ?? 0) + 100)
        }
        // 2 failures → 1 s; one more → 2 s; one more → 4 s, capped at 2 s.
        assert.deepEqual(waits, [1, 2, 2])
      })
    })

    test('an unknown or malformed login is throttled exactly like an existing one', async (t) => {
      await conclusively(t, async () => {
        const { app } = await makeApp(t, {
          dialect,
          env: { THROTTLE_BACKOFF_AFTER: '3', THROTTLE_BACKOFF_MAX_SECONDS: '1' },
        })
        assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
        const sequences: Record<string, ReturnType<typeof visible>[]> = {}
        for (const name of ['alice', 'nobody-here', 'x']) {
          const seen = []
          let elapsed = stopwatch()
          for (let i = 0; i < 5; i++) {
            // The 3rd failure begins a 1 s back-off, which the 4th and 5th attempts meet.
            if (i === 2) elapsed = stopwatch()
            const res = await loginFrom(app, A, name, WRONG)
            if (i >= 3) unlessTooSlow(res.statusCode === 429, elapsed, FIRST_BACKOFF_MS, name)
            seen.push(visible(res))
          }
          sequences[name] = seen
        }
        const statuses = (name: string) => sequences[name]?.map((r) => r.status)
        assert.deepEqual(statuses('alice'), [401, 401, 401, 429, 429])
        assert.equal(sequences.alice?.[3]?.headers['retry-after'], '1')
        // Byte for byte the same answers, headers included (date and request id aside).
        assert.deepEqual(sequences['nobody-here'], sequences.alice)
        assert.deepEqual(sequences.x, sequences.alice)
      })
    })

    test('per-account back-off: failures spread over addresses slow the account everywhere', async (t) => {
      await conclusively(t, async () => {
        const counting = await countingHasher()
        const { app } = await makeApp(t, {
          dialect,
          hasher: counting.hasher,
          env: { THROTTLE_ACCOUNT_BACKOFF_AFTER: '3', THROTTLE_BACKOFF_AFTER: '5' },
        })
        assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
        assert.equal((await registerFrom(app, '198.51.100.1', 'bob')).statusCode, 201)
        let elapsed = stopwatch()
        for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
          elapsed = stopwatch()
          assertInvalidCredentials(await loginFrom(app, address, 'alice', WRONG), address)
        }
        counting.reset()
        const res = await loginFrom(app, '192.0.2.4', 'alice', PASSWORD)
        unlessTooSlow(res.statusCode === 429, elapsed, FIRST_BACKOFF_MS, 'a 4th address')
        assert.equal(assertRateLimited(res, 'a 4th address'), 1)
        assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 })
        // Only that account.
        assert.equal((await loginFrom(app, '192.0.2.4', 'bob', PASSWORD)).statusCode, 200)
      })
    })

    test('lock at THROTTLE_FAILURE_LIMIT for the rest of the failure window, on every address', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, {
        dialect,
        hasher: counting.hasher,
        env: {
          THROTTLE_FAILURE_LIMIT: '6',
          THROTTLE_FAILURE_WINDOW_SECONDS: '600',
          THROTTLE_BACKOFF_AFTER: '100',
          THROTTLE_ACCOUNT_BACKOFF_AFTER: '100',
        },
      })
      assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
      // The window runs from the first failure: the rest of it is at least 600 s less the time
      // since (as a rule 600 itself), however slow the machine.
      const elapsed = stopwatch()
      for (let i = 1; i <= 6; i++) {
        const address = i % 2 ? A : B
        assertInvalidCredentials(await loginFrom(app, address, 'alice', WRONG), `failure ${i}`)
      }
      counting.reset()
      for (const address of [A, B, '203.0.113.77']) {
        const wait = assertRateLimited(await loginFrom(app, address, 'alice', PASSWORD), address)
        const least = 600 - elapsed() / 1000
        assert.ok(wait >= least && wait <= 600, `${address}: retry-after ${wait}, ≥ ${least}`)
      }
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 })
    })

    test('per-address login rate: the 4th attempt from an address is 429, another address is fine', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, {
        dialect,
        hasher: counting.hasher,
        env: { THROTTLE_LOGIN_PER_ADDRESS: '3' },
      })
      assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
      const elapsed = stopwatch()
      assert.equal((await loginFrom(app, A, 'alice')).statusCode, 200)
      assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), '2nd')
      assert.equal((await loginFrom(app, A, 'alice')).statusCode, 200)
      counting.reset()
      const fourth = await loginFrom(app, A, 'alice')
      const wait = assertRateLimited(fourth, '4th attempt')
      // The rest of THROTTLE_LOGIN_WINDOW_SECONDS (60), which began with the 1st attempt.
      const least = 60 - elapsed() / 1000
      assert.ok(wait >= least && wait <= 60, `retry-after ${wait}, ≥ ${least}`)
      assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 })
      // Any login, known or not, from that address.
      assertRateLimited(await loginFrom(app, A, 'nobody-here'), 'unknown login from A')
      assert.equal((await loginFrom(app, B, 'alice')).statusCode, 200)
    })

    test('per-address registration rate: the 3rd registration is 429 and creates no user', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, {
        dialect,
        hasher: counting.hasher,
        env: { THROTTLE_REGISTER_PER_ADDRESS: '2' },
      })
      const elapsed = stopwatch()
      assert.equal((await registerFrom(app, A, 'first')).statusCode, 201)
      assert.equal((await registerFrom(app, A, 'second')).statusCode, 201)
      counting.reset()
      const third = await registerFrom(app, A, 'third')
      const wait = assertRateLimited(third, '3rd registration')
      // The rest of the 600 s window, which began with the 1st registration.
      const least = 600 - elapsed() / 1000
      assert.ok(wait >= least && wait <= 600, `retry-after ${wait}, ≥ ${least}`)
      assert.equal(counting.calls.hash, 0, 'no hash computed')
      assert.equal(await userCount(app), 2)
      assert.equal((await loginFrom(app, B, 'third')).statusCode, 401, 'third does not exist')
      // Another address registers it.
      assert.equal((await registerFrom(app, B, 'third')).statusCode, 201)
      assert.equal(await userCount(app), 3)
    })

    test('wrong current passwords at PUT /user/me/password count toward the back-off', async (t) => {
      await conclusively(t, async () => {
        const counting = await countingHasher()
        const { app } = await makeApp(t, {
          dialect,
          hasher: counting.hasher,
          env: { THROTTLE_BACKOFF_AFTER: '3' },
        })
        const session = await signUp(app, 'alice')
        let elapsed = stopwatch()
        for (let i = 1; i <= 3; i++) {
          elapsed = stopwatch()
          const res = await changePasswordFrom(app, A, session.access_token, WRONG)
          assertInvalidCredentials(res, `wrong current password ${i}`)
        }
        counting.reset()
        // The first back-off is 1 s: these two follow at once.
        const change = await changePasswordFrom(app, A, session.access_token, PASSWORD)
        unlessTooSlow(change.statusCode === 429, elapsed, FIRST_BACKOFF_MS, 'change')
        assertRateLimited(change, 'change with the right current password')
        const login = await loginFrom(app, A, 'alice', PASSWORD)
        unlessTooSlow(login.statusCode === 429, elapsed, FIRST_BACKOFF_MS, 'login')
        assertRateLimited(login, 'login from that address')
        assert.deepEqual(counting.calls, { hash: 0, verify: 0, verifyDummy: 0 }, 'no hash computed')
        // The password was not changed; another address logs in with it.
        assert.equal((await loginFrom(app, B, 'alice', PASSWORD)).statusCode, 200)
        assertInvalidCredentials(await loginFrom(app, B, 'alice', NEW_PASSWORD), 'new password')
      })
    })

    test('simultaneous wrong passwords cannot outrun the back-off', async (t) => {
      await conclusively(t, async () => {
        const counting = await countingHasher()
        const { app } = await makeApp(t, {
          dialect,
          hasher: counting.hasher,
          env: { THROTTLE_BACKOFF_AFTER: '3', THROTTLE_ACCOUNT_BACKOFF_AFTER: '3' },
        })
        assert.equal((await registerFrom(app, '198.51.100.1', 'alice')).statusCode, 201)
        counting.reset()
        const elapsed = stopwatch()
        const results = await Promise.all(
          Array.from({ length: 20 }, () => loginFrom(app, A, 'alice', WRONG)),
        )
        const statuses = results.map((r) => r.statusCode)
        // After 3 failures the next attempt is refused; sending them all at once must not buy
        // more password guesses than sending them one after another. (Unless the 20 took over a
        // second: then a late one may rightly come after the first back-off.)
        const verified = counting.calls.verify
        unlessTooSlow(verified <= 3, elapsed, FIRST_BACKOFF_MS, `${verified} verified`)
        assert.ok(
          verified >= 1 && verified <= 3,
          `${verified} passwords verified (statuses ${statuses.join(',')})`,
        )
        assert.equal(statuses.filter((s) => s === 401).length, verified)
        assert.equal(statuses.filter((s) => s === 429).length, 20 - verified)
      })
    })

    test('THROTTLE=off: 20 wrong passwords from one address never give 429', async (t) => {
      const { app } = await makeApp(t, {
        dialect,
        env: {
          THROTTLE: 'off',
          THROTTLE_BACKOFF_AFTER: '1',
          THROTTLE_ACCOUNT_BACKOFF_AFTER: '1',
          THROTTLE_FAILURE_LIMIT: '1',
          THROTTLE_LOGIN_PER_ADDRESS: '3',
          THROTTLE_REGISTER_PER_ADDRESS: '1',
        },
      })
      assert.equal((await registerFrom(app, A, 'alice')).statusCode, 201)
      assert.equal((await registerFrom(app, A, 'bob')).statusCode, 201)
      for (let i = 1; i <= 20; i++) {
        assertInvalidCredentials(await loginFrom(app, A, 'alice', WRONG), `failure ${i}`)
      }
      assert.equal((await loginFrom(app, A, 'alice')).statusCode, 200)
    })
  })
}
