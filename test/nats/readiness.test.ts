// NATS in readiness and metrics, with a frozen clock: events waiting over 5 minutes for a NATS
// that is away make /health/ready "degraded" (the instance keeps serving).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { NATS_CHANNEL } from '../../src/nats/plugin.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp, TestClock } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import { natsEnv, privateNats, readStream, recordEvent, uniqueNames } from '../support/nats.ts'
import { health } from '../support/requests.ts'

for (const dialect of dialects()) {
  describe(`NATS in readiness and metrics (${dialect})`, () => {
    test('with NATS away /health/ready stays 200; checks.nats "degraded" once the oldest waiting event is over 5 minutes old; the gauges follow', async (t) => {
      const nats = await privateNats(t)
      const names = uniqueNames()
      const clock = new TestClock()
      const t0 = new Date('2030-06-01T12:00:00.000Z')
      clock.freeze(t0)
      const { app, logs } = await makeApp(t, { dialect, clock, env: natsEnv(nats.url, names) })
      const registry = app.metrics.registry
      const ready = async () => {
        const res = await health(app, 'ready')
        assert.equal(res.statusCode, 200, res.body)
        const { status, checks } = res.json()
        return { status, nats: checks.nats }
      }
      const gauges = async () => [
        await sample(registry, 'usersvc_nats_queued'),
        await sample(registry, 'usersvc_nats_oldest_queued_age_seconds'),
      ]

      assert.deepEqual(await ready(), { status: 'ok', nats: 'ok' })
      assert.deepEqual(await gauges(), [0, 0])

      // Fanned out at once (the clock frozen meanwhile): the nats rows date from then.
      const first = await recordEvent(app)
      await app.outbox.flush('events')
      clock.advance(60)
      const second = await recordEvent(app, 'user.deleted')
      await app.outbox.flush('events')
      assert.equal(await app.outbox.waiting(NATS_CHANNEL), 2)

      // Exactly five minutes is not over five minutes.
      clock.freeze(new Date(t0.getTime() + 300_000))
      assert.deepEqual(await ready(), { status: 'ok', nats: 'ok' })
      assert.deepEqual(await gauges(), [2, 300])
      clock.advance(1)
      assert.deepEqual(await ready(), { status: 'degraded', nats: 'degraded' })
      assert.deepEqual(await gauges(), [2, 301])
      const late = logs
        .map((line) => JSON.parse(line) as { msg?: string; sink?: string })
        .find((l) => l.msg === 'readiness: events older than 5 minutes are still undelivered')
      assert.equal(late?.sink, 'nats')

      // NATS back: both go out, in order, and all is well again.
      await nats.start()
      const received = await readStream(nats.url, names.stream, 2)
      assert.deepEqual(
        received.map((m) => m.msgId),
        [first.id, second.id],
      )
      await eventually(() => app.outbox.waiting(NATS_CHANNEL), {
        what: 'an empty nats channel',
        until: (n) => n === 0,
      })
      assert.deepEqual(await ready(), { status: 'ok', nats: 'ok' })
      assert.deepEqual(await gauges(), [0, 0])
      assert.equal(await sample(registry, 'usersvc_nats_sent_total'), 2)
      assert.equal(await sample(registry, 'usersvc_nats_failed_total{outcome="dropped"}'), 0)
    })
  })
}
