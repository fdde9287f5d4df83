// Two instances on one PostgreSQL database deliver each event to an endpoint exactly once.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Event } from '../../src/events/catalogue.ts'
import { dialects, freshDatabaseUrl, makeApp } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import { signUpAdmin } from '../support/requests.ts'
import { addWebhook, receiver, verified } from '../support/webhooks.ts'

const COUNT = 1000

describe('two instances delivering one endpoint (postgres)', {
  skip: !dialects().includes('postgres'),
}, () => {
  test(`${COUNT} events, two instances on one database: each delivered exactly once, by both together`, async (t) => {
    const databaseUrl = await freshDatabaseUrl(t, 'postgres')
    const a = await makeApp(t, { databaseUrl })
    const b = await makeApp(t, { databaseUrl })
    const rx = await receiver(t, () => ({ status: 204 }))
    const admin = await signUpAdmin(a.app, 'root')
    // The sign-up's own events go out before the endpoint exists: it gets exactly ours.
    await Promise.all([a, b].map((h) => h.app.outbox.flush('events')))
    const hook = await addWebhook(a.app, admin.access_token, { url: rx.url })

    // All committed at once: both instances' fan-outs and senders find them.
    const events: Event[] = await a.app.store.db.transaction().execute(async (trx) => {
      const recorded: Event[] = []
      for (let i = 0; i < COUNT; i++) {
        recorded.push(
          await a.app.events.record(trx, { type: 'user.registered', data: { login: `u${i}` } }),
        )
      }
      return recorded
    })

    const got = await rx.waitFor(COUNT, `${COUNT} deliveries`, 180_000)
    // Anything sent twice would arrive by now too: wait for both senders to go idle.
    const channel = `webhook:${hook.id}`
    await Promise.all([a, b].map((h) => h.app.outbox.flush(channel)))
    const ids = rx.received.map((d) => String(d.headers['webhook-id']))
    assert.equal(new Set(ids).size, COUNT)
    assert.equal(rx.received.length, COUNT, `${rx.received.length - COUNT} delivered twice`)
    assert.deepEqual(new Set(ids), new Set(events.map((e) => e.id)))
    for (const delivery of got.slice(0, 20)) verified(hook.secret, delivery)

    const name = 'usersvc_webhook_deliveries_sent_total'
    const byA = await sample(a.app.metrics.registry, name)
    const byB = await sample(b.app.metrics.registry, name)
    assert.equal(byA + byB, COUNT)
    assert.ok(byA > 0 && byB > 0, `A sent ${byA}, B sent ${byB}`)
    const rows = await a.app.store.db
      .selectFrom('webhook_deliveries')
      .select((eb) => [eb.fn.countAll<string>().as('n')])
      .where('status', '=', 'delivered')
      .where('attempts', '=', 1)
      .executeTakeFirstOrThrow()
    assert.equal(Number(rows.n), COUNT)
  })
})
