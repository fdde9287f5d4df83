import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { sql } from 'kysely'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { Store } from '../../src/db/schema.ts'
import { openStore } from '../../src/db/store.ts'
import { outboxRepository } from '../../src/outbox/repository.ts'
import { type DialectName, dialects, freshDatabaseUrl } from '../support/harness.ts'

const T0 = new Date('2030-01-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0.getTime() + ms)
const LEASE = 60_000

/** `count` stores on one fresh, migrated database (several pools, as several instances have). */
async function stores(t: TestContext, dialect: DialectName, count = 1): Promise<Store[]> {
  const url = await freshDatabaseUrl(t, dialect)
  const opened = Array.from({ length: count }, () => openStore(url))
  t.after(() => Promise.all(opened.map((store) => store.destroy())))
  await migrateToLatest(opened[0] as Store)
  return opened
}

const repo = (store: Store) => outboxRepository(store.db, store.dialect)

for (const dialect of dialects()) {
  describe(`outbox repository (${dialect})`, () => {
    test('a claim leases what is due, oldest first; nobody else gets it until the lease ends', async (t) => {
      const [store] = await stores(t, dialect)
      const outbox = repo(store as Store)
      const ids = []
      for (let i = 0; i < 3; i++) ids.push(await outbox.add('mail', { n: i }, at(i)))
      await outbox.add('webhook:a', { n: 9 }, at(0))

      const first = await outbox.claim('mail', at(10), 2, at(10 + LEASE))
      assert.deepEqual(
        first.map((m) => [m.id, m.payload, m.attempts, m.channel]),
        [
          [ids[0], { n: 0 }, 1, 'mail'],
          [ids[1], { n: 1 }, 1, 'mail'],
        ],
      )
      assert.deepEqual(first[0]?.createdAt, at(0))
      const second = await outbox.claim('mail', at(10), 2, at(10 + LEASE))
      assert.deepEqual(
        second.map((m) => m.id),
        [ids[2]],
      )
      assert.deepEqual(await outbox.claim('mail', at(LEASE), 10, at(2 * LEASE)), [])
      assert.equal(await outbox.due('mail', at(LEASE)), false)
      // The lease over (the sender died): due again, for anyone, counted as a further try.
      assert.equal(await outbox.due('mail', at(LEASE + 11)), true)
      const again = await outbox.claim('mail', at(LEASE + 11), 10, at(2 * LEASE + 11))
      assert.deepEqual(
        again.map((m) => [m.id, m.attempts]),
        [
          [ids[0], 2],
          [ids[1], 2],
          [ids[2], 2],
        ],
      )
    })

    test('a claim taken over after its lease ran out is no longer the first holder’s', async (t) => {
      const [store] = await stores(t, dialect)
      const outbox = repo(store as Store)
      const id = await outbox.add('mail', {}, T0)
      const [mine] = await outbox.claim('mail', T0, 1, at(LEASE))
      const [theirs] = await outbox.claim('mail', at(LEASE + 1), 1, at(2 * LEASE))
      assert.equal(mine?.attempts, 1)
      assert.equal(theirs?.attempts, 2)

      // The first holder's late writes do nothing …
      assert.equal(await outbox.extendLease(id, 1, at(3 * LEASE)), false)
      await outbox.retryAt(id, 1, at(10), 'late')
      await outbox.release(id, 1)
      await outbox.remove(id, 1)
      const row = await (store as Store).db
        .selectFrom('outbox')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.equal(row.attempts, 2)
      assert.equal(row.last_error, null)
      assert.equal(new Date(row.lease_until ?? 0).getTime(), at(2 * LEASE).getTime())

      // … the current holder's count.
      assert.equal(await outbox.extendLease(id, 2, at(3 * LEASE)), true)
      await outbox.release(id, 2)
      assert.equal(await outbox.due('mail', at(LEASE + 2)), true)
      const [next] = await outbox.claim('mail', at(LEASE + 2), 1, at(2 * LEASE))
      assert.equal(next?.attempts, 2, 'a released claim is not counted as a try')
      await outbox.retryAt(id, 2, at(5 * LEASE), 'SMTP 451 to DATA')
      assert.equal(await outbox.due('mail', at(5 * LEASE - 1)), false)
      assert.equal(await outbox.due('mail', at(5 * LEASE)), true)
      await outbox.remove(id)
      assert.deepEqual(await outbox.stats('mail'), { waiting: 0 })
    })

    test('stats: what waits on each channel, and since when', async (t) => {
      const [store] = await stores(t, dialect)
      const outbox = repo(store as Store)
      assert.deepEqual(await outbox.stats('mail'), { waiting: 0 })
      await outbox.add('mail', {}, at(5000))
      await outbox.add('mail', {}, at(1000))
      await outbox.add('nats', {}, at(0))
      assert.deepEqual(await outbox.stats('mail'), { waiting: 2, oldest: at(1000) })
      assert.deepEqual(await outbox.stats('nats'), { waiting: 1, oldest: at(0) })
      // Claimed or backing off, a message still waits.
      await outbox.claim('mail', at(6000), 10, at(6000 + LEASE))
      assert.deepEqual(await outbox.stats('mail'), { waiting: 2, oldest: at(1000) })
    })

    test('two instances claiming at once never get the same message', async (t) => {
      const [a, b] = await stores(t, dialect, 2)
      const count = 200
      await (a as Store).db.transaction().execute(async (trx) => {
        for (let i = 0; i < count; i++) await outboxRepository(trx, dialect).add('mail', { i }, T0)
      })
      // Both pools connected first: a slow first connection must not leave the race to one side.
      for (const store of [a, b] as Store[]) {
        await Promise.all(Array.from({ length: 10 }, () => sql`select 1`.execute(store.db)))
      }
      // Ten claimers per instance, racing until nothing is left.
      const claimer = async (store: Store) => {
        const got: string[] = []
        for (;;) {
          const batch = await repo(store).claim('mail', at(1), 7, at(LEASE))
          if (batch.length === 0) return got
          got.push(...batch.map((m) => m.id))
        }
      }
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => claimer((i % 2 ? a : b) as Store)),
      )
      const all = results.flat()
      assert.equal(all.length, count)
      assert.equal(new Set(all).size, count, 'a message was claimed twice')
      // Both instances took part.
      const byA = results.filter((_, i) => i % 2).flat().length
      assert.ok(byA > 0 && byA < count, `instance A claimed ${byA} of ${count}`)
    })
  })
}
