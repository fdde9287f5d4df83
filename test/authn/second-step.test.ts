// The login's second step: POST /session/ answers mfa_required for an account with an active
// factor, and POST /session/mfa finishes it. The factor is a stored fact (support/factors.ts
// giveFactor): no assertion passes with it, so these tests finish logins with saved recovery
// codes; TOTP codes and passkey assertions are tested where those are built.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { REFRESH_COOKIE } from '../../src/sessions/cookie.ts'
import {
  completeRecovery,
  mailsTo,
  requestRecovery,
  SUBJECT,
  verifiedAccount,
} from '../support/email.ts'
import { accountWithFactor, authOf, firstStep, giveFactor, tokenAt } from '../support/factors.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import { codesOf } from '../support/recovery-codes.ts'
import {
  changePassword,
  listSessions,
  login,
  me,
  NEW_PASSWORD,
  PASSWORD,
  refresh,
  SESSION_FIELDS,
  type Session,
  secondStep,
  signUp,
} from '../support/requests.ts'
import { refreshTokenCount } from '../support/store.ts'
import { assertTokenAccepted } from '../support/tokens.ts'

const MFA_FIELDS = ['expires_in', 'methods', 'mfa_required', 'mfa_token']
const RECOVERY_CODE_LOGIN = /^A recovery code was used to sign in$/
const HOST = 'usersvc.test'

