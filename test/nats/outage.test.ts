// NATS away, at start or later, with a nats-server of each test's own (the shared one is never
// stopped): events wait in the outbox, the service serves, and all arrive once NATS is back.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { App } from '../../src/app.ts'
import { NATS_CHANNEL } from '../../src/nats/plugin.ts'
import { eventually, patiently } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { sample } from '../support/metrics.ts'
import {
  natsEnv,
  privateNats,
  type Received,
  readStream,
  recordEvent,
  uniqueNames,
} from '../support/nats.ts'
import { health, register } from '../support/requests.ts'

const messages = (logs: string[]) => logs.map((line) => (JSON.parse(line) as { msg?: string }).msg)

/** Waits until `count` events wait on the nats channel (fanned out, unsent). */
function waiting(app: App, count: number) {
  return eventually(() => app.outbox.waiting(NATS_CHANNEL), {
    what: `${count} events waiting for NATS`,
    until: (n) => n === count,
  })
}

/** The service answers: a liveness probe, and a registration (which records an event too). */
async function assertServing(app: App, login: string): Promise<void> {
  assert.equal((await health(app, 'live')).statusCode, 200)
  const res = await register(app, login)
  assert.equal(res.statusCode, 201, res.body)
}

/** The ids of every event in the trail: all of them must reach the stream. */
async function trail(app: App): Promise<string[]> {
  const rows = await app.store.db.selectFrom('events').select('id').execute()
  return rows.map((row) => row.id).sort()
}

/** Each event of the trail once, with its own body. */
async function assertOnceEach(app: App, received: Received[], count: number): Promise<void> {
  const ids = await trail(app)
  assert.equal(ids.length, count)
  assert.deepEqual(received.map((m) => m.msgId).sort(), ids)
  for (const m of received) assert.equal(m.body.id, m.msgId)
}

for (const dialect of dialects()) {
  describe(`NATS away (${dialect})`, () => {
    test('unreachable at start: the service starts and serves, events wait, and all arrive once NATS is up (the stream made then)', async (t) => {
      const nats = await privateNats(t)
      const names = uniqueNames()
      const { app, logs } = await makeApp(t, { dialect, env: natsEnv(nats.url, names) })
      await assertServing(app, 'ada')
      for (let i = 0; i < 4; i++) await recordEvent(app)
      await waiting(app, 5)
      const registry = app.metrics.registry
      assert.equal(await sample(registry, 'usersvc_nats_queued'), 5)
      assert.equal(await sample(registry, 'usersvc_nats_connected'), 0)
      assert.equal(await sample(registry, 'usersvc_nats_sent_total'), 0)
      assert.equal((await health(app, 'ready')).json().checks.nats, 'ok')
      // Once per outage, not once per try.
      await eventually(
        () => messages(logs).filter((m) => m === 'nats: cannot connect; will retry'),
        {
          what: 'a log line about the failed connect',
          until: (found) => found.length === 1,
        },
      )

      await nats.start()
      await assertOnceEach(app, await readStream(nats.url, names.stream, 5), 5)
      await waiting(app, 0)
      assert.equal(await sample(registry, 'usersvc_nats_sent_total'), 5)
      assert.equal(await sample(registry, 'usersvc_nats_connected'), 1)
    })

    test('lost while running: events wait, the service serves, and all arrive once NATS is back', async (t) => {
      const nats = await privateNats(t)
      await nats.start()
      const names = uniqueNames()
      const { app, logs } = await makeApp(t, { dialect, env: natsEnv(nats.url, names) })
      await recordEvent(app)
      await recordEvent(app)
      await readStream(nats.url, names.stream, 2)
      await waiting(app, 0)

      await nats.stop()
      await eventually(() => sample(app.metrics.registry, 'usersvc_nats_connected'), {
        what: 'the disconnect noticed',
        until: (v) => v === 0,
      })
      await recordEvent(app, 'session.created')
      await recordEvent(app, 'session.created')
      await assertServing(app, 'grace')
      await waiting(app, 3)
      assert.ok(messages(logs).includes('nats: disconnected; reconnecting'))

      // Back with its storage: the stream is there still, and the three join the two.
      await nats.start()
      await assertOnceEach(app, await readStream(nats.url, names.stream, 5), 5)
      await waiting(app, 0)
      assert.equal(await sample(app.metrics.registry, 'usersvc_nats_sent_total'), 5)
    })

    test('back with its storage lost: the stream is made again, and what waited arrives', async (t) => {
      const nats = await privateNats(t)
      await nats.start()
      const names = uniqueNames()
      const { app } = await makeApp(t, { dialect, env: natsEnv(nats.url, names) })
      await recordEvent(app)
      await readStream(nats.url, names.stream, 1)
      await nats.stop()
      await nats.wipe()
      const during = [await recordEvent(app), await recordEvent(app)]
      await waiting(app, 2)
      await nats.start()
      const received = await readStream(nats.url, names.stream, 2)
      assert.deepEqual(
        received.map((m) => m.msgId),
        during.map((e) => e.id),
      )
      await waiting(app, 0)
    })

    test('closing while NATS is unreachable does not wait for it', async (t) => {
      const nats = await privateNats(t)
      const { app } = await makeApp(t, { dialect, env: natsEnv(nats.url, uniqueNames()) })
      await recordEvent(app)
      await waiting(app, 1)
      await patiently(app.close(), 'the app closed', 5000)
    })
  })
}
