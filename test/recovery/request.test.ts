import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  mailsTo,
  outboxDrained,
  registerWithEmail,
  requestRecovery,
  SUBJECT,
  verifiedAccount,
} from '../support/email.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { comparable } from '../support/http.ts'
import { codeIn, mailDir, smtpSink } from '../support/mail.ts'
import { assertProblem, assertRateLimited } from '../support/problems.ts'
import { register } from '../support/requests.ts'

for (const dialect of dialects()) {
  describe(`POST /recovery/ (${dialect})`, () => {
    test('known, unknown, unverified and over-the-limit accounts get byte-identical 202s; only a verified address gets a code', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      await verifiedAccount(app, box, 'busy', 'busy@example.com')
      await registerWithEmail(app, 'carol', 'carol@example.com')
      await register(app, 'dave')
      for (let i = 0; i < 5; i++) await requestRecovery(app, { login: 'busy' })
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'busy@example.com', SUBJECT.recovery)).length, 5)

      const cases: Array<[string, Record<string, string>]> = [
        ['verified, by login', { login: 'alice' }],
        ['verified, by address', { email: 'Alice@EXAMPLE.com' }],
        ['unverified address', { login: 'carol' }],
        ['unverified, by address', { email: 'carol@example.com' }],
        ['no address', { login: 'dave' }],
        ['unknown login', { login: 'nobody' }],
        ['unknown address', { email: 'nobody@example.com' }],
        ['over its hourly codes', { login: 'busy' }],
        ['a login no account could have', { login: 'x\u0000y' }],
      ]
      const answers = []
      for (const [what, body] of cases) {
        const res = await requestRecovery(app, body)
        assert.equal(res.statusCode, 202, `${what}: ${res.body}`)
        answers.push([what, comparable(res)] as const)
      }
      const [, first] = answers[0] as (typeof answers)[number]
      for (const [what, answer] of answers) assert.deepEqual(answer, first, what)
      assert.equal(typeof JSON.parse(Buffer.from(first.body, 'base64').toString()).detail, 'string')

      await outboxDrained(app)
      const recovery = (await box.all()).filter((m) => SUBJECT.recovery.test(m.subject))
      assert.deepEqual(recovery.map((m) => m.to).sort(), [
        'alice@example.com',
        'alice@example.com',
        'busy@example.com',
        'busy@example.com',
        'busy@example.com',
        'busy@example.com',
        'busy@example.com',
      ])
      // At least 8 digits, in the body only (never the subject), with the link to the page.
      const mail = recovery.find((m) => m.to === 'alice@example.com')
      assert.ok(mail)
      const code = codeIn(mail)
      assert.match(code, /^\d{8,}$/)
      assert.doesNotMatch(mail.subject, /\d/)
      assert.match(mail.text, new RegExp(`#/recover\\?login=alice&code=${code}`))
    })

    test('at most 5 codes per account per hour (frozen clock), whoever asks and from wherever', async (t) => {
      const { app, config, clock } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'alice', 'alice@example.com')
      clock.freeze()
      for (let i = 1; i <= 8; i++) {
        const res = await requestRecovery(app, { login: 'alice' }, `10.0.0.${i}`)
        assert.equal(res.statusCode, 202, `request ${i}`)
        // The worker reads the clock when it gets to the request: let it, before time moves on.
        await outboxDrained(app)
        clock.advance(60)
      }
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'alice@example.com', SUBJECT.recovery)).length, 5)
      // The first code was issued 8 minutes ago; an hour after it, one more may go.
      clock.advance(51 * 60)
      await requestRecovery(app, { email: 'alice@example.com' })
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'alice@example.com', SUBJECT.recovery)).length, 5)
      clock.advance(60)
      await requestRecovery(app, { email: 'alice@example.com' })
      await outboxDrained(app)
      assert.equal((await mailsTo(box, 'alice@example.com', SUBJECT.recovery)).length, 6)
    })

    test('429 per client address (THROTTLE_RECOVERY_PER_ADDRESS), never per account', async (t) => {
      const { app, config } = await makeApp(t, {
        dialect,
        env: { THROTTLE_RECOVERY_PER_ADDRESS: '3' },
      })
      await verifiedAccount(app, mailDir(config.mail.dir), 'alice', 'alice@example.com')
      for (const body of [{ login: 'alice' }, { login: 'nobody' }, { email: 'x@example.com' }]) {
        assert.equal((await requestRecovery(app, body, '192.0.2.7')).statusCode, 202)
      }
      // The fourth from that address is refused, whichever account it names.
      assertRateLimited(await requestRecovery(app, { login: 'nobody' }, '192.0.2.7'), 'unknown')
      assertRateLimited(await requestRecovery(app, { login: 'alice' }, '192.0.2.7'), 'known')
      // One account asked for from many addresses: no 429.
      for (let i = 1; i <= 6; i++) {
        const res = await requestRecovery(app, { login: 'alice' }, `198.51.100.${i}`)
        assert.equal(res.statusCode, 202, `address ${i}`)
      }
    })

    test('no mail I/O in the request: with the mail server down the answer is the same, and the mail goes out once it is back', async (t) => {
      const smtp = await smtpSink(t)
      const { app } = await makeApp(t, { dialect, env: { SMTP_URL: smtp.url } })
      await verifiedAccount(app, smtp, 'alice', 'alice@example.com')
      await smtp.stop()
      const known = await requestRecovery(app, { login: 'alice' })
      const unknown = await requestRecovery(app, { login: 'nobody' })
      assert.equal(known.statusCode, 202)
      assert.deepEqual(comparable(known), comparable(unknown))
      // The sender tries, fails, and tries again later (5 s back-off).
      await eventually(
        () =>
          app.store.db
            .selectFrom('outbox')
            .select('last_error')
            .where('channel', '=', 'mail')
            .where('last_error', 'is not', null)
            .executeTakeFirst(),
        { what: 'a failed delivery' },
      )
      await smtp.start()
      const mail = await smtp.next('alice@example.com', SUBJECT.recovery)
      assert.match(codeIn(mail), /^\d{8,}$/)
    })

    test('the mail is in the language of Accept-Language', async (t) => {
      const { app, config } = await makeApp(t, { dialect })
      const box = mailDir(config.mail.dir)
      await verifiedAccount(app, box, 'ivan', 'ivan@example.com')
      const res = await app.inject({
        method: 'POST',
        url: '/recovery/',
        headers: { 'accept-language': 'ru;q=0.8, de;q=0.9' },
        payload: { login: 'ivan' },
      })
      assert.equal(res.statusCode, 202)
      const mail = await box.next('ivan@example.com', /^Восстановление пароля$/)
      assert.match(codeIn(mail), /^\d{8,}$/)
    })

    test('neither, both, or a malformed address: 422 naming the field, and nothing recorded', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{}, 'login', 'required'],
        [{ login: 'alice', email: 'alice@example.com' }, 'email', 'invalid_value'],
        [{ email: 'alice' }, 'email', 'invalid_format'],
        [{ email: 'alice@example.com', password: 'x' }, 'password', 'unknown_property'],
        [{ login: 42 }, 'login', 'invalid_type'],
        [{ login: '' }, 'login', 'too_short'],
      ]
      for (const [payload, field, code] of cases) {
        const res = await requestRecovery(app, payload)
        const problem = assertProblem(res, 422, 'validation_failed', JSON.stringify(payload))
        assert.deepEqual(
          problem?.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
          [[field, code]],
          res.body,
        )
      }
      const rows = await app.store.db.selectFrom('outbox').select('id').execute()
      assert.deepEqual(rows, [])
    })
  })
}
