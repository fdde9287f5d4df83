import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStore } from '../../src/db/store.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, freshDatabaseUrl, makeApp, TestClock } from '../support/harness.ts'
import { smtpSink } from '../support/mail.ts'

const mail = (i: number): MailRequest => ({
  template: 'password_changed',
  to: `user${i}@example.com`,
  language: 'en',
  login: `user${i}`,
})

for (const dialect of dialects()) {
  describe(`leases of the sender (${dialect})`, () => {
    test('a sender whose lease ran out during a slow delivery leaves the rest of its batch to whoever claimed it', async (t) => {
      const smtp = await smtpSink(t, { holdData: true })
      const clock = new TestClock()
      clock.freeze()
      const { app, databaseUrl } = await makeApp(t, {
        dialect,
        clock,
        env: { SMTP_URL: smtp.url },
      })
      await app.store.db.transaction().execute(async (trx) => {
        await app.outbox.record(trx, MAIL_CHANNEL, mail(1))
        await app.outbox.record(trx, MAIL_CHANNEL, mail(2))
      })
      // Both claimed in one batch; the first is on its way to the (slow) server …
      await eventually(() => (smtp.envelopes() === 1 ? true : undefined), { what: 'a MAIL FROM' })
      // … when its two minutes are over, and another instance claims what it holds.
      clock.advance(121)
      const other = openStore(databaseUrl)
      t.after(() => other.destroy())
      const taken = await outboxRepository(other.db, other.dialect).claim(
        MAIL_CHANNEL,
        clock.now(),
        10,
        new Date(clock.now().getTime() + 120_000),
      )
      assert.equal(taken.length, 2)

      smtp.release()
      await app.outbox.flush(MAIL_CHANNEL)
      // The first was delivered (and its row removed); the second was not touched by this sender.
      assert.deepEqual(
        (await smtp.all()).map((m) => m.to),
        ['user1@example.com'],
      )
      const rows = await other.db.selectFrom('outbox').select(['payload', 'attempts']).execute()
      assert.deepEqual(
        rows.map((r) => [JSON.parse(r.payload).to, r.attempts]),
        [['user2@example.com', 2]],
      )
    })

    test('a stopping sender gives back what it claimed and did not send: the next start sends it at once, not after the lease', async (t) => {
      const smtp = await smtpSink(t, { holdData: true })
      const databaseUrl = await freshDatabaseUrl(t, dialect)
      const clock = new TestClock()
      clock.freeze()
      const env = { SMTP_URL: smtp.url }
      const first = await makeApp(t, { databaseUrl, clock, env })
      await first.app.store.db.transaction().execute(async (trx) => {
        for (let i = 1; i <= 4; i++) await first.app.outbox.record(trx, MAIL_CHANNEL, mail(i))
      })
      await eventually(() => (smtp.envelopes() === 1 ? true : undefined), { what: 'a MAIL FROM' })
      // Closing waits for the mail on its way, then gives back the other three: the server lets
      // that mail through only once the close has begun.
      const closing = first.app.close()
      await sleep(100)
      smtp.release()
      await closing

      const other = openStore(databaseUrl)
      t.after(() => other.destroy())
      const rows = await other.db.selectFrom('outbox').select(['attempts', 'lease_until']).execute()
      assert.deepEqual(
        rows.map((row) => ({ ...row })),
        [
          { attempts: 0, lease_until: null },
          { attempts: 0, lease_until: null },
          { attempts: 0, lease_until: null },
        ],
      )
      // The same frozen moment: a lease still held would keep them back for two minutes.
      const second = await makeApp(t, { databaseUrl, clock, env })
      await eventually(async () => ((await smtp.all()).length === 4 ? true : undefined), {
        what: 'all four mails',
      })
      await second.app.outbox.flush(MAIL_CHANNEL)
      assert.deepEqual((await smtp.all()).map((m) => m.to).sort(), [
        'user1@example.com',
        'user2@example.com',
        'user3@example.com',
        'user4@example.com',
      ])
      assert.equal(await second.app.outbox.waiting(MAIL_CHANNEL), 0)
    })
  })
}
