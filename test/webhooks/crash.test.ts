// Webhooks across a crash, with the real service process: events waiting for a receiver that is
// down survive a kill -9, and a delivery in flight when the process dies comes again, with the
// same webhook-id.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import type { Event } from '../../src/events/catalogue.ts'
import { eventRecorder } from '../../src/events/record.ts'
import { recorder } from '../../src/outbox/record.ts'
import { run, showRun } from '../support/cli.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, migratedDatabaseUrl } from '../support/harness.ts'
import { startServer } from '../support/processes.ts'
import { receiver, verified } from '../support/webhooks.ts'

// Retries every second for as long as a test may wait: the receiver is back before they run out.
// (Between tries nothing is claimed: a kill -9 then leaves no lease to wait out.)
const env = { WEBHOOK_RETRY_SCHEDULE: Array(100).fill('1').join(',') }
// A kill -9 mid-pass leaves its claims leased (30 s for webhooks): waits may take that long.
const LONG_MS = 90_000

/** `usersvc webhooks add`, as an operator would: the id and the secret it prints. */
async function addWebhook(databaseUrl: string, url: string) {
  const result = await run(['webhooks', 'add', url], { env: { DATABASE_URL: databaseUrl } })
  assert.equal(result.code, 0, showRun(result))
  const id = /^id: +(\S+)$/m.exec(result.stdout)?.[1]
  const secret = /^secret: +(whsec_\S+)$/m.exec(result.stdout)?.[1]
  assert.ok(id && secret, showRun(result))
  return { id, secret }
}

/** Events as a domain action of any instance records them: committed in the shared database. */
async function recordEvents(databaseUrl: string, count: number): Promise<Event[]> {
  const store = openStore(databaseUrl)
  const now = () => new Date()
  const record = eventRecorder(
    recorder(store.dialect, now, () => {}),
    now,
  )
  try {
    const events: Event[] = []
    for (let i = 0; i < count; i++) {
      events.push(
        await store.db
          .transaction()
          .execute((trx) => record(trx, { type: 'user.registered', data: { login: `u${i}` } })),
      )
    }
    return events
  } finally {
    await store.destroy()
  }
}

async function deliveryStates(databaseUrl: string) {
  const store = openStore(databaseUrl)
  try {
    return await store.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute()
  } finally {
    await store.destroy()
  }
}

const messageOf = (line: string) => JSON.parse(line) as { msg?: string; channel?: string }

for (const dialect of dialects()) {
  describe(`webhooks across a crash, real processes (${dialect})`, () => {
    test('kill -9 while the receiver is down and events wait; restarted with it up, every event arrives, signed', async (t) => {
      const databaseUrl = await migratedDatabaseUrl(t, dialect)
      // A port that refuses connections now, and is the receiver's later.
      const probe = await receiver(t)
      await probe.close()
      const port = Number(new URL(probe.url).port)
      const hook = await addWebhook(databaseUrl, probe.url)

      const first = await startServer(t, { databaseUrl, env })
      const before = await recordEvents(databaseUrl, 5)
      const failed = await first.waitForLine((line) => {
        const entry = messageOf(line)
        return (
          entry.msg === 'outbox: delivery failed; will try again' &&
          entry.channel === `webhook:${hook.id}`
        )
      })
      assert.match(failed, /ECONNREFUSED/)
      // Every event fanned out and tried once: the kill leaves no fan-out half done (whose claim,
      // the events channel's, would hold its rows for minutes).
      await eventually(() => deliveryStates(databaseUrl), {
        what: 'every event tried',
        until: (rows) => rows.length === before.length && rows.every((r) => r.attempts >= 1),
      })
      first.child.kill('SIGKILL')
      assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' })
      const during = await recordEvents(databaseUrl, 2)

      const rx = await receiver(t, () => ({ status: 204 }), port)
      const second = await startServer(t, { databaseUrl, tlsDir: first.tlsDir, env })
      const expected = [...before, ...during]
      const got = await rx.waitFor(expected.length, 'every event', LONG_MS)
      const events = got.map((delivery) => verified(hook.secret, delivery))
      assert.deepEqual(new Set(events.map((e) => e.id)), new Set(expected.map((e) => e.id)))
      for (const event of events)
        assert.deepEqual(
          event,
          expected.find((e) => e.id === event.id),
        )
      await eventually(() => deliveryStates(databaseUrl), {
        what: 'every delivery delivered',
        until: (rows) =>
          rows.length === expected.length && rows.every((r) => r.status === 'delivered'),
      })
      // None got through before the crash: each arrived once.
      assert.equal(rx.received.length, expected.length)
      for (const server of [first, second]) {
        assert.ok(!server.stdout.some((line) => line.includes(hook.secret)))
        assert.ok(!server.stderr().includes(hook.secret))
      }
    })

    test('kill -9 with a delivery in flight: after the restart it comes again, with the same webhook-id', async (t) => {
      const databaseUrl = await migratedDatabaseUrl(t, dialect)
      // The first request is never answered; later ones are.
      const rx = await receiver(t, (index) => (index === 0 ? 'hang' : { status: 204 }))
      const hook = await addWebhook(databaseUrl, rx.url)
      const first = await startServer(t, { databaseUrl, env })
      const [event] = await recordEvents(databaseUrl, 1)
      assert.ok(event)
      await rx.waitFor(1, 'the first try')
      first.child.kill('SIGKILL')
      await first.exited

      // Once the dead instance's claim (its lease) has run out, the new one tries again.
      const second = await startServer(t, { databaseUrl, tlsDir: first.tlsDir, env })
      const got = await eventually(() => rx.received, {
        what: 'the delivery again',
        until: (all) => all.length >= 2,
        timeoutMs: LONG_MS,
      })
      assert.deepEqual(
        got.map((d) => d.headers['webhook-id']),
        [event.id, event.id],
      )
      for (const delivery of got) assert.deepEqual(verified(hook.secret, delivery), event)
      await second.waitForLine((line) => messageOf(line).msg === 'outbox: delivered')
      const rows = await deliveryStates(databaseUrl)
      assert.deepEqual(
        rows.map((row) => ({ ...row })),
        [{ status: 'delivered', attempts: 1 }],
      )
    })
  })
}
