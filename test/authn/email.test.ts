import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  changeEmail,
  completeRecovery,
  mailsTo,
  outboxDrained,
  registerWithEmail,
  requestRecovery,
  SUBJECT,
  verifiedAccount,
  verifyEmail,
} from '../support/email.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, mailDir } from '../support/mail.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import {
  login,
  me,
  NEW_PASSWORD,
  PASSWORD,
  register,
  session,
  USER_FIELDS,
} from '../support/requests.ts'
import { conclusively, stopwatch, unlessTooSlow } from '../support/timing.ts'

const WRONG = 'not the password of this account'

for (const dialect of dialects()) {
  describe(`PUT /user/me/email (${dialect})`, () => {
    test('a new address: 200, unverified; a code to the new address, a notice to the old verified one', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'old@example.com')
      const res = await changeEmail(app, mine.access_token, {
        email: 'new@Example.org',
        password: PASSWORD,
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(Object.keys(res.json()).sort(), USER_FIELDS)
      assert.equal(res.json().email, 'new@example.org')
      assert.equal(res.json().email_verified, false)
      assert.deepEqual((await me(app, mine.access_token)).json(), res.json())
      const notice = await box.next('old@example.com', SUBJECT.changed)
      assert.match(notice.text, /changed from this one/)
      assert.doesNotMatch(notice.text, /new@example\.org/, 'the new address is not told to the old')
      const code = codeIn(await box.next('new@example.org', SUBJECT.verification))
      const verified = await verifyEmail(app, mine.access_token, code)
      assert.equal(verified.statusCode, 200)
      assert.equal(verified.json().email_verified, true)
    })

    test('an unverified old address gets no notice; the code sent to it no longer verifies anything', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'alice', 'typo@example.com')
      const mine = await session(app, 'alice')
      const oldCode = codeIn(await box.next('typo@example.com'))
      const res = await changeEmail(app, mine.access_token, {
        email: 'right@example.com',
        password: PASSWORD,
      })
      assert.equal(res.statusCode, 200, res.body)
      const newCode = codeIn(await box.next('right@example.com'))
      if (oldCode !== newCode) {
        assertProblem(await verifyEmail(app, mine.access_token, oldCode), 400, 'invalid_code')
      }
      assert.equal((await verifyEmail(app, mine.access_token, newCode)).statusCode, 200)
      await outboxDrained(app)
      assert.deepEqual(await mailsTo(box, 'typo@example.com', SUBJECT.changed), [])
    })

    test('null removes the address: email null, email_verified false; recovery then mails nothing', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const res = await changeEmail(app, mine.access_token, { email: null, password: PASSWORD })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().email, null)
      assert.equal(res.json().email_verified, false)
      await box.next('alice@example.com', SUBJECT.changed)
      assert.equal((await requestRecovery(app, { login: 'alice' })).statusCode, 202)
      await outboxDrained(app)
      assert.deepEqual(await mailsTo(box, 'alice@example.com', SUBJECT.recovery), [])
      // The address is free for another account.
      assert.equal((await registerWithEmail(app, 'bob', 'ALICE@example.com')).statusCode, 201)
    })

    test('a recovery code sent to the old address dies with the change', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'old@example.com')
      await requestRecovery(app, { login: 'alice' })
      const code = codeIn(await box.next('old@example.com', SUBJECT.recovery))
      const res = await changeEmail(app, mine.access_token, {
        email: 'new@example.com',
        password: PASSWORD,
      })
      assert.equal(res.statusCode, 200, res.body)
      const done = await completeRecovery(app, { login: 'alice', code, new_password: NEW_PASSWORD })
      assertProblem(done, 400, 'invalid_code')
      assert.equal((await login(app, 'alice')).statusCode, 200, 'the password is unchanged')
    })

    test('an address another account has (in any case) is 409 email_taken; nothing changes', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'bob', 'bob@example.com')
      const mine = await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const res = await changeEmail(app, mine.access_token, {
        email: 'BOB@example.COM',
        password: PASSWORD,
      })
      assertProblem(res, 409, 'email_taken')
      const after = (await me(app, mine.access_token)).json()
      assert.equal(after.email, 'alice@example.com')
      assert.equal(after.email_verified, true)
      await outboxDrained(app)
      assert.deepEqual(await mailsTo(box, 'alice@example.com', SUBJECT.changed), [])
    })

    test('a missing password or a malformed address is 422 naming the field; nothing changes', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mine = await verifiedAccount(app, mailDir(config.mail.dir), 'alice', 'a@example.com')
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ email: 'new@example.com' }, 'password', 'required'],
        [{ password: PASSWORD }, 'email', 'required'],
        [{ email: 'new@', password: PASSWORD }, 'email', 'invalid_format'],
        [{ email: 7, password: PASSWORD }, 'email', 'invalid_type'],
        [
          { email: 'new@example.com', password: PASSWORD, role: 'admin' },
          'role',
          'unknown_property',
        ],
      ]
      for (const [payload, field, code] of cases) {
        const res = await changeEmail(app, mine.access_token, payload)
        const problem = assertProblem(res, 422, 'validation_failed', JSON.stringify(payload))
        assert.ok(
          problem?.errors.some(
            (e: { field: string; code: string }) => e.field === field && e.code === code,
          ),
          res.body,
        )
      }
      const after = (await me(app, mine.access_token)).json()
      assert.equal(after.email, 'a@example.com')
      assert.equal(after.email_verified, true)
    })

    test('a wrong password is 401 invalid_credentials, counted like a failed login of the account', async (t) => {
      // The first back-off is 1 s of real time: a run slower than that proves nothing, and runs again.
      await conclusively(t, async () => {
        const { app, config } = await makeApp(t, { dialect })
        const mine = await verifiedAccount(app, mailDir(config.mail.dir), 'alice', 'a@example.com')
        const wrong = await changeEmail(app, mine.access_token, {
          email: 'thief@example.com',
          password: WRONG,
        })
        assertProblem(wrong, 401, 'invalid_credentials')
        assert.equal(wrong.json().detail, 'The password is wrong.')
        // Five failures from this address in all (THROTTLE_BACKOFF_AFTER), the last a login:
        // the next try waits, a change of address and a login alike.
        for (let i = 2; i <= 4; i++) {
          const res = await changeEmail(app, mine.access_token, {
            email: 't@example.com',
            password: WRONG,
          })
          assertProblem(res, 401, 'invalid_credentials', `failure ${i}`)
        }
        const elapsed = stopwatch()
        assertProblem(await login(app, 'alice', WRONG), 401, 'invalid_credentials', 'failure 5')
        const next = await login(app, 'alice')
        const change = await changeEmail(app, mine.access_token, {
          email: 't@example.com',
          password: PASSWORD,
        })
        unlessTooSlow(
          next.statusCode === 429 && change.statusCode === 429,
          elapsed,
          1000,
          'tries right after the fifth failure',
        )
        assertRateLimited(next, 'a login after five failures')
        assertRateLimited(change, 'a change after five failures')
        assert.equal((await me(app, mine.access_token)).json().email, 'a@example.com')
      })
    })

    test('needs an access token: 401 invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await register(app, 'alice')
      const res = await app.inject({
        method: 'PUT',
        url: '/user/me/email',
        payload: { email: 'a@example.com', password: PASSWORD },
      })
      assertProblem(res, 401, 'invalid_token')
    })
  })
}
