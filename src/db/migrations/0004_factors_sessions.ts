import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../schema.ts'
import { columnTypes } from './0001_initial.ts'

/**
 * Second factors (TOTP and passkeys), the challenges of their ceremonies and of a login's second
 * step, and sessions as rows of their own: one per refresh-token family, which a user can list
 * and end, and whose end its access tokens see at once.
 */
export function factorsSessions(dialect: Dialect): Migration {
  const { uuid, time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('factors')
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        // NULL while pending (a TOTP secret not yet confirmed by a code).
        .addColumn('confirmed_at', time)
        .addColumn('last_used_at', time)
        // TOTP: the secret (sealed when SIGNING_KEY_SECRET is set), and the last accepted time
        // step: a step is accepted once (RFC 6238 §5.2).
        .addColumn('secret', 'text')
        .addColumn('last_step', 'bigint')
        // Passkeys: the credential id (base64url), COSE public key (base64url), signature
        // counter, transports (JSON) and the backup flags (WebAuthn L3 §6.1).
        .addColumn('credential_id', 'text')
        .addColumn('public_key', 'text')
        .addColumn('sign_count', 'bigint')
        .addColumn('transports', 'text')
        .addColumn('backup_eligible', 'integer')
        .addColumn('backup_state', 'integer')
        .execute()
      await db.schema.createIndex('factors_user_idx').on('factors').column('user_id').execute()
      await db.schema
        .createIndex('factors_credential_id_idx')
        .on('factors')
        .column('credential_id')
        .unique()
        .execute()

      // A login's second step (the mfa_token, stored as a hash) and WebAuthn challenges: each
      // single-use (used_at by compare-and-set) and short-lived.
      await db.schema
        .createTable('challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('user_id', uuid, (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute()
      await db.schema
        .createIndex('challenges_expires_idx')
        .on('challenges')
        .column('expires_at')
        .execute()

      await db.schema
        .createTable('sessions')
        // The id of its refresh-token family.
        .addColumn('id', uuid, (c) => c.primaryKey())
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('user_agent', 'text')
        .addColumn('address', 'text')
        .addColumn('aal', 'text', (c) => c.notNull())
        // JSON array of RFC 8176 values.
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('ended_at', time)
        .execute()
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute()

      // Families alive before this version become sessions of a password login.
      const families = await db
        .selectFrom('refresh_tokens')
        .select((eb) => [
          'family_id',
          'user_id',
          eb.fn.min('created_at').as('created_at'),
          eb.fn.max('created_at').as('last_used_at'),
          eb.fn.max('expires_at').as('expires_at'),
        ])
        .where('revoked_at', 'is', null)
        .groupBy(['family_id', 'user_id'])
        .execute()
      const iso = (value: unknown) =>
        value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
      for (const row of families) {
        await db
          .insertInto('sessions')
          .values({
            id: row.family_id,
            user_id: row.user_id,
            created_at: iso(row.created_at),
            last_used_at: iso(row.last_used_at),
            expires_at: iso(row.expires_at),
            user_agent: null,
            address: null,
            aal: 'aal1',
            amr: '["pwd"]',
            ended_at: null,
          })
          .execute()
      }
    },
  }
}
