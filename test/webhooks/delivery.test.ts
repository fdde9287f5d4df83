// Deliveries to real receivers: signatures, retries, 410, the end of the schedule, an admin's
// retry, secret rotation, the types filter, and endpoints that hold each other up (they don't).
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Webhook } from 'standardwebhooks'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import { assertProblem } from '../support/problems.ts'
import { bearer, health, signUpAdmin } from '../support/requests.ts'
import {
  addWebhook,
  causeEvent,
  deliveries,
  FAST_RETRIES,
  receiver,
  verified,
} from '../support/webhooks.ts'

const ids = (all: Array<{ headers: Record<string, unknown> }>) =>
  all.map((d) => String(d.headers['webhook-id']))

for (const dialect of dialects()) {
  describe(`webhook deliveries (${dialect})`, () => {
    async function setup(t: TestContext, env: Record<string, string> = {}) {
      const harness = await makeApp(t, { dialect, env: { ...FAST_RETRIES, ...env } })
      const admin = await signUpAdmin(harness.app, 'root')
      // The sign-up's own events go out before any endpoint exists: tests count only theirs.
      await harness.app.outbox.flush('events')
      return { ...harness, token: admin.access_token }
    }

    test('an event reaches a real receiver as its JSON body, signed so that standardwebhooks verifies it', async (t) => {
      const { app, token, logs } = await setup(t)
      const rx = await receiver(t)
      const hook = await addWebhook(app, token, { url: rx.url })
      const event = await causeEvent(app, 'user.registered', { login: 'erin' })
      const [delivery] = await rx.waitFor(1)
      assert.ok(delivery)
      assert.deepEqual(verified(hook.secret, delivery), event)
      assert.deepEqual(JSON.parse(delivery.body), event)
      assert.equal(delivery.headers['webhook-id'], event.id)
      const timestamp = Number(delivery.headers['webhook-timestamp'])
      assert.ok(Math.abs(timestamp - Date.now() / 1000) < 10, String(timestamp))
      assert.match(String(delivery.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/)
      // Another secret does not verify it.
      const other = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`)
      assert.throws(() => other.verify(delivery.body, delivery.headers as Record<string, string>))

      const [row] = await eventually(() => deliveries(app, token, hook.id), {
        what: 'a delivered delivery',
        until: (rows) => rows[0]?.status === 'delivered',
      })
      assert.equal(row?.event_id, event.id)
      assert.equal(row?.event_type, 'user.registered')
      assert.equal(row?.attempts, 1)
      assert.equal(row?.last_status_code, 204)
      assert.equal((row?.attempt_log as unknown[] | undefined)?.length, 1)
      assert.equal(await sample(app.metrics.registry, 'usersvc_webhook_deliveries_sent_total'), 1)
      assert.equal(await sample(app.metrics.registry, 'usersvc_webhook_deliveries_queued'), 0)
      assert.ok(!logs.some((line) => line.includes(hook.secret)), 'the secret is never logged')
    })

    test('a receiver that fails (500, then 503 with Retry-After) and recovers gets the event with the same webhook-id', async (t) => {
      const { app, token } = await setup(t)
      const rx = await receiver(t, (index) =>
        index === 0
          ? { status: 500, body: 'boom' }
          : index === 1
            ? { status: 503, headers: { 'retry-after': '1' } }
            : { status: 200 },
      )
      const hook = await addWebhook(app, token, { url: rx.url })
      const event = await causeEvent(app)
      const [first, second, third] = await rx.waitFor(3)
      assert.ok(first && second && third)
      assert.deepEqual(ids([first, second, third]), [event.id, event.id, event.id])
      for (const delivery of [first, second, third]) verified(hook.secret, delivery)
      // The schedule says 50 ms; the endpoint said a second: not before.
      assert.ok(third.at - second.at >= 950, `${third.at - second.at} ms after the 503`)
      const [row] = await eventually(() => deliveries(app, token, hook.id), {
        what: 'the delivery delivered',
        until: (rows) => rows[0]?.status === 'delivered',
      })
      const log = row?.attempt_log as Array<{ status_code: number; response: string | null }>
      assert.deepEqual(
        log.map((a) => a.status_code),
        [500, 503, 200],
      )
      assert.equal(log[0]?.response, 'boom')
      assert.equal(row?.attempts, 3)
      assert.equal(
        await sample(
          app.metrics.registry,
          'usersvc_webhook_deliveries_failed_total{outcome="retry"}',
        ),
        2,
      )
    })

    test('410 Gone disables the endpoint and ends its pending deliveries as failed; enabling clears the reason', async (t) => {
      const { app, token } = await setup(t)
      // Each event's first try is a 503 (wait a second); whatever comes after, 410.
      const rx = await receiver(t, (index) =>
        index < 2 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 410 },
      )
      const hook = await addWebhook(app, token, { url: rx.url })
      await causeEvent(app)
      await causeEvent(app)
      await rx.waitFor(3)
      const rows = await eventually(() => deliveries(app, token, hook.id), {
        what: 'both deliveries failed',
        until: (all) => all.length === 2 && all.every((d) => d.status === 'failed'),
      })
      assert.equal(rows.length, 2)
      const got = await app.inject({ url: `/webhooks/${hook.id}`, headers: bearer(token) })
      assert.equal(got.json().enabled, false)
      assert.equal(got.json().disabled_reason, 'The endpoint answered 410 Gone')
      // Nothing more is tried, or created, for it.
      await causeEvent(app)
      await sleep(1500)
      assert.equal(rx.received.length, 3)
      assert.equal((await deliveries(app, token, hook.id)).length, 2)

      const enabled = await app.inject({
        method: 'PATCH',
        url: `/webhooks/${hook.id}`,
        headers: bearer(token),
        payload: { enabled: true },
      })
      assert.equal(enabled.statusCode, 200, enabled.body)
      assert.equal(enabled.json().enabled, true)
      assert.equal(enabled.json().disabled_reason, null)
    })

    test('after the last try of the schedule a delivery has failed; the retry endpoint queues it again, delivered ones too', async (t) => {
      const { app, token } = await setup(t)
      let down = true
      const rx = await receiver(t, () => (down ? { status: 500 } : { status: 204 }))
      const hook = await addWebhook(app, token, { url: rx.url })
      const event = await causeEvent(app)
      // Three retries after the first try: four in all, then failed.
      const [failed] = await eventually(() => deliveries(app, token, hook.id), {
        what: 'a failed delivery',
        until: (rows) => rows[0]?.status === 'failed',
      })
      assert.equal(failed?.attempts, 4)
      assert.equal(failed?.next_attempt_at, null)
      assert.equal(rx.received.length, 4)
      assert.deepEqual(await deliveries(app, token, hook.id, '?status=pending'), [])

      down = false
      const url = `/webhooks/${hook.id}/deliveries/${failed?.id}/retry`
      const retried = await app.inject({ method: 'POST', url, headers: bearer(token) })
      assert.equal(retried.statusCode, 202, retried.body)
      assert.equal(retried.json().status, 'pending')
      await rx.waitFor(5)
      const [delivered] = await eventually(() => deliveries(app, token, hook.id), {
        what: 'delivered after the retry',
        until: (rows) => rows[0]?.status === 'delivered',
      })
      assert.equal(delivered?.attempts, 5)

      // A delivered one goes out again too, with the same webhook-id.
      const again = await app.inject({ method: 'POST', url, headers: bearer(token) })
      assert.equal(again.statusCode, 202, again.body)
      const all = await rx.waitFor(6)
      assert.deepEqual(new Set(ids(all)), new Set([event.id]))
      for (const bad of [
        `/webhooks/${hook.id}/deliveries/nope/retry`,
        `/webhooks/nope/deliveries/${failed?.id}/retry`,
      ]) {
        assertProblem(
          await app.inject({ method: 'POST', url: bad, headers: bearer(token) }),
          404,
          'not_found',
          bad,
        )
      }
    })

    test('rotate-secret: for a day both secrets sign (two signatures, each verifies); then only the new one', async (t) => {
      const { app, token } = await setup(t)
      const rx = await receiver(t)
      const hook = await addWebhook(app, token, { url: rx.url })
      const rotated = await app.inject({
        method: 'POST',
        url: `/webhooks/${hook.id}/rotate-secret`,
        headers: bearer(token),
      })
      assert.equal(rotated.statusCode, 200, rotated.body)
      const secret = rotated.json().secret as string
      assert.notEqual(secret, hook.secret)
      const until = Date.parse(rotated.json().previous_secret_expires_at)
      assert.ok(Math.abs(until - Date.now() - 86_400_000) < 60_000)

      await causeEvent(app)
      const [both] = await rx.waitFor(1)
      assert.ok(both)
      assert.equal(String(both.headers['webhook-signature']).split(' ').length, 2)
      verified(secret, both)
      verified(hook.secret, both)

      // A day later (moved here in the table: receivers check timestamps against real time).
      await app.store.db
        .updateTable('webhooks')
        .set({ previous_secret_until: new Date(Date.now() - 1000).toISOString() })
        .execute()
      await causeEvent(app)
      const [, only] = await rx.waitFor(2)
      assert.ok(only)
      assert.equal(String(only.headers['webhook-signature']).split(' ').length, 1)
      verified(secret, only)
      assert.throws(() => verified(hook.secret, only))
    })

    test('types: an endpoint gets only the types it asked for; without types, every type', async (t) => {
      const { app, token } = await setup(t)
      const some = await receiver(t)
      const every = await receiver(t)
      await addWebhook(app, token, { url: some.url, types: ['user.deleted', 'factor.added'] })
      await addWebhook(app, token, { url: every.url })
      const registered = await causeEvent(app, 'user.registered')
      const deleted = await causeEvent(app, 'user.deleted')
      assert.deepEqual(ids(await every.waitFor(2)), [registered.id, deleted.id])
      assert.deepEqual(ids(await some.waitFor(1)), [deleted.id])
      await sleep(300)
      assert.equal(some.received.length, 1)
    })

    test('a hanging endpoint delays no other endpoint, and readiness says degraded once a delivery is 5 minutes late', async (t) => {
      const { app, token, clock } = await setup(t)
      const hanging = await receiver(t, () => 'hang')
      const quick = await receiver(t)
      await addWebhook(app, token, { url: hanging.url })
      await addWebhook(app, token, { url: quick.url })
      const started = Date.now()
      const events = [await causeEvent(app), await causeEvent(app), await causeEvent(app)]
      assert.deepEqual(
        ids(await quick.waitFor(3)),
        events.map((e) => e.id),
      )
      assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`)
      await hanging.waitFor(1)
      assert.equal((await health(app, 'ready')).json().checks.webhooks, 'ok')
      clock.advance(6 * 60)
      const ready = await health(app, 'ready')
      assert.equal(ready.statusCode, 200)
      assert.equal(ready.json().status, 'degraded')
      assert.equal(ready.json().checks.webhooks, 'degraded')
      assert.ok(
        (await sample(
          app.metrics.registry,
          'usersvc_webhook_deliveries_oldest_queued_age_seconds',
        )) >= 360,
      )
      // Its requests fail now, rather than at their timeout, so the app closes at once.
      await hanging.close()
    })
  })
}
