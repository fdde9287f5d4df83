import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { assertNoSecret, smtpSink } from '../support/mail.ts'
import { sample } from '../support/metrics.ts'

const COUNT = 100

for (const dialect of dialects()) {
  describe(`two instances sending one outbox (${dialect})`, () => {
    test(`${COUNT} mails, two senders on one database: each mail delivered exactly once, by both instances together`, async (t) => {
      // A slow server (20 ms a message), so both senders are busy at once for a while.
      const smtp = await smtpSink(t, { dataDelayMs: 20 })
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      const env = { SMTP_URL: smtp.url }
      const a = await makeApp(t, { databaseUrl, env })
      const b = await makeApp(t, { databaseUrl, env })

      // Written straight into the table: neither sender is woken, both find them by polling.
      const codes: string[] = []
      await a.app.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < COUNT; i++) {
          const code = String(10_000_000 + i * 7919)
          codes.push(code)
          const request: MailRequest = {
            template: 'email_verification',
            to: `user${i}@example.com`,
            language: 'en',
            login: `user${i}`,
            code,
          }
          await outboxRepository(trx, dialect).add(MAIL_CHANNEL, request, new Date())
        }
      })

      const received = await eventually(() => smtp.all(), {
        what: `${COUNT} mails`,
        until: (mails) => mails.length >= COUNT,
      })
      // Anything sent twice would arrive by now too: wait for both senders to go idle.
      await Promise.all([a, b].map((h) => h.app.outbox.flush(MAIL_CHANNEL)))
      const all = await smtp.all()
      const to = all.map((m) => m.to)
      assert.equal(new Set(to).size, COUNT)
      assert.equal(all.length, COUNT, `${all.length - COUNT} sent twice`)
      assert.ok(received.length === COUNT)

      const sentByA = await sample(a.app.metrics.registry, 'usersvc_mail_sent_total')
      const sentByB = await sample(b.app.metrics.registry, 'usersvc_mail_sent_total')
      assert.equal(sentByA + sentByB, COUNT)
      assert.ok(sentByA > 0 && sentByB > 0, `A sent ${sentByA}, B sent ${sentByB}`)
      assert.equal(await a.app.outbox.waiting(MAIL_CHANNEL), 0)
      assertNoSecret([...a.logs, ...b.logs], codes, 'the logs')
    })
  })
}
