import type { Kysely, Migration } from 'kysely'

/** One row the store guard (db/guard.ts) writes now and then, to find storage faults early. */
export function storeProbe(): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('store_probe')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('writes', 'bigint', (c) => c.notNull())
        .execute()
    },
  }
}
