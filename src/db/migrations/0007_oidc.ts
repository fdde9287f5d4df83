import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../schema.ts'
import { columnTypes } from './0001_initial.ts'

/**
 * The OpenID provider's state (oidc/adapter.ts): one row per model and id, the library's payload
 * as JSON, and the columns its adapter contract looks rows up by (grant, session uid, user code).
 */
export function oidc(dialect: Dialect): Migration {
  const { time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oidc_payloads')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('uid', 'text')
        .addColumn('user_code', 'text')
        // NULL: no expiry given (the library passes none for some models).
        .addColumn('expires_at', time)
        .addColumn('consumed_at', time)
        .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
        .execute()
      // revokeByGrantId, findByUid and the sweeper's prune.
      await db.schema
        .createIndex('oidc_payloads_grant_idx')
        .on('oidc_payloads')
        .columns(['model', 'grant_id'])
        .execute()
      await db.schema
        .createIndex('oidc_payloads_uid_idx')
        .on('oidc_payloads')
        .columns(['model', 'uid'])
        .execute()
      await db.schema
        .createIndex('oidc_payloads_expires_idx')
        .on('oidc_payloads')
        .column('expires_at')
        .execute()
    },
  }
}
