// A TOTP code as a login's second step (app.totp.verify): the window, replay, the throttle, logs.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { AppError } from '../../src/errors.ts'
import { dialects, type Harness, makeApp } from '../support/harness.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { loginFrom, signUp } from '../support/requests.ts'
import { conclusively, stopwatch, unlessTooSlow } from '../support/timing.ts'
import {
  aal2Token,
  activeTotp,
  confirmTotp,
  type Enrolment,
  enrolTotp,
  removeFactor,
  totpCode,
} from '../support/totp.ts'

const NOW = new Date('2026-03-01T10:00:15.000Z')
const A = '192.0.2.1'
// THROTTLE_FAILURE_LIMIT alone: no back-off in the way, so nothing here depends on real time.
const LIMIT_3 = {
  THROTTLE_FAILURE_LIMIT: '3',
  THROTTLE_BACKOFF_AFTER: '100',
  THROTTLE_ACCOUNT_BACKOFF_AFTER: '100',
}

/** Alice, with an active authenticator app enrolled at NOW, the clock frozen there. */
async function alice(h: Harness) {
  h.clock.freeze(NOW)
  const session = await signUp(h.app, 'alice')
  const totp = await activeTotp(h.app, session.access_token)
  const user = { id: session.user.id, loginKey: 'alice' }
  /** The code `offset` steps from now. */
  const code = (offset = 0) => totpCode(totp.secret, h.clock.now().getTime(), offset)
  return { session, totp, user, code }
}

function wrongCode(right: string): string {
  return right === '000000' ? '000001' : '000000'
}

async function rejectsRateLimited(promise: Promise<unknown>, what: string) {
  await assert.rejects(
    promise,
    (error) => error instanceof AppError && error.code === 'rate_limited',
    what,
  )
}

