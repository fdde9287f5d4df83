import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../schema.ts'
import { columnTypes } from './0001_initial.ts'

/**
 * Email addresses, the one-time codes mailed to them, saved recovery codes, and the outbox that
 * delivers what a change causes (mail now; events later) from the change's own transaction.
 */
export function emailRecoveryOutbox(dialect: Dialect): Migration {
  const { uuid, time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('email', 'text').execute()
      // The whole address folded: unique, and how an address is found. NULL for none.
      await db.schema.alterTable('users').addColumn('email_key', 'text').execute()
      await db.schema.alterTable('users').addColumn('email_verified_at', time).execute()
      await db.schema
        .createIndex('users_email_key_idx')
        .on('users')
        .column('email_key')
        .unique()
        .execute()

      await db.schema
        .createTable('one_time_codes')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        // The address the code went to: verifying it proves that address, and no other.
        .addColumn('sent_to', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute()
      await db.schema
        .createIndex('one_time_codes_user_idx')
        .on('one_time_codes')
        .columns(['user_id', 'purpose', 'created_at'])
        .execute()

      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        // Finds the code's row without trying every hash; not secret (see factors/recovery-codes.ts).
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .addUniqueConstraint('recovery_codes_user_selector_key', ['user_id', 'selector'])
        .execute()

      await db.schema
        .createTable('outbox')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        // Not before this time: the first try at once, later ones after a back-off.
        .addColumn('attempt_at', time, (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        // Claimed by a sender until then; a sender that died lets it go by itself.
        .addColumn('lease_until', time)
        .addColumn('last_error', 'text')
        .execute()
      await db.schema
        .createIndex('outbox_channel_attempt_idx')
        .on('outbox')
        .columns(['channel', 'attempt_at'])
        .execute()
    },
  }
}
