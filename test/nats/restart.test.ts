// The real service killed with -9 while it publishes, then started again: every event reaches
// the stream once (JetStream drops the second copy of what went out before the kill by its
// Nats-Msg-Id), and nothing waits in the outbox after.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { openStore } from '../../src/db/store.ts'
import type { Event } from '../../src/events/catalogue.ts'
import { eventRecorder } from '../../src/events/record.ts'
import { NATS_CHANNEL } from '../../src/nats/plugin.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, migratedDatabaseUrl } from '../support/harness.ts'
import { NATS_URL, natsEnv, readStream, sharedStream, streamInfo } from '../support/nats.ts'
import { startServer } from '../support/processes.ts'

const COUNT = 1000

/**
 * `count` events in the trail, each with its row on channel nats, as the fan-out leaves them.
 * (Not through the fan-out here: rows it had claimed when killed wait out its own 2-minute
 * lease, which this test is not about.)
 */
async function recordEvents(url: string, count: number): Promise<Event[]> {
  const store = openStore(url)
  try {
    const now = () => new Date()
    const record = eventRecorder(async (trx, _events, event) => {
      await outboxRepository(trx, store.dialect).add(NATS_CHANNEL, event, now())
    }, now)
    return await store.db.transaction().execute(async (trx) => {
      const events: Event[] = []
      for (let i = 0; i < count; i++) {
        const userId = `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`
        events.push(
          await record(trx, { type: 'user.registered', userId, data: { login: `u${i}` } }),
        )
      }
      return events
    })
  } finally {
    await store.destroy()
  }
}

/** How many rows wait in the outbox, all channels. */
async function outboxRows(url: string): Promise<number> {
  const store = openStore(url)
  try {
    const row = await store.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  } finally {
    await store.destroy()
  }
}

for (const dialect of dialects()) {
  describe(`NATS across a crash, real processes (${dialect})`, () => {
    test(`${COUNT} events, kill -9 while they are being published, started again: each arrives exactly once`, async (t) => {
      const url = await migratedDatabaseUrl(t, dialect)
      const names = sharedStream(t)
      const events = await recordEvents(url, COUNT)
      const env = natsEnv(NATS_URL, names)

      const first = await startServer(t, { databaseUrl: url, env })
      const banner = `  nats:     ${NATS_URL}, stream ${names.stream}, subjects ${names.prefix}.<type>\n`
      assert.ok(first.stderr().includes(banner), first.stderr())
      const atKill = await eventually(() => streamInfo(NATS_URL, names.stream), {
        what: 'the first events in the stream',
        until: (info) => (info?.state.messages ?? 0) > 0,
      })
      first.child.kill('SIGKILL')
      assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' })
      const published = (await streamInfo(NATS_URL, names.stream))?.state.messages ?? 0
      assert.ok(published < COUNT, `all ${COUNT} went out before the kill: nothing was tested`)
      assert.ok((atKill?.state.messages ?? 0) <= published)

      // Rows the dead instance held wait for its lease to end (15 s), then go out again.
      const second = await startServer(t, { databaseUrl: url, tlsDir: first.tlsDir, env })
      const received = await readStream(NATS_URL, names.stream, COUNT, 90_000)
      assert.equal(received.length, COUNT)
      assert.deepEqual(received.map((m) => m.msgId).sort(), events.map((e) => e.id).sort())
      for (const m of received) assert.equal(m.body.id, m.msgId)
      await eventually(() => outboxRows(url), {
        what: 'an empty outbox',
        until: (n) => n === 0,
      })
      assert.equal((await streamInfo(NATS_URL, names.stream))?.state.messages, COUNT)
      assert.equal(second.child.exitCode, null)
      // Whether the kill fell between a publish and its row's removal is chance: say how often.
      const again = second.stdout.filter((l) => l.includes('"nats: already in the stream"'))
      t.diagnostic(`${again.length} published again after the kill, dropped by JetStream`)
    })
  })
}
