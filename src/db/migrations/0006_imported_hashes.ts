import { type Kysely, type Migration, sql } from 'kysely'

/**
 * Users moved in with another system's password hash: the hash's scheme, until the user's first
 * login replaces it with argon2id (null from then on, and for everyone who registered here). The
 * partial index keeps "how many foreign hashes remain, by scheme" cheap however many users there
 * are, and costs nothing once they have all logged in.
 */
export function importedHashes(): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('password_scheme', 'text').execute()
      await db.schema
        .createIndex('users_password_scheme_idx')
        .on('users')
        .column('password_scheme')
        .where(sql.ref('password_scheme'), 'is not', null)
        .execute()
    },
  }
}
