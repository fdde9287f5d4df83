import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eventually } from '../support/eventually.ts'
import { dialects, makeApp } from '../support/harness.ts'
import { register } from '../support/requests.ts'

for (const dialect of dialects()) {
  describe(`one-time codes housekeeping (${dialect})`, () => {
    test('every hour, codes expired more than a day ago are deleted; younger ones stay for the hourly limits', async (t) => {
      // Only setInterval is mocked: the hourly prune; everything else runs on real time.
      t.mock.timers.enable({ apis: ['setInterval'] })
      const { app, clock } = await makeApp(t, { dialect })
      const user = (await register(app, 'alice')).json()
      clock.freeze()
      const issue = (ttlSeconds: number) =>
        app.store.db.transaction().execute((trx) =>
          app.oneTimeCodes.issue(trx, {
            userId: user.id,
            purpose: 'recovery',
            digits: 8,
            ttlSeconds,
            now: clock.now(),
          }),
        )
      const old = await issue(900)
      clock.advance(3600)
      const recent = await issue(900)
      // The first expired 24 h 45 min ago, the second 23 h 45 min ago.
      clock.advance(24 * 3600)
      const ids = async () =>
        (await app.store.db.selectFrom('one_time_codes').select('id').orderBy('id').execute()).map(
          (row) => row.id,
        )
      assert.deepEqual(await ids(), [old.id, recent.id])
      t.mock.timers.tick(3600_000)
      assert.deepEqual(
        await eventually(ids, { what: 'the pruned codes', until: (left) => left.length === 1 }),
        [recent.id],
      )
    })
  })
}
