import { type Kysely, type Migration, sql } from 'kysely'
import type { Dialect } from '../schema.ts'

/** Column types that differ by dialect; everything else is the same SQL. */
export function columnTypes(dialect: Dialect) {
  return dialect === 'postgres'
    ? ({ uuid: 'uuid', time: 'timestamptz' } as const)
    : ({ uuid: 'text', time: 'text' } as const)
}

export function initial(dialect: Dialect): Migration {
  const { uuid, time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('login', 'text', (c) => c.notNull())
        .addColumn('login_key', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
        .addColumn('registered_at', time, (c) => c.notNull())
        .addColumn('password_changed_at', time, (c) => c.notNull())
        .addCheckConstraint('users_role_check', sql`role in ('user', 'admin')`)
        .execute()

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('family_id', uuid, (c) => c.notNull())
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .addColumn('revoked_at', time)
        .execute()
      await db.schema
        .createIndex('refresh_tokens_family_idx')
        .on('refresh_tokens')
        .column('family_id')
        .execute()
      await db.schema
        .createIndex('refresh_tokens_user_idx')
        .on('refresh_tokens')
        .column('user_id')
        .execute()
      await db.schema
        .createIndex('refresh_tokens_expires_idx')
        .on('refresh_tokens')
        .column('expires_at')
        .execute()

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        // UNIQUE generation makes key creation race-free: two instances creating "the first key"
        // (or rotating at once) collide here and one of them re-reads instead.
        .addColumn('generation', 'integer', (c) => c.notNull().unique())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('retired_at', time)
        .execute()
    },
    // biome-ignore lint/suspicious/noExplicitAny: see above
    async down(db: Kysely<any>) {
      await db.schema.dropTable('signing_keys').execute()
      await db.schema.dropTable('refresh_tokens').execute()
      await db.schema.dropTable('users').execute()
    },
  }
}
