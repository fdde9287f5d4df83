import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import {
  completeRecovery,
  mailsTo,
  otherCode,
  outboxDrained,
  registerWithEmail,
  requestRecovery,
  SUBJECT,
  verifiedAccount,
} from '../support/email.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, type Mailbox, mailDir } from '../support/mail.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { login, me, NEW_PASSWORD, PASSWORD, refresh, register } from '../support/requests.ts'
import { conclusively, stopwatch, unlessTooSlow } from '../support/timing.ts'

const WRONG = 'not the password of this account'

/** Asks for a recovery code for `body` and returns it from the mail to `to`. */
async function recoveryCode(
  app: App,
  box: Mailbox,
  body: Record<string, string>,
  to: string,
): Promise<string> {
  const res = await requestRecovery(app, body)
  assert.equal(res.statusCode, 202, res.body)
  return codeIn(await box.next(to, SUBJECT.recovery))
}

/** A code of the same length that is certainly not `code`. */
for (const dialect of dialects()) {
  describe(`POST /recovery/complete (${dialect})`, () => {
    test('204: the new password works, the old does not, every session ends, and the address is told', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const code = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      const res = await completeRecovery(app, { login: 'alice', code, new_password: NEW_PASSWORD })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
      assertProblem(await login(app, 'alice', PASSWORD), 401, 'invalid_credentials')
      assertProblem(await refresh(app, mine.refresh_token), 401, 'invalid_refresh_token')
      assertProblem(await me(app, mine.access_token), 401, 'invalid_token')
      const notice = await box.next('alice@example.com', SUBJECT.passwordChanged)
      assert.match(notice.text, /every session was ended/)
      // Spent: once is all.
      const again = await completeRecovery(app, { login: 'alice', code, new_password: PASSWORD })
      assertProblem(again, 400, 'invalid_code')
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
    })

    test('by address, in any case, as well as by login', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const code = await recoveryCode(app, box, { email: 'ALICE@example.com' }, 'alice@example.com')
      const res = await completeRecovery(app, {
        email: 'Alice@Example.COM',
        code,
        new_password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
    })

    test('a new password that breaks the policy is 422 password_policy and spends nothing', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const code = await recoveryCode(app, box, { email: 'alice@example.com' }, 'alice@example.com')
      for (const [password, rule] of [
        ['q7-vz!kp', 'too_short'],
        ['passwordpassword', 'common_password'],
        // Found by address, the login is named only once the code has proven the holder.
        ['alice in wonderland, all the way', 'contains_login'],
      ]) {
        const res = await completeRecovery(app, {
          email: 'alice@example.com',
          code,
          new_password: password,
        })
        const problem = assertProblem(res, 422, 'password_policy', rule)
        assert.deepEqual(
          problem?.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
          [['new_password', rule]],
        )
      }
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
      const res = await completeRecovery(app, {
        email: 'alice@example.com',
        code,
        new_password: NEW_PASSWORD,
      })
      assert.equal(res.statusCode, 204, res.body)
    })

    test('wrong, expired, spent, superseded and unknown: one 400 invalid_code, byte for byte', async (t) => {
      const { app, config, clock } = await makeApp(t, {
        dialect,
        env: { RECOVERY_CODE_TTL_SECONDS: '300' },
      })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      await verifiedAccount(app, box, 'bob', 'bob@example.com')
      await registerWithEmail(app, 'carol', 'carol@example.com')
      await register(app, 'dave')
      clock.freeze()
      const answers: Array<[string, string]> = []
      const attempt = async (what: string, body: Record<string, string>, address: string) => {
        const res = await completeRecovery(app, { new_password: NEW_PASSWORD, ...body }, address)
        assertProblem(res, 400, 'invalid_code', what)
        answers.push([what, res.body])
      }

      const first = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      await outboxDrained(app)
      const second = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      if (first !== second) {
        await attempt('superseded', { login: 'alice', code: first }, '10.1.0.1')
      }
      await attempt('wrong', { login: 'alice', code: otherCode(second) }, '10.1.0.2')
      await attempt('no such login', { login: 'nobody', code: second }, '10.1.0.3')
      await attempt('no such address', { email: 'nobody@example.com', code: second }, '10.1.0.4')
      await attempt('unverified address', { login: 'carol', code: second }, '10.1.0.5')
      await attempt('no address', { login: 'dave', code: second }, '10.1.0.6')
      await attempt('another account’s code', { login: 'bob', code: second }, '10.1.0.7')
      // Valid for RECOVERY_CODE_TTL_SECONDS: one second before, it works; at it, it is dead.
      const bobs = await recoveryCode(app, box, { login: 'bob' }, 'bob@example.com')
      clock.advance(300)
      await attempt('expired', { login: 'bob', code: bobs }, '10.1.0.8')
      const alices = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      clock.advance(299)
      const ok = await completeRecovery(app, {
        login: 'alice',
        code: alices,
        new_password: NEW_PASSWORD,
      })
      assert.equal(ok.statusCode, 204, ok.body)
      await attempt('spent', { login: 'alice', code: alices }, '10.1.0.9')

      for (const [what, body] of answers) assert.equal(body, answers[0]?.[1], what)
    })

    test('dead after 5 wrong submissions, even with the right code next', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const code = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      // From five addresses, so that the throttle's per-address back-off does not answer first.
      for (let i = 1; i <= 5; i++) {
        const res = await completeRecovery(
          app,
          { login: 'alice', code: otherCode(code), new_password: NEW_PASSWORD },
          `10.2.0.${i}`,
        )
        assertProblem(res, 400, 'invalid_code', `wrong ${i}`)
      }
      const right = await completeRecovery(
        app,
        { login: 'alice', code, new_password: NEW_PASSWORD },
        '10.2.0.99',
      )
      assertProblem(right, 400, 'invalid_code')
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
    })

    test('ten concurrent completions with one code: exactly one 204, the others 400 invalid_code', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const code = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
      const passwords = Array.from({ length: 10 }, (_, i) => `${NEW_PASSWORD} number ${i}`)
      const results = await Promise.all(
        passwords.map((password, i) =>
          completeRecovery(app, { login: 'alice', code, new_password: password }, `10.3.0.${i}`),
        ),
      )
      const won = results.findIndex((r) => r.statusCode === 204)
      assert.ok(won >= 0, results.map((r) => r.body).join('\n'))
      for (const [i, res] of results.entries()) {
        if (i !== won) assertProblem(res, 400, 'invalid_code', `completion ${i}`)
      }
      assert.equal((await login(app, 'alice', passwords[won])).statusCode, 200)
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'alice@example.com', SUBJECT.passwordChanged)).length, 1)
    })

    test('wrong codes count in the account’s failure throttle, as wrong passwords do', async (t) => {
      // The first back-off is 1 s of real time: a run slower than that proves nothing, and runs again.
      await conclusively(t, async () => {
        const { app, config } = await makeApp(t, { dialect })
        const box = mailDir(config.mail.dir)
        await verifiedAccount(app, box, 'alice', 'alice@example.com')
        const code = await recoveryCode(app, box, { login: 'alice' }, 'alice@example.com')
        // Four wrong passwords and a wrong code from one address: five failures.
        for (let i = 1; i <= 4; i++) {
          assertProblem(await login(app, 'alice', WRONG), 401, 'invalid_credentials', `${i}`)
        }
        const elapsed = stopwatch()
        const wrong = await completeRecovery(app, {
          login: 'alice',
          code: otherCode(code),
          new_password: NEW_PASSWORD,
        })
        assertProblem(wrong, 400, 'invalid_code')
        const right = await completeRecovery(app, {
          login: 'alice',
          code,
          new_password: NEW_PASSWORD,
        })
        const next = await login(app, 'alice')
        unlessTooSlow(
          right.statusCode === 429 && next.statusCode === 429,
          elapsed,
          1000,
          'tries right after the fifth failure',
        )
        assertRateLimited(right, 'the right code, while backing off')
        assertRateLimited(next, 'a login, while backing off')
      })
    })

    test('unknown accounts are throttled alike (429 after five failures, by login or by address)', async (t) => {
      await conclusively(t, async () => {
        const { app } = await makeApp(t, { dialect })
        for (const body of [{ login: 'nobody' }, { email: 'nobody@example.com' }]) {
          let elapsed = stopwatch()
          for (let i = 1; i <= 5; i++) {
            elapsed = stopwatch()
            const res = await completeRecovery(app, {
              ...body,
              code: '12345678',
              new_password: NEW_PASSWORD,
            })
            assertProblem(res, 400, 'invalid_code', `${JSON.stringify(body)} ${i}`)
          }
          const sixth = await completeRecovery(app, {
            ...body,
            code: '12345678',
            new_password: NEW_PASSWORD,
          })
          unlessTooSlow(sixth.statusCode === 429, elapsed, 1000, 'the sixth try')
          assertRateLimited(sixth, JSON.stringify(body))
        }
      })
    })

    test('bad bodies are 422 naming the field', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ code: '12345678', new_password: NEW_PASSWORD }, 'login', 'required'],
        [
          { login: 'a', email: 'a@example.com', code: '12345678', new_password: NEW_PASSWORD },
          'email',
          'invalid_value',
        ],
        [{ login: 'alice', new_password: NEW_PASSWORD }, 'code', 'required'],
        [{ login: 'alice', code: '12345678' }, 'new_password', 'required'],
        [{ login: 'alice', code: 12345678, new_password: NEW_PASSWORD }, 'code', 'invalid_type'],
        [{ email: 'a@', code: '12345678', new_password: NEW_PASSWORD }, 'email', 'invalid_format'],
      ]
      for (const [payload, field, code] of cases) {
        const res = await completeRecovery(app, payload)
        const problem = assertProblem(res, 422, 'validation_failed', JSON.stringify(payload))
        assert.ok(
          problem?.errors.some(
            (e: { field: string; code: string }) => e.field === field && e.code === code,
          ),
          res.body,
        )
      }
    })
  })
}
