// Retention: app.events.prune() (the hourly job) deletes the events older than
// AUDIT_RETENTION_DAYS by the app's clock, and only those, however many there are.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { loadConfig } from '../../src/config/index.ts'
import { countEvents, holdFanOut, trail } from '../support/events.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { signUp } from '../support/requests.ts'

const DAY_S = 86_400
const T0 = new Date('2026-01-10T08:00:00.000Z')
/** T0 plus `days` days and `ms` milliseconds. */
const at = (days: number, ms = 0) => new Date(T0.getTime() + days * DAY_S * 1000 + ms)

/** `count` events about nobody, at the clock's time, in one transaction. */
async function recordMany(
  app: App,
  count: number,
  type: 'signing_key.rotated' = 'signing_key.rotated',
) {
  await app.store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < count; i++) await app.events.record(trx, { type, data: { n: i } })
  })
}

for (const dialect of dialects()) {
  describe(`pruning the trail (${dialect})`, () => {
    test('AUDIT_RETENTION_DAYS=30: only events older than 30 days go, at the millisecond', async (t) => {
      const { app, clock } = await makeApp(t, { dialect, env: { AUDIT_RETENTION_DAYS: '30' } })
      clock.freeze(T0)
      const old = await signUp(app, 'old') // registered and signed in at T0
      clock.freeze(at(0, 1))
      await recordMany(app, 1)
      clock.freeze(at(20))
      const recent = await signUp(app, 'recent') // T0 + 20 days
      const all = await trail(app)
      assert.equal(all.length, 5)

      // Exactly 30 days after T0: nothing is older than that yet.
      clock.freeze(at(30))
      assert.equal(await app.events.prune(), 0)
      assert.equal(await countEvents(app), 5)
      // A millisecond later, the two events of T0 are; the one of T0 + 1 ms is not.
      clock.freeze(at(30, 1))
      assert.equal(await app.events.prune(), 2)
      const left = await trail(app)
      assert.deepEqual(
        left.map((e) => [e.type, e.subject?.user_id ?? null, e.occurred_at]),
        [
          ['signing_key.rotated', null, at(0, 1).toISOString()],
          ['user.registered', recent.user.id, at(20).toISOString()],
          ['session.created', recent.user.id, at(20).toISOString()],
        ],
      )
      assert.ok(!left.some((e) => e.subject?.user_id === old.user.id))
      // Pruning again removes nothing more; the account itself is untouched.
      assert.equal(await app.events.prune(), 0)
      const login = { login: 'old', password: 'correct horse battery staple' }
      const res = await app.inject({ method: 'POST', url: '/session/', payload: login })
      assert.equal(res.statusCode, 200, res.body) // a session.created at day 30

      // At day 50, what is older than day 20 goes; day 20 itself and day 30 stay.
      clock.freeze(at(50))
      assert.equal(await app.events.prune(), 1)
      assert.deepEqual(
        (await trail(app)).map((e) => [e.type, e.occurred_at]),
        [
          ['user.registered', at(20).toISOString()],
          ['session.created', at(20).toISOString()],
          ['session.created', at(30, 1).toISOString()],
        ],
      )
    })

    test('the default keeps a year: 365 days', async (t) => {
      const { app, clock, config } = await makeApp(t, { dialect })
      assert.equal(config.events.auditRetentionDays, 365)
      await holdFanOut(app)
      clock.freeze(T0)
      await recordMany(app, 3)
      clock.advance(365 * DAY_S)
      assert.equal(await app.events.prune(), 0)
      assert.equal(await countEvents(app), 3)
      clock.advance(1)
      assert.equal(await app.events.prune(), 3)
      assert.equal(await countEvents(app), 0)
    })

    test('more than one batch of old events: all of them go, the new ones stay', async (t) => {
      const { app, clock } = await makeApp(t, { dialect, env: { AUDIT_RETENTION_DAYS: '1' } })
      await holdFanOut(app)
      clock.freeze(T0)
      await recordMany(app, 1234)
      clock.freeze(at(2))
      await recordMany(app, 7)
      assert.equal(await app.events.prune(), 1234)
      const left = await trail(app)
      assert.equal(left.length, 7)
      assert.ok(left.every((e) => e.occurred_at === at(2).toISOString()))
    })
  })
}

test('AUDIT_RETENTION_DAYS must be a whole number of days, at least 1', () => {
  for (const bad of ['0', '-1', '1.5', 'forever']) {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'sqlite::memory:', AUDIT_RETENTION_DAYS: bad }),
      /AUDIT_RETENTION_DAYS/,
      bad,
    )
  }
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', AUDIT_RETENTION_DAYS: '7' })
  assert.equal(config.events.auditRetentionDays, 7)
})
