// Events published to the shared JetStream, in streams of each test's own.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { nanos, StorageType } from 'nats'
import type { Event } from '../../src/events/catalogue.ts'
import { NATS_CHANNEL } from '../../src/nats/plugin.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import {
  NATS_URL,
  natsEnv,
  readStream,
  recordEvent,
  sharedStream,
  streamInfo,
  withNats,
} from '../support/nats.ts'
import { health } from '../support/requests.ts'

const messageOf = (line: string) => JSON.parse(line) as { msg?: string; created?: boolean }

for (const dialect of dialects()) {
  describe(`events published to NATS JetStream (${dialect})`, () => {
    test('each event once on <prefix>.<type>, its id as Nats-Msg-Id, itself as the JSON body; the stream made when missing; the row gone once acked', async (t) => {
      const names = sharedStream(t)
      const { app, logs } = await makeApp(t, { dialect, env: natsEnv(NATS_URL, names) })
      const events = [
        await recordEvent(app, 'user.registered'),
        await recordEvent(app, 'session.created'),
        await recordEvent(app, 'login.failed'),
      ]

      const received = await readStream(NATS_URL, names.stream, 3)
      assert.deepEqual(
        received.map((m) => m.subject),
        events.map((e) => `${names.prefix}.${e.type}`),
      )
      assert.deepEqual(
        received.map((m) => m.msgId),
        events.map((e) => e.id),
      )
      assert.deepEqual(
        received.map((m) => m.body),
        events.map((e) => JSON.parse(JSON.stringify(e)) as Event),
      )

      const info = await streamInfo(NATS_URL, names.stream)
      assert.ok(info)
      assert.deepEqual(info.config.subjects, [`${names.prefix}.>`])
      assert.equal(info.config.storage, StorageType.File)
      assert.ok(info.config.duplicate_window >= nanos(120_000), 'a duplicate window of 2 min+')
      assert.equal(info.state.messages, 3)
      const created = logs.map(messageOf).find((l) => l.msg === 'nats: stream in place; publishing')
      assert.equal(created?.created, true)

      // Removed only after the ack: by now, or in a moment.
      await eventually(() => app.outbox.waiting(NATS_CHANNEL), {
        what: 'an empty nats channel',
        until: (n) => n === 0,
      })
      const registry = app.metrics.registry
      assert.equal(await sample(registry, 'usersvc_nats_sent_total'), 3)
      assert.equal(await sample(registry, 'usersvc_nats_failed_total{outcome="retry"}'), 0)
      assert.equal(await sample(registry, 'usersvc_nats_queued'), 0)
      assert.equal(await sample(registry, 'usersvc_nats_oldest_queued_age_seconds'), 0)
      assert.equal(await sample(registry, 'usersvc_nats_connected'), 1)
      assert.equal(await sample(registry, 'usersvc_nats_duplicates_total'), 0)
      const ready = await health(app, 'ready')
      assert.equal(ready.json().checks.nats, 'ok')
    })

    test('an existing stream is reused as it is; an event it holds already (its ack lost in a crash) is not stored again', async (t) => {
      const names = sharedStream(t)
      // The operator's stream, with settings of their own.
      await withNats(NATS_URL, async (nc) => {
        const jsm = await nc.jetstreamManager()
        await jsm.streams.add({
          name: names.stream,
          subjects: [`${names.prefix}.>`],
          storage: StorageType.File,
          duplicate_window: nanos(600_000),
          description: 'made by the operator',
          max_msgs: 1000,
        })
      })
      const { app, logs } = await makeApp(t, { dialect, env: natsEnv(NATS_URL, names) })
      const first = await recordEvent(app, 'user.registered')
      await readStream(NATS_URL, names.stream, 1)
      await eventually(() => app.outbox.waiting(NATS_CHANNEL), {
        what: 'an empty nats channel',
        until: (n) => n === 0,
      })

      // The same event's row again, as if the instance that published it had died before
      // marking it sent: JetStream acks it as a duplicate, and the row goes.
      await app.store.db
        .transaction()
        .execute((trx) => outboxRepository(trx, dialect).add(NATS_CHANNEL, first, new Date()))
      await eventually(() => app.outbox.waiting(NATS_CHANNEL), {
        what: 'the repeated row sent',
        until: (n) => n === 0,
      })
      const second = await recordEvent(app, 'user.deleted')
      const received = await readStream(NATS_URL, names.stream, 2)
      assert.deepEqual(
        received.map((m) => m.msgId),
        [first.id, second.id],
      )
      assert.equal(await sample(app.metrics.registry, 'usersvc_nats_sent_total'), 3)
      assert.equal(await sample(app.metrics.registry, 'usersvc_nats_duplicates_total'), 1)

      const info = await streamInfo(NATS_URL, names.stream)
      assert.equal(info?.config.description, 'made by the operator')
      assert.equal(info?.config.max_msgs, 1000)
      assert.equal(info?.state.messages, 2)
      const found = logs.map(messageOf).find((l) => l.msg === 'nats: stream in place; publishing')
      assert.equal(found?.created, false)
    })

    test('the stream deleted while the service runs: the next publish finds no stream, which is made again', async (t) => {
      const names = sharedStream(t)
      const { app } = await makeApp(t, { dialect, env: natsEnv(NATS_URL, names) })
      await recordEvent(app)
      await readStream(NATS_URL, names.stream, 1)
      await withNats(NATS_URL, async (nc) => {
        await (await nc.jetstreamManager()).streams.delete(names.stream)
      })
      const after = await recordEvent(app, 'user.disabled')
      const received = await readStream(NATS_URL, names.stream, 1)
      assert.deepEqual(
        received.map((m) => m.msgId),
        [after.id],
      )
      await eventually(() => app.outbox.waiting(NATS_CHANNEL), {
        what: 'an empty nats channel',
        until: (n) => n === 0,
      })
      assert.equal(await sample(app.metrics.registry, 'usersvc_nats_sent_total'), 2)
      assert.equal(
        await sample(app.metrics.registry, 'usersvc_nats_failed_total{outcome="retry"}'),
        1,
      )
    })

    test('without NATS_URL: no nats rows, no nats check, no nats metrics', async (t) => {
      const { app } = await makeApp(t, { dialect })
      await recordEvent(app)
      await app.outbox.flush('events')
      assert.equal(await app.outbox.waiting('events'), 0)
      assert.equal(await app.outbox.waiting(NATS_CHANNEL), 0)
      const ready = await health(app, 'ready')
      assert.equal(ready.statusCode, 200)
      assert.equal(ready.json().checks.nats, undefined)
      assert.doesNotMatch(await app.metrics.registry.metrics(), /usersvc_nats/)
    })
  })
}