async function lastUsed(app: App, id: string) {
  const row = await app.store.db
    .selectFrom('factors')
    .select(['last_used_at', 'last_step'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return { at: row.last_used_at && new Date(row.last_used_at), step: Number(row.last_step) }
}

for (const dialect of dialects()) {
  describe(`TOTP codes at login (${dialect})`, () => {
    test('±1 step of drift is accepted, ±2 refused', async (t) => {
      const h = await makeApp(t, { dialect })
      const { user, code } = await alice(h)
      h.clock.advance(60) // past the step the confirmation used
      for (const offset of [-2, 2, -3, 3]) {
        assert.equal(await h.app.totp.verify(user, code(offset), A), false, `offset ${offset}`)
      }
      // In step order: each accepted step is later than the last.
      for (const offset of [-1, 0, 1]) {
        assert.equal(await h.app.totp.verify(user, code(offset), A), true, `offset ${offset}`)
      }
    })

    test('a step is accepted once: the same code again, or an earlier step’s, is refused', async (t) => {
      const h = await makeApp(t, { dialect })
      const { user, code, totp } = await alice(h)
      // The confirmation spent NOW's step already.
      assert.equal(await h.app.totp.verify(user, totp.code, A), false, 'the confirming code')
      h.clock.advance(30)
      const current = code()
      assert.equal(await h.app.totp.verify(user, current, A), true)
      const used = await lastUsed(h.app, totp.id)
      assert.deepEqual(used, {
        at: h.clock.now(),
        step: Math.floor(h.clock.now().getTime() / 30_000),
      })
      assert.equal(await h.app.totp.verify(user, current, A), false, 'replayed')
      assert.equal(await h.app.totp.verify(user, code(-1), A), false, 'an earlier step')
      h.clock.advance(10)
      assert.equal(await h.app.totp.verify(user, current, A), false, 'replayed later')
      assert.equal(await h.app.totp.verify(user, code(1), A), true, 'the next step')
    })

    test('two logins with one code at once: exactly one passes', async (t) => {
      const h = await makeApp(t, { dialect })
      const { user, code } = await alice(h)
      h.clock.advance(30)
      const one = code()
      const results = await Promise.all([
        h.app.totp.verify(user, one, A),
        h.app.totp.verify(user, one, '192.0.2.2'),
        h.app.totp.verify(user, one, A),
      ])
      assert.deepEqual(results.sort(), [false, false, true])
    })

    test('any active factor of the user; never a pending, removed or other user’s one', async (t) => {
      const h = await makeApp(t, { dialect })
      const { user, code } = await alice(h)
      const token = await aal2Token(h.app, user.id)
      const second = await activeTotp(h.app, token, 'Tablet')
      const pendingRes = await enrolTotp(h.app, token, { name: 'Pending' })
      const pending = pendingRes.json() as Enrolment
      const bob = await signUp(h.app, 'bob')
      const bobs = await activeTotp(h.app, bob.access_token)
      const at = () => h.clock.now().getTime()

      h.clock.advance(30)
      assert.equal(await h.app.totp.verify(user, totpCode(second.secret, at()), A), true)
      assert.equal(await h.app.totp.verify(user, totpCode(pending.secret, at()), A), false)
      assert.equal(await h.app.totp.verify(user, totpCode(bobs.secret, at()), A), false)
      assert.equal(await h.app.totp.verify(user, code(), A), true, 'the first factor too')

      const removed = await removeFactor(h.app, token, second.id)
      assert.equal(removed.statusCode, 204, removed.body)
      h.clock.advance(30)
      assert.equal(await h.app.totp.verify(user, totpCode(second.secret, at()), A), false)
    })

    test('what is not 6 digits is refused and counts nowhere; spaces are fine', async (t) => {
      const h = await makeApp(t, { dialect, env: { ...LIMIT_3, THROTTLE_FAILURE_LIMIT: '1' } })
      const { user, code } = await alice(h)
      h.clock.advance(30)
      for (const bad of ['', '12345', '1234567', 'abcdef', '12-34-56', '١٢٣٤٥٦']) {
        assert.equal(await h.app.totp.verify(user, bad, A), false, JSON.stringify(bad))
      }
      const right = code()
      assert.equal(await h.app.totp.verify(user, `${right.slice(0, 3)} ${right.slice(3)}`, A), true)
    })

    test('wrong codes count in the account’s throttle like wrong passwords: at the limit, even the right code and password are 429', async (t) => {
      const h = await makeApp(t, { dialect, env: LIMIT_3 })
      const { user, code } = await alice(h)
      h.clock.advance(30)
      const right = code()
      for (let i = 1; i <= 3; i++) {
        assert.equal(await h.app.totp.verify(user, wrongCode(right), A), false, `failure ${i}`)
      }
      await rejectsRateLimited(h.app.totp.verify(user, right, A), 'the right code')
      await rejectsRateLimited(h.app.totp.verify(user, right, '198.51.100.7'), 'from elsewhere')
      assertRateLimited(await loginFrom(h.app, A, 'alice'), 'the right password')
      // The code was never checked: it still works once the account may try again (not here).
      const row = await h.app.store.db
        .selectFrom('factors')
        .select('last_step')
        .executeTakeFirstOrThrow()
      assert.equal(Number(row.last_step), Math.floor(NOW.getTime() / 30_000), 'nothing accepted')
    })

    test('wrong passwords count against codes too: one counter per account', async (t) => {
      const h = await makeApp(t, { dialect, env: LIMIT_3 })
      const { user, code } = await alice(h)
      for (let i = 1; i <= 3; i++) {
        assertProblem(
          await loginFrom(h.app, A, 'alice', 'not it at all'),
          401,
          'invalid_credentials',
        )
      }
      h.clock.advance(30)
      await rejectsRateLimited(h.app.totp.verify(user, code(), A), 'after three wrong passwords')
    })

    test('a right code ends the run of failures, as a right password does', async (t) => {
      const h = await makeApp(t, { dialect, env: LIMIT_3 })
      const { user, code } = await alice(h)
      h.clock.advance(30)
      const right = code()
      for (let i = 1; i <= 2; i++) {
        assert.equal(await h.app.totp.verify(user, wrongCode(right), A), false)
      }
      assert.equal(await h.app.totp.verify(user, right, A), true)
      h.clock.advance(30)
      const next = code()
      for (let i = 1; i <= 3; i++) {
        assert.equal(await h.app.totp.verify(user, wrongCode(next), A), false, `failure ${i}`)
      }
      await rejectsRateLimited(h.app.totp.verify(user, next, A), 'three in a row again')
    })

    test('back-off: after THROTTLE_BACKOFF_AFTER wrong codes, the next try is 429 before any check', async (t) => {
      await conclusively(t, async () => {
        const h = await makeApp(t, { dialect, env: { THROTTLE_BACKOFF_AFTER: '2' } })
        const { user, code } = await alice(h)
        h.clock.advance(30)
        const right = code()
        assert.equal(await h.app.totp.verify(user, wrongCode(right), A), false)
        const elapsed = stopwatch()
        assert.equal(await h.app.totp.verify(user, wrongCode(right), A), false)
        let outcome: unknown
        try {
          outcome = await h.app.totp.verify(user, right, A)
        } catch (error) {
          outcome = error
        }
        const limited = outcome instanceof AppError && outcome.code === 'rate_limited'
        unlessTooSlow(limited, elapsed, 1000, 'after 2 failures')
        assert.ok(limited, `expected 429, got ${String(outcome)}`)
        // The right code was not checked, so not spent: another address may use it.
        assert.equal(await h.app.totp.verify(user, right, '198.51.100.7'), true)
      })
    })

    test('wrong codes at confirmation count too: 429 rate_limited at the limit', async (t) => {
      const h = await makeApp(t, { dialect, env: LIMIT_3 })
      h.clock.freeze(NOW)
      const bob = await signUp(h.app, 'bob')
      const res = await enrolTotp(h.app, bob.access_token)
      const { id, secret } = res.json() as Enrolment
      const right = totpCode(secret, NOW.getTime())
      for (let i = 1; i <= 3; i++) {
        assertProblem(
          await confirmTotp(h.app, bob.access_token, id, wrongCode(right)),
          400,
          'invalid_code',
          `failure ${i}`,
        )
      }
      assertRateLimited(await confirmTotp(h.app, bob.access_token, id, right), 'the right code')
      const row = await h.app.store.db
        .selectFrom('factors')
        .select('confirmed_at')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.equal(row.confirmed_at, null)
    })

    test('no log line carries a secret or a code', async (t) => {
      const h = await makeApp(t, { dialect, env: { LOG_LEVEL: 'trace' } })
      const { user, code, totp } = await alice(h)
      const codes = [totp.code]
      h.clock.advance(30)
      const wrong = wrongCode(code())
      codes.push(code(), wrong)
      assert.equal(await h.app.totp.verify(user, code(), A), true)
      assert.equal(await h.app.totp.verify(user, wrong, A), false)
      const token = await aal2Token(h.app, user.id)
      const again = await enrolTotp(h.app, token)
      const second = again.json() as Enrolment
      const secondCode = totpCode(second.secret, h.clock.now().getTime())
      codes.push(secondCode)
      assertProblem(await confirmTotp(h.app, token, second.id, wrong), 400, 'invalid_code')
      assert.equal((await confirmTotp(h.app, token, second.id, secondCode)).statusCode, 200)

      const lines = h.logs.join('\n')
      assert.ok(lines.includes('/user/me/factors/totp'), 'the requests were logged')
      for (const secret of [totp.secret, second.secret]) {
        assert.ok(!lines.includes(secret), 'no secret')
        assert.ok(!lines.includes(encodeURIComponent(secret)), 'no secret in a URI')
      }
      for (const c of codes) {
        assert.doesNotMatch(lines, new RegExp(`(?<![0-9])${c}(?![0-9])`), `no code ${c}`)
      }
    })
  })
}
