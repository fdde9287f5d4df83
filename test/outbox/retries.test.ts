import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toDate } from '../../src/db/schema.ts'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { dialects, makeApp, TestClock } from '../support/harness.ts'
import { assertNoSecret, recordMail, smtpSink } from '../support/mail.ts'
import { sample } from '../support/metrics.ts'

const T0 = new Date('2030-01-01T00:00:00.000Z')
const DAY_S = 24 * 3600

/** The schedule the contract asks for, worked out here on its own: 5 s doubling, at most 1 h, 24 h. */
function expectedSchedule(): number[] {
  const times = [0]
  for (let n = 1; times.at(-1) !== DAY_S; n++) {
    const last = times.at(-1) as number
    times.push(Math.min(last + Math.min(5 * 2 ** (n - 1), 3600), DAY_S))
  }
  return times
}

const recovery: MailRequest = {
  template: 'recovery_code',
  to: 'alice@example.com',
  language: 'en',
  login: 'alice',
  code: '93172604',
}

for (const dialect of dialects()) {
  describe(`outbox retries (${dialect})`, () => {
    test('a refused connection is retried with exponential back-off for 24 h, then the mail is dropped with an error line and a metric', async (t) => {
      const smtp = await smtpSink(t)
      await smtp.stop() // nothing listens: every try is a refused connection
      const clock = new TestClock()
      clock.freeze(T0)
      const { app, logs } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
      await recordMail(app, recovery)

      const row = () =>
        app.store.db.selectFrom('outbox').select(['attempts', 'attempt_at']).executeTakeFirst()
      const times: number[] = []
      for (let i = 0; i < 100; i++) {
        await app.outbox.flush(MAIL_CHANNEL)
        times.push((clock.now().getTime() - T0.getTime()) / 1000)
        const left = await row()
        if (!left) break
        assert.equal(left.attempts, times.length)
        // A millisecond before it is due, the sender leaves it alone.
        const next = toDate(left.attempt_at)
        clock.freeze(new Date(next.getTime() - 1))
        await app.outbox.flush(MAIL_CHANNEL)
        assert.equal((await row())?.attempts, times.length)
        clock.freeze(next)
      }

      const expected = expectedSchedule()
      assert.deepEqual(times.slice(0, 10), [0, 5, 15, 35, 75, 155, 315, 635, 1275, 2555])
      assert.deepEqual(times, expected)
      assert.equal(times.at(-1), DAY_S, 'the last try is 24 h after the mail was recorded')
      assert.equal(await app.outbox.waiting(MAIL_CHANNEL), 0)

      const registry = app.metrics.registry
      assert.equal(
        await sample(registry, 'usersvc_mail_failed_total{outcome="retry"}'),
        times.length - 1,
      )
      assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="dropped"}'), 1)
      assert.equal(await sample(registry, 'usersvc_mail_sent_total'), 0)

      const lines = logs.map((line) => JSON.parse(line))
      const retries = lines.filter((l) => l.msg === 'outbox: delivery failed; will try again')
      assert.equal(retries.length, times.length - 1)
      assert.match(retries[0].cause, /ECONNREFUSED/)
      assert.equal(retries[0].to, 'a***@example.com')
      assert.equal(retries[0].retryAt, new Date(T0.getTime() + 5000).toISOString())
      const dropped = lines.filter((l) => l.level === 50)
      assert.equal(dropped.length, 1)
      assert.equal(
        dropped[0].msg,
        'outbox: delivery kept failing for the whole retry window; message dropped',
      )
      assert.equal(dropped[0].attempts, times.length)
      assert.equal(dropped[0].template, 'recovery_code')
      assert.equal(dropped[0].to, 'a***@example.com')
      assertNoSecret(logs, [recovery.code, recovery.to], 'the log')
    })
  })
}
