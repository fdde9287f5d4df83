import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { dialects, makeApp, TestClock } from '../support/harness.ts'
import { assertNoSecret, codeIn, recordMail, smtpSink } from '../support/mail.ts'
import { sample } from '../support/metrics.ts'

const verification: MailRequest = {
  template: 'email_verification',
  to: 'bob@example.com',
  language: 'ru',
  login: 'bob',
  code: '55012877',
}

const parsedLogs = (logs: string[]) => logs.map((line) => JSON.parse(line))

for (const dialect of dialects()) {
  describe(`what the mail server answers (${dialect})`, () => {
    for (const at of ['RCPT', 'DATA'] as const) {
      test(`a 550 to ${at} drops the mail at once, with an error line and a metric, and it is never tried again`, async (t) => {
        const smtp = await smtpSink(t)
        smtp.refuse = { at, code: 550, message: '5.1.1 No such user here' }
        const clock = new TestClock()
        clock.freeze()
        const { app, logs } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
        await recordMail(app, verification)
        await app.outbox.flush(MAIL_CHANNEL)

        assert.equal(smtp.refusals(), 1)
        assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 0)
        const registry = app.metrics.registry
        assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="dropped"}'), 1)
        assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="retry"}'), 0)
        const errors = parsedLogs(logs).filter((l) => l.level === 50)
        assert.equal(errors.length, 1)
        assert.equal(errors[0].msg, 'outbox: delivery refused for good; message dropped')
        const command = at === 'RCPT' ? 'RCPT TO' : 'DATA'
        assert.equal(
          errors[0].cause,
          `PermanentFailure: the mail server refused it for good (SMTP 550 to ${command})`,
        )
        assert.equal(errors[0].to, 'b***@example.com')

        // A day later, the server fixed, still nothing: the message is gone.
        smtp.refuse = undefined
        const connections = smtp.connections()
        clock.advance(24 * 3600)
        await app.outbox.flush(MAIL_CHANNEL)
        assert.equal(smtp.connections(), connections)
        assert.deepEqual(await smtp.all(), [])
        // The server's words ("No such user here") and the code are in no log line.
        assertNoSecret(logs, [verification.code, 'No such user', verification.to], 'the log')
      })
    }

    test('a 451 to DATA is retried after the back-off, and the mail goes out once the server takes it', async (t) => {
      const smtp = await smtpSink(t)
      smtp.refuse = { at: 'DATA', code: 451, message: '4.3.0 Try again later' }
      const clock = new TestClock()
      clock.freeze()
      const { app, logs } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
      await recordMail(app, verification)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal(smtp.refusals(), 1)
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 1)
      const registry = app.metrics.registry
      assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="retry"}'), 1)
      const warning = parsedLogs(logs).find(
        (l) => l.msg === 'outbox: delivery failed; will try again',
      )
      assert.equal(warning?.cause, 'Error: SMTP 451 to DATA (EMESSAGE)')

      smtp.refuse = undefined
      clock.advance(4)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.deepEqual(await smtp.all(), [], 'tried again before its back-off of 5 s')
      clock.advance(1)
      const mail = await smtp.next(verification.to)
      // Received; the sender's pass then deletes the row and counts it.
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal(codeIn(mail), verification.code)
      assert.equal(mail.subject, 'Подтвердите адрес почты')
      assert.equal(await sample(registry, 'usersvc_mail_sent_total'), 1)
      assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="dropped"}'), 0)
      assertNoSecret(logs, [verification.code], 'the log')
    })

    test('the server restarted while the service keeps a connection open to it: the next mail goes out on a new one', async (t) => {
      const smtp = await smtpSink(t)
      const clock = new TestClock()
      clock.freeze()
      const { app } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
      await recordMail(app, verification)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal((await smtp.all()).length, 1)
      await smtp.stop()
      await smtp.start()
      await recordMail(app, { ...verification, to: 'bob@example.org' })
      await app.outbox.flush(MAIL_CHANNEL)
      assert.deepEqual(
        (await smtp.all()).map((m) => m.to),
        ['bob@example.com', 'bob@example.org'],
      )
      assert.equal(smtp.connections(), 2)
      assert.equal(
        await sample(app.metrics.registry, 'usersvc_mail_failed_total{outcome="retry"}'),
        0,
      )
    })

    test('the server down, then back: the mail is delivered by the background sender', async (t) => {
      const smtp = await smtpSink(t)
      await smtp.stop()
      const clock = new TestClock()
      clock.freeze()
      const { app, logs } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
      await recordMail(app, verification)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 1)

      await smtp.start()
      clock.advance(5)
      // No flush: the sender's own poll finds it due.
      const mail = await smtp.next(verification.to)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal(codeIn(mail), verification.code)
      assert.equal(smtp.connections(), 1)
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 0)
      assertNoSecret(logs, [verification.code], 'the log')
    })
  })
}
