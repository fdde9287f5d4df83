import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { assertNoSecret, codeIn, mailDir, recordMail, smtpSink } from '../support/mail.ts'

const verification = (to: string): MailRequest => ({
  template: 'email_verification',
  to,
  language: 'en',
  login: 'alice',
  code: '04711236',
})

for (const dialect of dialects()) {
  describe(`mail through the outbox (${dialect})`, () => {
    test('without SMTP_URL: an .eml file readable by its owner only, and the outbox emptied', async (t) => {
      const { app, config, logs } = await makeApp(t, { dialect })
      await recordMail(app, verification('alice@example.com'))
      const mail = await mailDir(config.mail.dir).next('alice@example.com')
      // Written; the sender's pass then deletes the row.
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal(mail.subject, 'Confirm your email address')
      assert.equal(codeIn(mail), '04711236')
      assert.doesNotMatch(mail.subject, /04711236/)
      assert.match(mail.text, /#\/verify-email\?code=04711236/)
      const files = await readdir(config.mail.dir)
      assert.equal(files.length, 1)
      assert.equal((await stat(join(config.mail.dir, files[0] as string))).mode & 0o777, 0o600)
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 0)
      assertNoSecret(logs, ['04711236'], 'the log')
    })

    test('over SMTP to a real server; a message recorded in a rolled-back transaction is never sent', async (t) => {
      const smtp = await smtpSink(t)
      const { app, logs } = await makeApp(t, { dialect, env: { SMTP_URL: smtp.url } })
      await assert.rejects(
        app.store.db.transaction().execute(async (trx) => {
          await app.outbox.record(trx, MAIL_CHANNEL, verification('ghost@example.com'))
          throw new Error('the change fails')
        }),
        /the change fails/,
      )
      await recordMail(app, { ...verification('bob@example.com'), language: 'ru' })
      const mail = await smtp.next('bob@example.com')
      assert.equal(mail.subject, 'Подтвердите адрес почты')
      assert.equal(codeIn(mail), '04711236')
      assert.deepEqual(
        (await smtp.all()).map((m) => m.to),
        ['bob@example.com'],
      )
      // The sender logs the delivery after the server has the mail: wait for the line to be read.
      await eventually(() => logs.length, { what: 'a log line', until: (n) => n > 0 })
      assertNoSecret(logs, ['04711236'], 'the log')
    })
  })
}
