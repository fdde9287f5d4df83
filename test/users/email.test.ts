import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  mailsTo,
  otherCode,
  outboxDrained,
  registerWithEmail,
  resendVerification,
  SUBJECT,
  verifiedAccount,
  verifyEmail,
} from '../support/email.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, mailDir } from '../support/mail.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { me, PASSWORD, register, session, USER_FIELDS } from '../support/requests.ts'
import { userCount } from '../support/store.ts'

/** A code of the same length that is certainly not `code`. */
for (const dialect of dialects()) {
  describe(`email addresses at registration (${dialect})`, () => {
    test('POST /user/ with an address: 201 with email and email_verified false, and a code mailed to it', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const res = await registerWithEmail(app, 'alice', 'alice@Example.COM')
      assert.equal(res.statusCode, 201, res.body)
      const body = res.json()
      assert.deepEqual(Object.keys(body).sort(), USER_FIELDS)
      // The domain is lower-cased; the local part stays as typed.
      assert.equal(body.email, 'alice@example.com')
      assert.equal(body.email_verified, false)
      const mail = await mailDir(config.mail.dir).next('alice@example.com', SUBJECT.verification)
      assert.match(codeIn(mail), /^\d{6,}$/)
      assert.match(mail.text, /Hello alice/)
    })

    test('without an address: email null, nothing mailed; Accept-Language picks the mail’s language', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const plain = await register(app, 'alice')
      assert.equal(plain.statusCode, 201)
      assert.equal(plain.json().email, null)
      assert.equal(plain.json().email_verified, false)
      const none = await registerWithEmail(app, 'bob', null)
      assert.equal(none.statusCode, 201, none.body)
      assert.equal(none.json().email, null)
      const ru = await app.inject({
        method: 'POST',
        url: '/user/',
        headers: { 'accept-language': 'ru-RU,ru;q=0.9,en;q=0.5' },
        payload: { login: 'ivan', password: PASSWORD, email: 'ivan@example.com' },
      })
      assert.equal(ru.statusCode, 201)
      const box = mailDir(config.mail.dir)
      assert.equal((await box.next('ivan@example.com')).subject, 'Подтвердите адрес почты')
      await outboxDrained(app)
      assert.deepEqual(
        (await box.all()).map((m) => m.to),
        ['ivan@example.com'],
      )
    })

    test('the domain is IDNA-encoded; uniqueness ignores case over the whole address: 409 email_taken', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const idn = await registerWithEmail(app, 'jose', 'josé@Bücher.de')
      assert.equal(idn.statusCode, 201, idn.body)
      assert.equal(idn.json().email, 'josé@xn--bcher-kva.de')
      for (const [login, again] of [
        ['jose2', 'JOSÉ@bücher.DE'],
        ['jose3', 'josé@XN--BCHER-KVA.DE'],
        ['jose4', 'jose\u0301@bücher.de' /* é decomposed */],
      ] as const) {
        assertProblem(await registerWithEmail(app, login, again), 409, 'email_taken', again)
      }
      assert.equal(await userCount(app), 1)
      // Another address of the same domain is another address.
      assert.equal((await registerWithEmail(app, 'maria', 'maria@bücher.de')).statusCode, 201)
    })

    test('ten concurrent registrations with one address: one 201, nine 409 email_taken', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          registerWithEmail(app, `racer${i}`, 'race@example.com'),
        ),
      )
      assert.equal(results.filter((r) => r.statusCode === 201).length, 1)
      for (const res of results.filter((r) => r.statusCode !== 201)) {
        assertProblem(res, 409, 'email_taken')
      }
      assert.equal(await userCount(app), 1)
    })

    test('a malformed address is 422 validation_failed naming email, with the other problems; nothing is stored or mailed', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const cases: Array<[unknown, string]> = [
        ['alice', 'invalid_format'],
        ['alice@@example.com', 'invalid_format'],
        ['a@b@example.com', 'invalid_format'],
        ['@example.com', 'invalid_format'],
        ['alice@', 'invalid_format'],
        ['alice@localhost', 'invalid_format'],
        ['alice@127.0.0.1', 'invalid_format'],
        [' alice@example.com', 'invalid_format'],
        ['alice@example.com\r\nBcc: all@example.com', 'invalid_format'],
        ['al ice@example.com', 'invalid_format'],
        ['', 'invalid_format'],
        [`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, 'too_long'],
        [42, 'invalid_type'],
      ]
      for (const [email, code] of cases) {
        const res = await registerWithEmail(app, 'alice', email)
        const problem = assertProblem(res, 422, 'validation_failed', JSON.stringify(email))
        const entry = problem?.errors.find((e: { field: string }) => e.field === 'email')
        assert.equal(entry?.code, code, `${JSON.stringify(email)} → ${res.body}`)
        if (code === 'too_long') assert.equal(entry.limit, 254)
      }
      // Reported together with the login's and the password's problems.
      const all = await registerWithEmail(app, ' x', 'nope', 'short')
      const fields = assertProblem(all, 422, 'validation_failed')?.errors.map(
        (e: { field: string }) => e.field,
      )
      assert.deepEqual([...new Set(fields)].sort(), ['email', 'login', 'password'])
      assert.equal(await userCount(app), 0)
      await outboxDrained(app)
      assert.deepEqual(await mailDir(config.mail.dir).all(), [])
    })

    test('EMAIL_REQUIRED=on: an address is required (422 naming email, with the other problems)', async (t) => {
      const { app } = await makeApp(t, { dialect, env: { EMAIL_REQUIRED: 'on' } })
      for (const res of [
        await register(app, 'alice'),
        await registerWithEmail(app, 'alice', null),
      ]) {
        const problem = assertProblem(res, 422, 'validation_failed')
        assert.deepEqual(problem?.errors, [
          { field: 'email', code: 'required', message: 'is required' },
        ])
      }
      const both = assertProblem(
        await app.inject({ method: 'POST', url: '/user/', payload: { login: 'alice' } }),
        422,
        'validation_failed',
      )
      assert.deepEqual(
        both?.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`).sort(),
        ['email:required', 'password:required'],
      )
      assert.equal(await userCount(app), 0)
      assert.equal((await registerWithEmail(app, 'alice', 'alice@example.com')).statusCode, 201)
    })
  })

  describe(`POST /user/me/email/verify and /verification (${dialect})`, () => {
    test('the mailed code verifies the address: 200, the user with email_verified true; then it is spent', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'alice', 'alice@example.com')
      const mine = await session(app, 'alice')
      const code = codeIn(await box.next('alice@example.com'))
      // Typed with a space and in full-width digits, it is the same code.
      const typed = `${code.slice(0, 3)} ${code.slice(3)}`.replace(/\d/g, (d) =>
        String.fromCodePoint(0xff10 + Number(d)),
      )
      const res = await verifyEmail(app, mine.access_token, typed)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(Object.keys(res.json()).sort(), USER_FIELDS)
      assert.equal(res.json().email_verified, true)
      assert.equal((await me(app, mine.access_token)).json().email_verified, true)
      assertProblem(await verifyEmail(app, mine.access_token, code), 400, 'invalid_code', 'again')
    })

    test('a wrong code is 400 invalid_code; after 5 wrong tries the right one is dead too', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      await registerWithEmail(app, 'alice', 'alice@example.com')
      const mine = await session(app, 'alice')
      const code = codeIn(await mailDir(config.mail.dir).next('alice@example.com'))
      const wrong = await verifyEmail(app, mine.access_token, otherCode(code))
      const problem = assertProblem(wrong, 400, 'invalid_code')
      for (let i = 2; i <= 5; i++) {
        const res = await verifyEmail(app, mine.access_token, otherCode(code))
        assert.equal(res.body, wrong.body, `try ${i}: one answer for every wrong code`)
      }
      assertProblem(await verifyEmail(app, mine.access_token, code), 400, 'invalid_code')
      assert.equal(problem?.title, 'The code is wrong, expired or already used')
      assert.equal((await me(app, mine.access_token)).json().email_verified, false)
    })

    test('a code expires after EMAIL_CODE_TTL_SECONDS (frozen clock)', async (t) => {
      const { app, config, clock } = await makeApp(t, {
        dialect,
        env: { EMAIL_CODE_TTL_SECONDS: '600' },
      })
      clock.freeze()
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'alice', 'alice@example.com')
      await registerWithEmail(app, 'bob', 'bob@example.com')
      const alice = await session(app, 'alice')
      const bob = await session(app, 'bob')
      const aliceCode = codeIn(await box.next('alice@example.com'))
      const bobCode = codeIn(await box.next('bob@example.com'))
      clock.advance(599)
      assert.equal((await verifyEmail(app, alice.access_token, aliceCode)).statusCode, 200)
      clock.advance(1)
      assertProblem(await verifyEmail(app, bob.access_token, bobCode), 400, 'invalid_code')
    })

    test('a resend mails a new code (202) and the old one dies', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'alice', 'alice@example.com')
      const mine = await session(app, 'alice')
      const first = codeIn(await box.next('alice@example.com'))
      const res = await resendVerification(app, mine.access_token)
      assert.equal(res.statusCode, 202, res.body)
      assert.equal(typeof res.json().detail, 'string')
      const second = codeIn(await box.next('alice@example.com', SUBJECT.verification))
      assertProblem(await verifyEmail(app, mine.access_token, first), 400, 'invalid_code')
      assert.equal((await verifyEmail(app, mine.access_token, second)).statusCode, 200)
    })

    test('resends are limited per user: 5 codes an hour (4 resends after registering), then 429 with Retry-After', async (t) => {
      const { app, config, clock } = await makeApp(t, { dialect })
      clock.freeze()
      const box = mailDir(config.mail.dir)
      await registerWithEmail(app, 'alice', 'alice@example.com')
      await registerWithEmail(app, 'bob', 'bob@example.com')
      const alice = await session(app, 'alice')
      const bob = await session(app, 'bob')
      for (let i = 1; i <= 4; i++) {
        clock.advance(60)
        assert.equal((await resendVerification(app, alice.access_token)).statusCode, 202, `${i}`)
      }
      clock.advance(60)
      const refused = await resendVerification(app, alice.access_token)
      // The first code was sent 5 minutes ago: it leaves the hour in 55.
      assert.equal(assertRateLimited(refused, 'sixth code'), 55 * 60)
      // Another user is not affected.
      assert.equal((await resendVerification(app, bob.access_token)).statusCode, 202)
      clock.advance(55 * 60)
      // Access tokens live 15 minutes.
      const later = await session(app, 'alice')
      assert.equal((await resendVerification(app, later.access_token)).statusCode, 202)
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'alice@example.com', SUBJECT.verification)).length, 6)
      // The last code works; earlier ones are dead (each try counts against the live code).
      const codes = (await mailsTo(box, 'alice@example.com')).map(codeIn)
      for (const old of [codes[0], codes.at(-2)].filter((c) => c !== codes.at(-1))) {
        assertProblem(await verifyEmail(app, later.access_token, old), 400, 'invalid_code')
      }
      assert.equal((await verifyEmail(app, later.access_token, codes.at(-1))).statusCode, 200)
    })

    test('without an address: resend is 404 not_found, verify is 400 invalid_code; both need a token', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await register(app, 'alice')
      const mine = await session(app, 'alice')
      assertProblem(await resendVerification(app, mine.access_token), 404, 'not_found')
      assertProblem(await verifyEmail(app, mine.access_token, '123456'), 400, 'invalid_code')
      for (const url of ['/user/me/email/verify', '/user/me/email/verification']) {
        const res = await app.inject({ method: 'POST', url, payload: { code: '123456' } })
        assertProblem(res, 401, 'invalid_token', url)
      }
    })

    test('bad bodies are 422 naming the field', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const mine = await verifiedAccount(app, mailDir(config.mail.dir), 'alice', 'a@example.com')
      for (const payload of [{}, { code: 123456 }, { code: '' }, { code: '1', extra: 1 }]) {
        const res = await app.inject({
          method: 'POST',
          url: '/user/me/email/verify',
          headers: { authorization: `Bearer ${mine.access_token}` },
          payload,
        })
        const problem = assertProblem(res, 422, 'validation_failed', JSON.stringify(payload))
        assert.ok(
          problem?.errors.some((e: { field: string }) => ['code', 'extra'].includes(e.field)),
          res.body,
        )
      }
      const extra = await app.inject({
        method: 'POST',
        url: '/user/me/email/verification',
        headers: { authorization: `Bearer ${mine.access_token}` },
        payload: { email: 'other@example.com' },
      })
      assertProblem(extra, 422, 'validation_failed')
    })
  })
}