/** A 200 token pair of the second step, not cached. */
function assertPair(res: LightMyRequestResponse, what: string): Session {
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`)
  assert.equal(res.headers['cache-control'], 'no-store', what)
  assert.deepEqual(Object.keys(res.json()).sort(), SESSION_FIELDS, what)
  return res.json() as Session
}

/** Unspent saved codes of the user, asked of the service (a token would need the second step). */
async function codesLeft(app: Parameters<typeof firstStep>[0], userId: string): Promise<number> {
  return (await app.recoveryCodes.status({ id: userId })).remaining
}

for (const dialect of dialects()) {
  describe(`POST /session/ on an account without a factor (${dialect})`, () => {
    test('logs in as before: a token pair whose access token says amr [pwd], aal1 and its session', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      // Saved recovery codes alone are no factor: they stand in for one.
      await codesOf(app, alice.access_token)
      const res = await login(app, 'alice')
      const pair = assertPair(res, 'login')
      assert.equal(pair.user.id, alice.user.id)
      assert.equal((pair.user as Record<string, unknown>).mfa_enabled, false)
      const claims = authOf(pair.access_token)
      assert.deepEqual(claims.amr, ['pwd'])
      assert.equal(claims.aal, 'aal1')
      const list = await listSessions(app, pair.access_token)
      assert.equal(list.statusCode, 200, list.body)
      const current = list.json().items.filter((s: { current: boolean }) => s.current)
      assert.equal(current.length, 1)
      assert.equal(current[0].id, claims.sid)
      assert.equal(current[0].aal, 'aal1')
    })
  })

  describe(`POST /session/ on an account with a factor (${dialect})`, () => {
    test('the right password: 200 mfa_required with a token for 300 s and the methods, no session', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await accountWithFactor(app, 'alice')
      const sessions = await refreshTokenCount(app)
      const res = await login(app, 'alice')
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), MFA_FIELDS)
      assert.equal(body.mfa_required, true)
      assert.equal(body.expires_in, 300)
      assert.deepEqual([...body.methods].sort(), ['passkey', 'recovery_code'])
      assert.match(body.mfa_token, /^[A-Za-z0-9_-]{43,}$/)
      assert.equal(await refreshTokenCount(app), sessions, 'no session began')
      // Each login its own token.
      assert.notEqual((await firstStep(app, 'alice')).mfa_token, body.mfa_token)
    })

    test('a wrong password is still 401 invalid_credentials, with no mfa_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await accountWithFactor(app, 'alice')
      const res = await login(app, 'alice', 'not the password of alice at all')
      const problem = assertProblem(res, 401, 'invalid_credentials')
      assert.ok(!('mfa_token' in problem))
    })

    test('recovery_code is a method only while unspent codes remain', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      for (const code of alice.codes) {
        const step = await firstStep(app, 'alice')
        assert.ok(step.methods.includes('recovery_code'), `${code}: ${step.methods}`)
        assertPair(await secondStep(app, step.mfa_token, { recovery_code: code }), code)
      }
      assert.equal(await codesLeft(app, alice.userId), 0)
      assert.deepEqual((await firstStep(app, 'alice')).methods, ['passkey'])
    })
  })

  describe(`POST /session/mfa (${dialect})`, () => {
    test('a saved recovery code: a token pair of an AAL2 session (amr pwd, otp, mfa) in the list', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const pair = assertPair(
        await secondStep(app, step.mfa_token, { recovery_code: alice.codes[3] }),
        'second step',
      )
      assert.equal(pair.token_type, 'Bearer')
      assert.equal(pair.user.id, alice.userId)
      assert.equal((pair.user as Record<string, unknown>).mfa_enabled, true)
      const claims = authOf(pair.access_token)
      assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'])
      assert.equal(claims.aal, 'aal2')
      await assertTokenAccepted(app, pair.access_token, alice.userId, 'the aal2 token')
      const list = await listSessions(app, pair.access_token)
      assert.equal(list.statusCode, 200, list.body)
      const mine = list.json().items.find((s: { id: string }) => s.id === claims.sid)
      assert.ok(mine, `${claims.sid} in ${list.body}`)
      assert.equal(mine.aal, 'aal2')
      assert.equal(mine.current, true)
      // The code is spent, the refresh token works.
      assert.equal(await codesLeft(app, alice.userId), 9)
      assertPair(await refresh(app, pair.refresh_token), 'refresh')
    })

    test('a recovery code used twice: 400 invalid_code, and that token still takes a good one', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const first = await firstStep(app, 'alice')
      assertPair(await secondStep(app, first.mfa_token, { recovery_code: alice.codes[0] }), 'once')
      const second = await firstStep(app, 'alice')
      assertProblem(
        await secondStep(app, second.mfa_token, { recovery_code: alice.codes[0] }),
        400,
        'invalid_code',
        'the spent code again',
      )
      assert.equal(await codesLeft(app, alice.userId), 9)
      assertPair(await secondStep(app, second.mfa_token, { recovery_code: alice.codes[1] }), 'next')
    })

    test('another account’s recovery code is 400 invalid_code and spends nothing', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const bob = await accountWithFactor(app, 'bob')
      const step = await firstStep(app, 'alice')
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: bob.codes[0] }),
        400,
        'invalid_code',
      )
      assert.equal(await codesLeft(app, bob.userId), 10)
      assert.equal(await codesLeft(app, alice.userId), 10)
    })

    test('the mfa_token is single-use: used again, 401 invalid_mfa_token, and the code stays unspent', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      assertPair(await secondStep(app, step.mfa_token, { recovery_code: alice.codes[0] }), 'once')
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: alice.codes[1] }),
        401,
        'invalid_mfa_token',
        'twice',
      )
      assert.equal(await codesLeft(app, alice.userId), 9)
    })

    test('one mfa_token in two requests at once: one session, the other 401 invalid_mfa_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const sessions = await refreshTokenCount(app)
      const answers = await Promise.all(
        [alice.codes[0], alice.codes[1]].map((code) =>
          secondStep(app, step.mfa_token, { recovery_code: code }),
        ),
      )
      const won = answers.filter((res) => res.statusCode === 200)
      assert.equal(won.length, 1, answers.map((res) => res.body).join('\n'))
      const lost = answers.find((res) => res.statusCode !== 200)
      assert.ok(lost)
      assertProblem(lost, 401, 'invalid_mfa_token', 'the loser')
      assert.equal(await refreshTokenCount(app), sessions + 1)
      // The loser's code was not spent.
      assert.equal(await codesLeft(app, alice.userId), 9)
    })

    test('the mfa_token lives 300 s: at 299 s it works, past 300 s it is 401 invalid_mfa_token', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      clock.freeze()
      const early = await firstStep(app, 'alice')
      const late = await firstStep(app, 'alice')
      clock.advance(299)
      assertPair(await secondStep(app, early.mfa_token, { recovery_code: alice.codes[0] }), '299 s')
      clock.advance(2)
      assertProblem(
        await secondStep(app, late.mfa_token, { recovery_code: alice.codes[1] }),
        401,
        'invalid_mfa_token',
        '301 s',
      )
      assert.equal(await codesLeft(app, alice.userId), 9)
    })

    test('five wrong codes kill the token: the sixth, even a right one, is 401 invalid_mfa_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      // Well-formed codes that are not alice's: each is checked, and each fails.
      const wrong = (await accountWithFactor(app, 'bob')).codes
      // Four wrong ones leave the token alive.
      const survivor = await firstStep(app, 'alice')
      for (const code of wrong.slice(0, 4)) {
        assertProblem(
          await secondStep(app, survivor.mfa_token, { recovery_code: code }),
          400,
          'invalid_code',
          code,
        )
      }
      assertPair(
        await secondStep(app, survivor.mfa_token, { recovery_code: alice.codes[0] }),
        'after four wrong codes',
      )
      const doomed = await firstStep(app, 'alice')
      for (const code of wrong.slice(4, 9)) {
        assertProblem(
          await secondStep(app, doomed.mfa_token, { recovery_code: code }),
          400,
          'invalid_code',
          code,
        )
      }
      assertProblem(
        await secondStep(app, doomed.mfa_token, { recovery_code: alice.codes[1] }),
        401,
        'invalid_mfa_token',
        'the sixth',
      )
      assert.equal(await codesLeft(app, alice.userId), 9, 'the right code was not spent')
    })

    test('a password change after the token was issued kills it', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const changed = await changePassword(app, await tokenAt(app, alice.userId, 'aal2'), {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      })
      assert.equal(changed.statusCode, 204, changed.body)
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: alice.codes[0] }),
        401,
        'invalid_mfa_token',
      )
      assert.equal(await codesLeft(app, alice.userId), 10)
      // A token of the new password works.
      const next = await firstStep(app, 'alice', NEW_PASSWORD)
      assertPair(await secondStep(app, next.mfa_token, { recovery_code: alice.codes[0] }), 'new')
    })

    test('an unknown mfa_token is 401 invalid_mfa_token, for the proof and for passkey options', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const spent = await firstStep(app, 'alice')
      assertPair(await secondStep(app, spent.mfa_token, { recovery_code: alice.codes[0] }), 'spent')
      const unknown = [
        'garbage',
        randomBytes(32).toString('base64url'),
        'nul\u0000byte',
        // The stored id of a live token is not the token.
        spent.mfa_token.slice(0, -1),
        spent.mfa_token,
      ]
      for (const token of unknown) {
        const what = JSON.stringify(token)
        assertProblem(
          await secondStep(app, token, { recovery_code: alice.codes[1] }),
          401,
          'invalid_mfa_token',
          what,
        )
        const options = await app.inject({
          method: 'POST',
          url: '/session/mfa/passkey/options',
          payload: { mfa_token: token },
        })
        assertProblem(options, 401, 'invalid_mfa_token', `options, ${what}`)
      }
      assert.equal(await codesLeft(app, alice.userId), 9)
    })

    test('none or two proofs, extra fields, a bad mfa_token: 422 validation_failed, and nothing spent', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const code = alice.codes[0] as string
      const bodies: Array<[string, Record<string, unknown>]> = [
        ['no proof', { mfa_token: step.mfa_token }],
        [
          'code and recovery_code',
          { mfa_token: step.mfa_token, code: '123456', recovery_code: code },
        ],
        [
          'recovery_code and credential',
          { mfa_token: step.mfa_token, recovery_code: code, credential: {} },
        ],
        ['an extra field', { mfa_token: step.mfa_token, recovery_code: code, login: 'alice' }],
        ['no mfa_token', { recovery_code: code }],
        ['an empty mfa_token', { mfa_token: '', recovery_code: code }],
        ['a number for a code', { mfa_token: step.mfa_token, recovery_code: 12345 }],
      ]
      for (const [what, payload] of bodies) {
        const res = await app.inject({ method: 'POST', url: '/session/mfa', payload })
        const problem = assertProblem(res, 422, 'validation_failed', what)
        assert.ok(problem?.errors.length > 0, what)
      }
      const extra = await app.inject({
        method: 'POST',
        url: '/session/mfa',
        payload: { mfa_token: step.mfa_token, recovery_code: code, login: 'alice' },
      })
      assert.deepEqual(
        assertProblem(extra, 422, 'validation_failed')?.errors.map(
          (e: { field: string; code: string }) => [e.field, e.code],
        ),
        [['login', 'unknown_property']],
      )
      assert.equal(await codesLeft(app, alice.userId), 10)
      // None of them counted against the token: it still takes the code.
      assertPair(await secondStep(app, step.mfa_token, { recovery_code: code }), 'after')
    })

    test('?cookie=true with an allowed Origin puts the refresh token in the cookie; a foreign one is 403 and spends nothing', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const send = (origin: string) =>
        app.inject({
          method: 'POST',
          url: '/session/mfa?cookie=true',
          headers: { host: HOST, origin },
          payload: { mfa_token: step.mfa_token, recovery_code: alice.codes[0] },
        })
      const foreign = await send('https://evil.example')
      assertProblem(foreign, 403, 'forbidden')
      assert.equal(foreign.headers['set-cookie'], undefined)
      assert.equal(await codesLeft(app, alice.userId), 10)

      const res = await send(`http://${HOST}`)
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json()
      assert.ok(!('refresh_token' in body), 'no refresh_token in the body')
      assert.equal(authOf(body.access_token).aal, 'aal2')
      const cookie = res.cookies.find((c) => c.name === REFRESH_COOKIE)
      assert.ok(cookie && cookie.value.length > 0, JSON.stringify(res.cookies))
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.secure, true)
      assert.equal(cookie.path, '/session')
      // The cookie refreshes the session, at AAL2.
      const refreshed = await app.inject({
        method: 'POST',
        url: '/session/refresh?cookie=true',
        headers: { host: HOST, origin: `http://${HOST}` },
        cookies: { [REFRESH_COOKIE]: cookie.value },
        payload: {},
      })
      assert.equal(refreshed.statusCode, 200, refreshed.body)
      assert.equal(authOf(refreshed.json().access_token).aal, 'aal2')
    })

    test('a login with a recovery code mails the recovery_code_login notice to the verified address', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const codes = await codesOf(app, mine.access_token)
      await giveFactor(app, mine.user.id)
      const bobs = await codesOf(app, (await signUp(app, 'bob')).access_token)
      const step = await firstStep(app, 'alice')
      // A wrong code first: it tells nobody anything.
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: bobs[0] }),
        400,
        'invalid_code',
      )
      const res = await app.inject({
        method: 'POST',
        url: '/session/mfa',
        headers: { 'accept-language': 'ru' },
        payload: { mfa_token: step.mfa_token, recovery_code: codes[0] },
      })
      assertPair(res, 'second step')
      const notice = await box.next(
        'alice@example.com',
        /^Для входа использован код восстановления$/,
      )
      assert.match(notice.text, /alice/)
      for (const part of [notice.raw, notice.text, notice.html]) {
        for (const code of codes) assert.ok(!part.includes(code.slice(5)), 'no code in the mail')
      }
      // Mail goes out in order: had the wrong code been told of, it would be here too.
      const told = (await box.all()).filter(
        (m) => RECOVERY_CODE_LOGIN.test(m.subject) || /^Для входа/.test(m.subject),
      )
      assert.equal(told.length, 1)
    })

    test('an AAL2 session refreshes at AAL2, with the same sid and amr', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await accountWithFactor(app, 'alice')
      const step = await firstStep(app, 'alice')
      const pair = assertPair(
        await secondStep(app, step.mfa_token, { recovery_code: alice.codes[0] }),
        'second step',
      )
      const first = authOf(pair.access_token)
      const next = assertPair(await refresh(app, pair.refresh_token), 'refresh')
      assert.deepEqual(authOf(next.access_token), first)
      const third = assertPair(await refresh(app, next.refresh_token), 'refresh again')
      assert.deepEqual(authOf(third.access_token), first)
      // The login-before-the-factor session stays at AAL1 through its refresh.
      const old = assertPair(await refresh(app, alice.session.refresh_token), 'aal1 refresh')
      assert.deepEqual(authOf(old.access_token).amr, ['pwd'])
      assert.equal(authOf(old.access_token).aal, 'aal1')
    })

    test('no mfa_token, recovery code or password is in any log line, even at trace level', async (t) => {
      const { app, logs } = await makeApp(t, { dialect, env: { LOG_LEVEL: 'trace' } })
      const alice = await accountWithFactor(app, 'alice')
      const tokens: string[] = []
      const step = await firstStep(app, 'alice')
      tokens.push(step.mfa_token)
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: 'ABCD-EFGH-JKMN-PQRS-TVWX' }),
        400,
        'invalid_code',
      )
      await app.inject({
        method: 'POST',
        url: '/session/mfa',
        payload: { mfa_token: step.mfa_token },
      })
      assertPair(await secondStep(app, step.mfa_token, { recovery_code: alice.codes[0] }), 'right')
      assertProblem(
        await secondStep(app, step.mfa_token, { recovery_code: alice.codes[1] }),
        401,
        'invalid_mfa_token',
      )
      const other = await firstStep(app, 'alice')
      tokens.push(other.mfa_token)
      await app.inject({
        method: 'POST',
        url: '/session/mfa/passkey/options',
        payload: { mfa_token: 'x' },
      })
      assertProblem(
        await login(app, 'alice', 'a wrong password for alice, long enough'),
        401,
        'invalid_credentials',
      )
      assert.ok(logs.length > 0)
      const secrets = [
        ...tokens,
        ...alice.codes.flatMap((code) => [code, code.slice(5)]),
        'ABCD-EFGH-JKMN-PQRS-TVWX',
        PASSWORD,
        'a wrong password for alice, long enough',
      ]
      for (const line of logs) {
        for (const secret of secrets) assert.ok(!line.includes(secret), `${secret} in ${line}`)
      }
    })
  })

  describe(`recovery never lowers the bar (${dialect})`, () => {
    test('after recovery by email, the new password still asks for the second factor', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      const mine = await verifiedAccount(app, box, 'alice', 'alice@example.com')
      const codes = await codesOf(app, mine.access_token)
      await giveFactor(app, mine.user.id)

      assert.equal((await requestRecovery(app, { login: 'alice' })).statusCode, 202)
      const code = codeIn(await box.next('alice@example.com', SUBJECT.recovery))
      const done = await completeRecovery(app, { login: 'alice', code, new_password: NEW_PASSWORD })
      assert.equal(done.statusCode, 204, done.body)

      const res = await login(app, 'alice', NEW_PASSWORD)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(Object.keys(res.json()).sort(), MFA_FIELDS)
      assert.deepEqual([...res.json().methods].sort(), ['passkey', 'recovery_code'])
      // A saved code finishes it, as the issue says a user who lost the device does.
      const pair = assertPair(
        await secondStep(app, res.json().mfa_token, { recovery_code: codes[0] }),
        'second step',
      )
      assert.equal(authOf(pair.access_token).aal, 'aal2')
      const user = await me(app, pair.access_token)
      assert.equal(user.json().mfa_enabled, true)
      await box.next('alice@example.com', RECOVERY_CODE_LOGIN)
      assert.equal((await mailsTo(box, 'alice@example.com', RECOVERY_CODE_LOGIN)).length, 1)
    })
  })
}
