import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../schema.ts'
import { columnTypes } from './0001_initial.ts'

/**
 * The OpenID provider's own records (issue 15):
 * - `signing_keys.alg`: an RS256 key joins the EdDSA ones (OIDC Core §15.1 requires RS256 of a
 *   provider). Generations stay unique across algorithms, so the race-free creation holds.
 * - `oauth_clients`: the registered relying parties; the secret only as a SHA-256 (it is 256
 *   random bits, so a slow hash buys nothing).
 * - `oauth_consents`: what a user allowed a client, remembered beyond any one session.
 * - `oidc_session_links`: the provider's browser session → the usersvc session it rests on, so
 *   ending ours (logout, password change, disable) ends single sign-on too.
 * - `oidc_payloads.account_id/client_id`: a withdrawn consent finds every grant and token.
 */
export function oidcClients(dialect: Dialect): Migration {
  const { uuid, time } = columnTypes(dialect)
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('signing_keys')
        .addColumn('alg', 'text', (c) => c.notNull().defaultTo('EdDSA'))
        .execute()

      await db.schema
        .createTable('oauth_clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        // JSON: the client's registered metadata (OIDC Dynamic Client Registration names).
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('first_party', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('oauth_consents')
        .addColumn('user_id', uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) =>
          c.notNull().references('oauth_clients.client_id').onDelete('cascade'),
        )
        // Space-separated, as OAuth writes scopes.
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('granted_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('oauth_consents_pk', ['user_id', 'client_id'])
        .execute()

      await db.schema
        .createTable('oidc_session_links')
        .addColumn('uid', 'text', (c) => c.primaryKey())
        .addColumn('session_id', uuid, (c) =>
          c.notNull().references('sessions.id').onDelete('cascade'),
        )
        .addColumn('created_at', time, (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('oidc_session_links_session_idx')
        .on('oidc_session_links')
        .column('session_id')
        .execute()

      await db.schema.alterTable('oidc_payloads').addColumn('account_id', 'text').execute()
      await db.schema.alterTable('oidc_payloads').addColumn('client_id', 'text').execute()
      await db.schema
        .createIndex('oidc_payloads_account_idx')
        .on('oidc_payloads')
        .columns(['account_id', 'client_id'])
        .execute()
    },
  }
}
