import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../schema.ts'
import { columnTypes } from './0001_initial.ts'

/**
 * The audit trail (every security event, written in the transaction of its change), the webhook
 * endpoints the outbox delivers it to, a record of each delivery, and an account's disabling.
 */
export function eventsWebhooks(dialect: Dialect): Migration {
  const { uuid, time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('disabled_at', time).execute()
      await db.schema.alterTable('users').addColumn('disabled_reason', 'text').execute()

      // No foreign key to users: the trail outlives a deleted account.
      await db.schema
        .createTable('events')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('occurred_at', time, (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', uuid)
        .addColumn('subject_user_id', uuid)
        .addColumn('address', 'text')
        .addColumn('user_agent', 'text')
        // JSON object: what the type needs, never a secret.
        .addColumn('data', 'text', (c) => c.notNull())
        .execute()
      // Newest first, keyset-paginated: by time then id, overall, per user and per type.
      await db.schema
        .createIndex('events_occurred_idx')
        .on('events')
        .columns(['occurred_at', 'id'])
        .execute()
      await db.schema
        .createIndex('events_subject_idx')
        .on('events')
        .columns(['subject_user_id', 'occurred_at', 'id'])
        .execute()
      await db.schema
        .createIndex('events_type_idx')
        .on('events')
        .columns(['type', 'occurred_at', 'id'])
        .execute()

      await db.schema
        .createTable('webhooks')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        // JSON array of event types; NULL for every type.
        .addColumn('types', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        // Why it was disabled by the service itself (a 410), else NULL.
        .addColumn('disabled_reason', 'text')
        // Sealed under SIGNING_KEY_SECRET when it is set. After a rotation the previous secret
        // keeps signing beside the new one until previous_secret_until.
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('webhook_id', uuid, (c) =>
          c.notNull().references('webhooks.id').onDelete('cascade'),
        )
        .addColumn('event_id', uuid, (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        // pending, delivered or failed (given up on; a retry makes it pending again).
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_attempt_at', time)
        .addColumn('next_attempt_at', time)
        // JSON array of the latest tries: time, status code or error, duration.
        .addColumn('attempt_log', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('delivered_at', time)
        .execute()
      // One delivery of an event per endpoint, however often the fan-out runs.
      await db.schema
        .createIndex('webhook_deliveries_event_idx')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'event_id'])
        .unique()
        .execute()
      await db.schema
        .createIndex('webhook_deliveries_list_idx')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'created_at'])
        .execute()
    },
  }
}
