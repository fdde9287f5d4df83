import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { codeIn, mailDir, smtpSink } from '../support/mail.ts'

/** What a domain service does: record a mail in the transaction of its change. */
async function recordMail(app: App, request: MailRequest): Promise<void> {
  await app.store.db.transaction().execute((trx) => app.outbox.record(trx, MAIL_CHANNEL, request))
}

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
      const { app, config } = await makeApp(t, { dialect })
      await recordMail(app, verification('alice@example.com'))
      const mail = await mailDir(config.mail.dir).next('alice@example.com')
      assert.equal(mail.subject, 'Confirm your email address')
      assert.equal(codeIn(mail), '04711236')
      assert.doesNotMatch(mail.subject, /04711236/)
      assert.match(mail.text, /#\/verify-email\?code=04711236/)
      const files = await readdir(config.mail.dir)
      assert.equal(files.length, 1)
      assert.equal((await stat(join(config.mail.dir, files[0] as string))).mode & 0o777, 0o600)
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 0)
    })

    test('over SMTP to a real server; a message recorded in a rolled-back transaction is never sent', async (t) => {
      const smtp = await smtpSink(t)
      const { app } = await makeApp(t, { dialect, env: { SMTP_URL: smtp.url } })
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
    })
  })
}
