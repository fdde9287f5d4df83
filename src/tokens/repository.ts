import { isUniqueViolation } from '../db/errors.ts'
import type { Db } from '../db/schema.ts'
import type { RecordEvent } from '../events/catalogue.ts'
import { ALG, type Alg, algOf, type KeyRow } from './algorithms.ts'

/** The signing keys in the store. */
export function keyRepository(db: Db, events: RecordEvent | undefined) {
  return {
    /** Keys not retired, or retired after `cutoff`: newest first. */
    live(cutoff: Date) {
      return db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) =>
          eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', cutoff.toISOString())]),
        )
        .orderBy('generation', 'desc')
        .execute()
    },

    /**
     * The latest generation and the algorithms with an active key, read in one statement (one
     * snapshot): a key added after it has the next generation, so whoever read it collides.
     */
    async state(): Promise<{ latest: number; algs: Alg[] }> {
      const rows = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'generation', 'retired_at'])
        .where((eb) =>
          eb.or([
            eb('retired_at', 'is', null),
            eb(
              'generation',
              '=',
              eb.selectFrom('signing_keys').select((s) => s.fn.max('generation').as('latest')),
            ),
          ]),
        )
        .execute()
      return {
        latest: Math.max(0, ...rows.map((row) => row.generation)),
        algs: rows.filter((row) => row.retired_at === null).map(algOf),
      }
    },

    /**
     * Stores new keys in one transaction, each retiring the older keys of its algorithm; false
     * when another instance took a generation first. `rotation` records signing_key.rotated.
     */
    async insert(rows: KeyRow[], rotation: boolean): Promise<boolean> {
      try {
        await db.transaction().execute(async (trx) => {
          for (const row of rows) {
            await trx.insertInto('signing_keys').values(row).execute()
            // The retired private key is never needed again: forget it.
            const retired = await trx
              .updateTable('signing_keys')
              .set({ retired_at: row.created_at, private_jwk: null })
              .where('alg', '=', row.alg)
              .where('generation', '<', row.generation)
              .where('retired_at', 'is', null)
              .returning('kid')
              .execute()
            if (!events || !rotation) continue
            const { kid, generation, alg } = row
            // EdDSA goes unnamed, as in the events from before other algorithms.
            const data = { kid, generation, retired: retired.map((key) => key.kid) }
            await events(trx, {
              type: 'signing_key.rotated',
              data: alg === ALG ? data : { ...data, alg },
            })
          }
        })
        return true
      } catch (error) {
        if (isUniqueViolation(error)) return false // another instance won the race
        throw error
      }
    },

    /** Every private half still kept, as stored. */
    async privateKeys(): Promise<{ kid: string; stored: string }[]> {
      const rows = await db
        .selectFrom('signing_keys')
        .select(['kid', 'private_jwk'])
        .where('private_jwk', 'is not', null)
        .execute()
      return rows.flatMap(({ kid, private_jwk: stored }) =>
        stored === null ? [] : [{ kid, stored }],
      )
    },

    /** Compare-and-set: instances re-sealing together do not undo each other. */
    async replacePrivate(kid: string, stored: string, replacement: string): Promise<void> {
      await db
        .updateTable('signing_keys')
        .set({ private_jwk: replacement })
        .where('kid', '=', kid)
        .where('private_jwk', '=', stored)
        .execute()
    },
  }
}
