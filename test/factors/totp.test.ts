// Adding an authenticator app: POST /user/me/factors/totp, then …/{id}/confirm with a code.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeProtectedHeader } from 'jose'
import type { App } from '../../src/app.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { mailDir } from '../support/mail.ts'
import { assertProblem } from '../support/problems.ts'
import { setAddress } from '../support/recovery-codes.ts'
import { bearer, me, NO_SUCH_UUID, signUp } from '../support/requests.ts'
import {
  aal2Token,
  activeTotp,
  confirmTotp,
  type Enrolment,
  enrolTotp,
  listFactors,
  removeFactor,
  totpCode,
} from '../support/totp.ts'

const NOW = new Date('2026-03-01T10:00:15.000Z')
const SEALING_SECRET = 'a signing key secret of at least thirty-two characters'

async function factorRows(app: App, userId: string) {
  return app.store.db.selectFrom('factors').selectAll().where('user_id', '=', userId).execute()
}

async function enrolled(app: App, token: string, payload = {}): Promise<Enrolment> {
  const res = await enrolTotp(app, token, payload)
  assert.equal(res.statusCode, 201, res.body)
  return res.json() as Enrolment
}

for (const dialect of dialects()) {
  describe(`TOTP enrolment (${dialect})`, () => {
    test('enrol → 201 key once; confirm → 200 the factor; listed; mfa_enabled; notice mailed', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      await setAddress(app, alice.user.id, 'alice@example.com', true)

      const res = await enrolTotp(app, alice.access_token)
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = res.json() as Enrolment
      assert.deepEqual(Object.keys(body).sort(), ['id', 'otpauth_uri', 'secret'])
      assert.equal(res.headers.location, `/user/me/factors/${body.id}`)
      assert.match(body.secret, /^[A-Z2-7]{32}$/, '160 bits in base32')
      assert.equal(
        body.otpauth_uri,
        `otpauth://totp/usersvc:alice?secret=${body.secret}&issuer=usersvc&algorithm=SHA1&digits=6&period=30`,
      )

      // Pending: not listed, not enabled.
      assert.deepEqual((await listFactors(app, alice.access_token)).json().items, [])
      assert.equal((await me(app, alice.access_token)).json().mfa_enabled, false)

      clock.advance(40)
      const code = totpCode(body.secret, clock.now().getTime())
      const confirmed = await confirmTotp(app, alice.access_token, body.id, code)
      assert.equal(confirmed.statusCode, 200, confirmed.body)
      const factor = {
        id: body.id,
        type: 'totp',
        name: 'Authenticator app',
        created_at: NOW.toISOString(),
        last_used_at: clock.now().toISOString(),
      }
      assert.deepEqual(confirmed.json(), factor)

      const list = await listFactors(app, alice.access_token)
      assert.equal(list.statusCode, 200, list.body)
      assert.deepEqual(list.json(), { items: [factor], recovery_codes_remaining: 0 })
      assert.equal((await me(app, alice.access_token)).json().mfa_enabled, true)

      const notice = await mail.next('alice@example.com')
      assert.equal(notice.subject, 'A second factor was added')
      for (const part of [notice.raw, notice.text, notice.html]) {
        assert.ok(!part.includes(body.secret), 'no secret in the mail')
      }
    })

    test('a name of the caller’s, trimmed; bad names are 422 naming `name`, and nothing is made', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const named = await activeTotp(app, alice.access_token, '  Phone 📱  ')
      const list = (await listFactors(app, alice.access_token)).json()
      assert.deepEqual(
        list.items.map((f: { id: string; name: string }) => [f.id, f.name]),
        [[named.id, 'Phone 📱']],
      )
      const token = await aal2Token(app, alice.user.id)
      for (const [name, code] of [
        ['', 'too_short'],
        ['   ', 'too_short'],
        ['x'.repeat(65), 'too_long'],
        ['bell\u0007', 'invalid_characters'],
        ['two\nlines', 'invalid_characters'],
      ] as const) {
        const problem = assertProblem(
          await enrolTotp(app, token, { name }),
          422,
          'validation_failed',
          JSON.stringify(name),
        )
        assert.deepEqual(
          problem.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
          [['name', code]],
        )
      }
      // 64 characters (code points) is fine.
      assert.equal((await enrolTotp(app, token, { name: '😀'.repeat(64) })).statusCode, 201)
      assert.equal((await factorRows(app, alice.user.id)).length, 2)
    })

    test('a wrong code is 400 invalid_code and the factor stays pending; the right one then works', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const { id, secret } = await enrolled(app, alice.access_token)
      const right = totpCode(secret, NOW.getTime())
      const wrong = right === '000000' ? '000001' : '000000'
      for (const code of [wrong, totpCode(secret, NOW.getTime(), 2), '12345', 'abcdef']) {
        assertProblem(
          await confirmTotp(app, alice.access_token, id, code),
          400,
          'invalid_code',
          code,
        )
      }
      assert.equal((await factorRows(app, alice.user.id))[0]?.confirmed_at, null)
      assert.equal((await me(app, alice.access_token)).json().mfa_enabled, false)
      // With spaces, as an app shows it.
      const spaced = `${right.slice(0, 3)} ${right.slice(3)}`
      assert.equal((await confirmTotp(app, alice.access_token, id, spaced)).statusCode, 200)
      // Confirmed once: again is invalid_code (now at AAL2: the account has a factor).
      const aal2 = await aal2Token(app, alice.user.id)
      assertProblem(await confirmTotp(app, aal2, id, right), 400, 'invalid_code')
    })

    test('a pending factor dies after 15 minutes, and is pruned', async (t) => {
      const { app, clock } = await makeApp(t, {
        dialect,
        env: { ACCESS_TOKEN_TTL_SECONDS: '3600' },
      })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const early = await enrolled(app, alice.access_token)
      clock.advance(60)
      const late = await enrolled(app, alice.access_token)

      clock.advance(14 * 60 + 1) // early: 15 min 1 s old; late: 14 min 1 s
      const at = clock.now().getTime()
      assertProblem(
        await confirmTotp(app, alice.access_token, early.id, totpCode(early.secret, at)),
        400,
        'invalid_code',
      )
      assert.equal(await app.totp.prunePending(), 1)
      assert.deepEqual(
        (await factorRows(app, alice.user.id)).map((row) => row.id),
        [late.id],
      )
      assertProblem(
        await confirmTotp(app, alice.access_token, early.id, totpCode(early.secret, at)),
        404,
        'not_found',
      )
      const ok = await confirmTotp(app, alice.access_token, late.id, totpCode(late.secret, at))
      assert.equal(ok.statusCode, 200, ok.body)
      // An active factor is never pruned.
      clock.advance(3600)
      assert.equal(await app.totp.prunePending(), 0)
      assert.equal((await factorRows(app, alice.user.id)).length, 1)
    })

    test('another user’s factor id, an unknown one, a non-UUID: 404 not_found', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const bob = await signUp(app, 'bob')
      const { id, secret } = await enrolled(app, alice.access_token)
      const code = totpCode(secret, NOW.getTime())
      for (const other of [id, NO_SUCH_UUID, 'not-a-uuid', id.toUpperCase().replace(/-/g, '')]) {
        assertProblem(
          await confirmTotp(app, bob.access_token, other, code),
          404,
          'not_found',
          other,
        )
      }
      assert.equal((await factorRows(app, alice.user.id))[0]?.confirmed_at, null)
      // An upper-case id is the same id.
      const upper = await confirmTotp(app, alice.access_token, id.toUpperCase(), code)
      assert.equal(upper.statusCode, 200, upper.body)
    })

    test('two confirmations with one code at once: exactly one wins', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const mail = mailDir(config.mail.dir)
      const alice = await signUp(app, 'alice')
      await setAddress(app, alice.user.id, 'alice@example.com', true)
      const { id, secret } = await enrolled(app, alice.access_token)
      const code = totpCode(secret, NOW.getTime())
      const answers = await Promise.all([
        confirmTotp(app, alice.access_token, id, code),
        confirmTotp(app, alice.access_token, id, code),
      ])
      const statuses = answers.map((res) => res.statusCode).sort()
      assert.deepEqual(statuses, [200, 400], answers.map((res) => res.body).join('\n'))
      const loser = answers.find((res) => res.statusCode === 400)
      assertProblem(loser as (typeof answers)[number], 400, 'invalid_code')
      await mail.next('alice@example.com', /^A second factor was added$/)
      // One notice only, the winner's: the next mail comes right after it (mail goes in order).
      const removed = await removeFactor(app, await aal2Token(app, alice.user.id), id)
      assert.equal(removed.statusCode, 204, removed.body)
      await mail.next('alice@example.com', /^A second factor was removed$/)
      assert.deepEqual((await mail.all()).map((m) => m.subject).sort(), [
        'A second factor was added',
        'A second factor was removed',
      ])
    })

    test('a wrong password is 401 invalid_credentials, and nothing is made', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const res = await enrolTotp(app, alice.access_token, {
        password: 'not the password at all, sorry',
      })
      assertProblem(res, 401, 'invalid_credentials')
      assert.deepEqual(await factorRows(app, alice.user.id), [])
    })

    test('bad bodies are 422 and change nothing', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const { id, secret } = await enrolled(app, alice.access_token)
      const code = totpCode(secret, NOW.getTime())
      const post = (url: string, payload: unknown) =>
        app.inject({ method: 'POST', url, headers: bearer(alice.access_token), payload } as never)
      for (const payload of [
        {},
        { name: 'Phone' },
        { password: 123 },
        { password: 'correct horse battery staple', name: 5 },
        { password: 'correct horse battery staple', extra: true },
        [],
      ]) {
        assertProblem(
          await post('/user/me/factors/totp', payload),
          422,
          'validation_failed',
          JSON.stringify(payload),
        )
      }
      const confirmUrl = `/user/me/factors/totp/${id}/confirm`
      for (const payload of [{}, { code: Number(code) }, { code, extra: 1 }, { code: null }]) {
        assertProblem(
          await post(confirmUrl, payload),
          422,
          'validation_failed',
          JSON.stringify(payload),
        )
      }
      const rows = await factorRows(app, alice.user.id)
      assert.equal(rows.length, 1)
      assert.equal(rows[0]?.confirmed_at, null)
      // The code is still good: nothing spent it.
      assert.equal((await confirmTotp(app, alice.access_token, id, code)).statusCode, 200)
    })

    test('without a token: 401 invalid_token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      assertProblem(
        await app.inject({
          method: 'POST',
          url: '/user/me/factors/totp',
          payload: { password: 'x' },
        }),
        401,
        'invalid_token',
      )
      assertProblem(
        await app.inject({
          method: 'POST',
          url: `/user/me/factors/totp/${NO_SUCH_UUID}/confirm`,
          payload: { code: '123456' },
        }),
        401,
        'invalid_token',
      )
    })

    test('step-up: with an active factor, an aal1 token is 403 step_up_required; aal2 passes', async (t) => {
      const { app, clock } = await makeApp(t, { dialect })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      await activeTotp(app, alice.access_token)
      const aal1 = alice.access_token
      assertProblem(await enrolTotp(app, aal1), 403, 'step_up_required')
      assert.equal((await factorRows(app, alice.user.id)).length, 1, 'nothing made')

      const aal2 = await aal2Token(app, alice.user.id)
      const second = await enrolled(app, aal2, { name: 'Tablet' })
      assertProblem(
        await confirmTotp(app, aal1, second.id, totpCode(second.secret, NOW.getTime())),
        403,
        'step_up_required',
      )
      const ok = await confirmTotp(app, aal2, second.id, totpCode(second.secret, NOW.getTime()))
      assert.equal(ok.statusCode, 200, ok.body)
      // Listing needs no step-up.
      assert.equal((await listFactors(app, aal1)).json().items.length, 2)
    })

    test('with SIGNING_KEY_SECRET the secret is stored sealed, and still verifies', async (t) => {
      const { app, clock } = await makeApp(t, {
        dialect,
        env: { SIGNING_KEY_SECRET: SEALING_SECRET },
      })
      clock.freeze(NOW)
      const alice = await signUp(app, 'alice')
      const { id, secret } = await enrolled(app, alice.access_token)
      const [row] = await factorRows(app, alice.user.id)
      const stored = row?.secret as string
      assert.equal(stored.split('.').length, 5, 'JWE compact serialisation')
      assert.ok(!stored.includes(secret), 'the secret is not in clear')
      const header = decodeProtectedHeader(stored)
      assert.equal(header.alg, 'dir')
      assert.equal(header.enc, 'A256GCM')
      assert.equal(header.sk, id, 'bound to its row')
      assert.equal(header.cty, 'totp+base32')

      const ok = await confirmTotp(app, alice.access_token, id, totpCode(secret, NOW.getTime()))
      assert.equal(ok.statusCode, 200, ok.body)
      clock.advance(30)
      const user = { id: alice.user.id, loginKey: 'alice' }
      assert.equal(await app.totp.verify(user, totpCode(secret, clock.now().getTime()), 'x'), true)
    })

    test('without SIGNING_KEY_SECRET the secret is stored as its base32', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const alice = await signUp(app, 'alice')
      const { secret } = await enrolled(app, alice.access_token)
      assert.equal((await factorRows(app, alice.user.id))[0]?.secret, secret)
    })
  })
}
