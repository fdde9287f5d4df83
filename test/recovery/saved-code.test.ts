import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { countingHasher, dialects, makeApp } from '../support/harness.ts'
import { comparable } from '../support/http.ts'
import { mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import {
  codeRows,
  codeStatus,
  codesOf,
  recoverWithCode,
  setAddress,
} from '../support/recovery-codes.ts'
import { login, NEW_PASSWORD, PASSWORD, refresh, session, signUp } from '../support/requests.ts'
import { liveRefreshTokens } from '../support/store.ts'
import { assertTokenRejected } from '../support/tokens.ts'

const ANOTHER_PASSWORD = 'yet another very long passphrase for this test'

for (const dialect of dialects()) {
  describe(`POST /recovery/code (${dialect})`, () => {
    test('a saved code sets the password: 204, the code spent, every session ended, the old password dead', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const other = await session(app, 'alice')
      // Addresses straight in the store, without their verification mail (support/recovery-codes.ts).
      await setAddress(app, alice.user.id, 'alice@example.com', true)
      const [code] = await codesOf(app, alice.access_token)

      const res = await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD, {
        headers: { 'accept-language': 'ru' },
      })
      assert.equal(res.statusCode, 204, res.body)
      assert.equal(res.body, '')

      assert.deepEqual(await liveRefreshTokens(app, alice.user.id), [])
      for (const s of [alice, other]) {
        assertProblem(await refresh(app, s.refresh_token), 401, 'invalid_refresh_token')
        await assertTokenRejected(app, s.access_token, 'an access token from before')
      }
      assertProblem(await login(app, 'alice', PASSWORD), 401, 'invalid_credentials')
      const after = await session(app, 'alice', NEW_PASSWORD)
      assert.equal((await codeStatus(app, after.access_token)).json().remaining, 9)
      const spent = (await codeRows(app, alice.user.id)).filter((row) => row.used_at !== null)
      assert.deepEqual(
        spent.map((row) => row.selector),
        [(code as string).slice(0, 4)],
      )

      // After the notice of the new set (factors/ tests that one).
      const notice = await mailDir(config.mail.dir).next('alice@example.com', /пароль/)
      assert.equal(notice.subject, 'Ваш пароль изменён')
      for (const part of [notice.raw, notice.text, notice.html]) {
        assert.ok(!part.includes((code as string).slice(5)), 'no code in the mail')
      }
    })

    test('a code is accepted however it is typed: case, dashes, spaces, Crockford’s confusables', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      // One code with a 0 or a 1 in it, for the confusables (almost every set has several).
      let codes = await codesOf(app, alice.access_token)
      while (!codes.some((c) => /[01]/.test(c))) codes = await codesOf(app, alice.access_token)
      const confusable = codes.find((c) => /[01]/.test(c)) as string
      const rest = codes.filter((c) => c !== confusable)
      const typed = [
        confusable.replaceAll('0', 'o').replaceAll('1', 'l'),
        (rest[0] as string).toLowerCase(),
        (rest[1] as string).replaceAll('-', ''),
        (rest[2] as string).replaceAll('-', ' '),
        ` ${(rest[3] as string).toLowerCase().replaceAll('-', '  ')}\n`,
        (rest[4] as string).replaceAll('-', '–'),
      ]
      let password = PASSWORD
      for (const [i, spelling] of typed.entries()) {
        password = `${NEW_PASSWORD} number ${i}`
        const res = await recoverWithCode(app, 'ALICE', spelling, password)
        assert.equal(res.statusCode, 204, `${JSON.stringify(spelling)}: ${res.body}`)
      }
      const now = await session(app, 'alice', password)
      assert.equal((await codeStatus(app, now.access_token)).json().remaining, 10 - typed.length)
    })

    test('a code works once', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const [code] = await codesOf(app, alice.access_token)
      assert.equal(
        (await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD)).statusCode,
        204,
      )
      const again = await recoverWithCode(app, 'alice', code as string, ANOTHER_PASSWORD)
      assertProblem(again, 400, 'invalid_code')
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
      assertProblem(await login(app, 'alice', ANOTHER_PASSWORD), 401, 'invalid_credentials')
    })

    test('five concurrent uses of one code: exactly one 204, the others 400 invalid_code', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const [code] = await codesOf(app, alice.access_token)
      const answers = await Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          recoverWithCode(app, 'alice', code as string, `${NEW_PASSWORD} number ${n}`),
        ),
      )
      const won = answers.filter((res) => res.statusCode === 204)
      assert.equal(won.length, 1, answers.map((res) => res.statusCode).join(' '))
      for (const res of answers.filter((r) => r.statusCode !== 204)) {
        assertProblem(res, 400, 'invalid_code')
      }
      // The password is the winner's.
      const winner = answers.indexOf(won[0] as LightMyRequestResponse) + 1
      assert.equal((await login(app, 'alice', `${NEW_PASSWORD} number ${winner}`)).statusCode, 200)
      assert.equal((await codeRows(app, alice.user.id)).filter((r) => r.used_at).length, 1)
    })

    test('unknown login, wrong code, unknown selector, spent code: one answer, after one verify each', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, { dialect, hasher: counting.hasher })
      const alice = await signUp(app, 'alice')
      const codes = await codesOf(app, alice.access_token)
      const [spent, known] = codes as [string, string]
      assert.equal((await recoverWithCode(app, 'alice', spent, NEW_PASSWORD)).statusCode, 204)
      // The right selector with another secret; a selector of no code of hers.
      const wrongSecret = `${known.slice(0, 5)}${known.slice(5).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`
      let unknownSelector = 'ZZZZ'
      while (codes.some((c) => c.startsWith(unknownSelector))) unknownSelector = 'YYYY'
      const cases = [
        ['unknown login', 'nobody', known],
        ['wrong secret', 'alice', wrongSecret],
        ['unknown selector', 'alice', `${unknownSelector}${known.slice(4)}`],
        ['spent code', 'alice', spent],
        ['another user’s login', 'bob', known],
      ] as const
      await signUp(app, 'bob')
      const answers = []
      for (const [what, loginName, code] of cases) {
        counting.reset()
        const res = await recoverWithCode(app, loginName, code, ANOTHER_PASSWORD)
        assertProblem(res, 400, 'invalid_code', what)
        assert.equal(counting.total(), 1, `${what}: one verify (${JSON.stringify(counting.calls)})`)
        assert.equal(counting.calls.hash, 0, what)
        answers.push(comparable(res))
      }
      for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0])
      // None of them changed anything.
      assert.equal((await login(app, 'alice', NEW_PASSWORD)).statusCode, 200)
    })

    test('a new password that breaks the policy: 422 password_policy, nothing spent, no hash', async (t) => {
      const counting = await countingHasher()
      const { app } = await makeApp(t, { dialect, hasher: counting.hasher })
      const alice = await signUp(app, 'alice')
      const [code] = await codesOf(app, alice.access_token)
      for (const [password, rule] of [
        ['short', 'too_short'],
        ['alice alice alice alice', 'contains_login'],
      ] as const) {
        counting.reset()
        const res = await recoverWithCode(app, 'alice', code as string, password)
        const problem = assertProblem(res, 422, 'password_policy', rule)
        assert.ok(
          problem.errors.some(
            (e: { field: string; code: string }) => e.field === 'new_password' && e.code === rule,
          ),
          res.body,
        )
        assert.equal(counting.total(), 0, `${rule}: no hash at all`)
      }
      assert.equal((await codeStatus(app, alice.access_token)).json().remaining, 10)
      assert.equal((await login(app, 'alice', PASSWORD)).statusCode, 200)
      // The code is still good.
      assert.equal(
        (await recoverWithCode(app, 'alice', code as string, NEW_PASSWORD)).statusCode,
        204,
      )
    })

    test('no notice without a verified address', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      await setAddress(app, alice.user.id, 'alice@example.com', false)
      const [aliceCode] = await codesOf(app, alice.access_token)
      const [bobCode] = await codesOf(app, bob.access_token)
      await setAddress(app, bob.user.id, 'bob@example.com', true)
      assert.equal(
        (await recoverWithCode(app, 'alice', aliceCode as string, NEW_PASSWORD)).statusCode,
        204,
      )
      assert.equal(
        (await recoverWithCode(app, 'bob', bobCode as string, NEW_PASSWORD)).statusCode,
        204,
      )
      const notice = await mail.next('bob@example.com')
      assert.equal(notice.subject, 'Your password was changed')
      // Alice's recovery came first, and mail goes out in order.
      assert.deepEqual(
        (await mail.all()).map((m) => m.to),
        ['bob@example.com'],
      )
    })

    test('no code and no password in any log line, nor in any other answer', async (t) => {
      const { app, logs } = await makeApp(t, { dialect, env: { LOG_LEVEL: 'trace' } })
      const alice = await signUp(app, 'alice')
      const codes = await codesOf(app, alice.access_token)
      const status = await codeStatus(app, alice.access_token)
      const [used, wrong] = codes as [string, string]
      const bad = await recoverWithCode(app, 'nobody', wrong, ANOTHER_PASSWORD)
      const good = await recoverWithCode(app, 'alice', used.toLowerCase(), NEW_PASSWORD)
      assert.equal(good.statusCode, 204)
      const policy = await recoverWithCode(app, 'alice', wrong, 'short')
      // One line per request at least: seven requests.
      assert.ok(logs.length >= 7, `${logs.length} log lines`)
      const text = logs.join('\n')
      for (const code of codes) {
        const secret = code.slice(5)
        for (const form of [secret, secret.toLowerCase(), secret.replaceAll('-', '')]) {
          assert.ok(!text.includes(form), `a code in the log:\n${text}`)
          for (const res of [status, bad, good, policy]) assert.ok(!res.body.includes(form))
        }
      }
      for (const password of [PASSWORD, NEW_PASSWORD, ANOTHER_PASSWORD]) {
        assert.ok(!text.includes(password), 'a password in the log')
      }
    })

    test('the check the second factor will use: a code of user X, by id; spent once', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const [code] = await codesOf(app, alice.access_token)
      const check = app.recoveryCodeCheck
      assert.equal(await check.check({ id: bob.user.id }, code as string, '127.0.0.1'), undefined)
      const match = await check.check({ id: alice.user.id }, code as string, '127.0.0.1')
      assert.ok(match)
      assert.equal(match.userId, alice.user.id)
      const { db } = app.store
      const spend = () => db.transaction().execute((trx) => check.spend(trx, match, clock.now()))
      assert.equal(await spend(), true)
      assert.equal(await spend(), false)
      assert.equal(await check.check({ id: alice.user.id }, code as string, '127.0.0.1'), undefined)
    })
  })
}
