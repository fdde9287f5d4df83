import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { recordMail, smtpSink } from '../support/mail.ts'

const mail = (i: number): MailRequest => ({
  template: 'email_changed',
  to: `user${i}@example.com`,
  language: 'en',
  login: `user${i}`,
})

for (const dialect of dialects()) {
  describe(`waking the sender (${dialect})`, () => {
    test('a steady stream of recorded mails does not hold the sender back: mails go out while recording goes on', async (t) => {
      const smtp = await smtpSink(t)
      const { app } = await makeApp(t, { dialect, env: { SMTP_URL: smtp.url } })
      // Each record wakes the sender; a wake must never push back a pass that is already due.
      // A pass is due 15 ms after the first wake, so some records go by before the first mail is
      // out (measured: 10 to 200), not a thousand. The bug this guards against (each wake moving
      // the pass 15 ms later) shows whenever records come faster than that.
      const LIMIT = 1000
      let recorded = 0
      while ((await smtp.all()).length === 0 && recorded < LIMIT) {
        await recordMail(app, mail(recorded++))
        // As requests do, let the event loop turn (node:sqlite answers without any I/O).
        await new Promise((resolve) => setImmediate(resolve))
      }
      assert.ok(recorded < LIMIT, `nothing sent during ${recorded} records`)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.equal((await smtp.all()).length, recorded)
    })
  })
}
