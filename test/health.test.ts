import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { migrateToLatest } from '../src/db/migrate.ts'
import { openStore } from '../src/db/store.ts'
import { dialects, freshDatabaseUrl, makeApp } from './support/harness.ts'
import { health, NOT_READY, READY } from './support/requests.ts'

for (const dialect of dialects()) {
  describe(`health (${dialect})`, () => {
    test('/health/live is 200 {"status":"ok"}', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await health(app, 'live')
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(res.body, '{"status":"ok"}')
      assert.equal(res.headers['cache-control'], 'no-store')
    })

    test('/health/ready is 200 with the database ok', async (t) => {
      const { app } = await makeApp(t, { dialect })
      const res = await health(app, 'ready')
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.deepEqual(res.json(), READY)
      assert.equal(res.headers['cache-control'], 'no-store')
    })

    test('/health/ready is 503 with the database down once the store is gone; live stays 200', async (t) => {
      const store = openStore(await freshDatabaseUrl(t, dialect))
      let destroyed = false
      t.after(async () => {
        if (!destroyed) await store.destroy()
      })
      await migrateToLatest(store)
      const h = await makeApp(t, { store })
      const { app } = h
      assert.equal(app.store, store)

      const before = await health(app, 'ready')
      assert.equal(before.statusCode, 200)
      assert.deepEqual(before.json(), READY)

      await store.destroy()
      destroyed = true

      const res = await health(app, 'ready')
      assert.equal(res.statusCode, 503, res.body)
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      assert.deepEqual(res.json(), NOT_READY)
      assert.equal(res.headers['cache-control'], 'no-store')
      // Why it is down goes to the log (a warning), not to the client.
      assert.ok(
        h.logs.some((line) => JSON.parse(line).msg === 'readiness: database check failed'),
        h.logs.join('\n'),
      )

      const live = await health(app, 'live')
      assert.equal(live.statusCode, 200)
      assert.deepEqual(live.json(), { status: 'ok' })
    })
  })
}
