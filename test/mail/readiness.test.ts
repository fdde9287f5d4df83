import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAIL_CHANNEL, type MailRequest } from '../../src/outbox/mail.ts'
import { dialects, makeApp, TestClock } from '../support/harness.ts'
import { assertNoSecret, recordMail, smtpSink } from '../support/mail.ts'
import { sample } from '../support/metrics.ts'
import { health } from '../support/requests.ts'

const changed = (to: string): MailRequest => ({
  template: 'password_changed',
  to,
  language: 'en',
  login: 'dave',
})

for (const dialect of dialects()) {
  describe(`mail in readiness and metrics (${dialect})`, () => {
    test('with SMTP down /health/ready stays 200; "degraded" once the oldest unsent mail is over 5 minutes old; the gauges follow the queue', async (t) => {
      const smtp = await smtpSink(t)
      await smtp.stop()
      const clock = new TestClock()
      const t0 = new Date('2030-06-01T12:00:00.000Z')
      clock.freeze(t0)
      const { app, logs } = await makeApp(t, { dialect, clock, env: { SMTP_URL: smtp.url } })
      const registry = app.metrics.registry
      const ready = async () => {
        const res = await health(app, 'ready')
        assert.equal(res.statusCode, 200, res.body)
        return res.json()
      }
      const gauges = async () => [
        await sample(registry, 'usersvc_mail_queued'),
        await sample(registry, 'usersvc_mail_oldest_queued_age_seconds'),
      ]
      // No webhook endpoint: nothing of theirs waits.
      const checks = (mail: string) => ({ database: 'ok', signing_key: 'ok', mail, webhooks: 'ok' })

      assert.deepEqual(await ready(), { status: 'ok', checks: checks('ok') })
      assert.deepEqual(await gauges(), [0, 0])

      await recordMail(app, changed('dave@example.com'))
      await app.outbox.flush(MAIL_CHANNEL)
      clock.advance(60)
      await recordMail(app, changed('dave@example.org'))
      await app.outbox.flush(MAIL_CHANNEL)
      // The first was due again by then (its back-off is 5 s): three failed tries in all.
      assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="retry"}'), 3)

      // Exactly five minutes is not over five minutes.
      clock.freeze(new Date(t0.getTime() + 300_000))
      assert.deepEqual(await ready(), { status: 'ok', checks: checks('ok') })
      assert.deepEqual(await gauges(), [2, 300])
      clock.advance(1)
      assert.deepEqual(await ready(), { status: 'degraded', checks: checks('degraded') })
      assert.deepEqual(await gauges(), [2, 301])
      assert.ok(
        logs.some(
          (line) => JSON.parse(line).msg === 'readiness: mail older than 5 minutes is still unsent',
        ),
      )

      // The server back: both go out, and all is well again. (An hour on, both are due, however
      // often the background sender tried them meanwhile on the real-time poll.)
      await smtp.start()
      clock.advance(3600)
      await app.outbox.flush(MAIL_CHANNEL)
      assert.deepEqual(
        (await smtp.all()).map((m) => m.to),
        ['dave@example.com', 'dave@example.org'],
      )
      assert.deepEqual(await ready(), { status: 'ok', checks: checks('ok') })
      assert.deepEqual(await gauges(), [0, 0])
      assert.equal(await sample(registry, 'usersvc_mail_sent_total'), 2)
      assert.equal(await sample(registry, 'usersvc_mail_failed_total{outcome="dropped"}'), 0)
      assertNoSecret(logs, ['dave@example'], 'the log')
    })
  })
}
