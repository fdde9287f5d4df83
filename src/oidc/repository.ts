import type { Selectable } from 'kysely'
import type { Db, OidcPayloadsTable } from '../db/schema.ts'

export interface OidcRow {
  model: string
  id: string
  /** JSON text. */
  payload: string
  grantId: string | null
  uid: string | null
  userCode: string | null
  expiresAt: Date | null
  consumedAt: Date | null
  /** The user and client it belongs to, when the library names them. */
  accountId?: string | null
  clientId?: string | null
}

export type StoredRow = Selectable<OidcPayloadsTable>

/** The provider's rows in the store. Works on a Kysely instance or a transaction. */
export function oidcRepository(db: Db) {
  /** Rows without an expiry, or expiring after `now`. */
  const live = (now: Date) =>
    db
      .selectFrom('oidc_payloads')
      .selectAll()
      .where((eb) =>
        eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now.toISOString())]),
      )

  return {
    /** Insert or replace: the library saves a model again under the same id (a re-issued state). */
    async upsert(row: OidcRow): Promise<void> {
      const values = {
        model: row.model,
        id: row.id,
        payload: row.payload,
        grant_id: row.grantId,
        uid: row.uid,
        user_code: row.userCode,
        expires_at: row.expiresAt?.toISOString() ?? null,
        consumed_at: row.consumedAt?.toISOString() ?? null,
        account_id: row.accountId ?? null,
        client_id: row.clientId ?? null,
      }
      const { model: _, id: __, ...update } = values
      await db
        .insertInto('oidc_payloads')
        .values(values)
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(update))
        .execute()
    },

    /** Every grant, token, code and browser session of a user (a new password, a disable). */
    async removeAccount(accountId: string): Promise<number> {
      const result = await db
        .deleteFrom('oidc_payloads')
        .where('account_id', '=', accountId)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    /**
     * The codes and tokens bound to the browser sessions resting on a usersvc session (those
     * issued without offline_access). The browser sessions themselves stay: a sign-in under way
     * in them goes on, and single sign-on asks again (provider.ts `usersvc_session_ended`).
     */
    async removeSessionBound(sessionId: string): Promise<void> {
      await db
        .deleteFrom('oidc_payloads')
        // The models that carry a browser session's uid; listed, so (model, uid) is the index.
        .where('model', 'in', ['AccessToken', 'RefreshToken', 'AuthorizationCode'])
        .where('uid', 'in', (eb) =>
          eb.selectFrom('oidc_session_links').select('uid').where('session_id', '=', sessionId),
        )
        .execute()
    },

    /** Everything a user's grants to a client issued, the grants too (a withdrawn consent). */
    async removeOwnedBy(accountId: string, clientId: string): Promise<number> {
      const result = await db
        .deleteFrom('oidc_payloads')
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    find: (model: string, id: string, now: Date): Promise<StoredRow | undefined> =>
      live(now).where('model', '=', model).where('id', '=', id).executeTakeFirst(),

    /** The library gives each Session its own uid and each DeviceCode its own user code. */
    findBy: (
      model: string,
      column: 'uid' | 'user_code',
      value: string,
      now: Date,
    ): Promise<StoredRow | undefined> =>
      live(now).where('model', '=', model).where(column, '=', value).executeTakeFirst(),

    /** Compare-and-set: true only for the call that consumed it. */
    async consume(model: string, id: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: now.toISOString() })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async destroy(model: string, id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute()
    },

    /** The grant's rows of these models (the index leads with model): the number deleted. */
    async revokeByGrantId(models: readonly string[], grantId: string): Promise<number> {
      const result = await db
        .deleteFrom('oidc_payloads')
        .where('model', 'in', models)
        .where('grant_id', '=', grantId)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    /** Deletes at most `limit` rows expired at `now`, for a sweeper: the number deleted. */
    async prune(now: Date, limit: number): Promise<number> {
      const result = await db
        .deleteFrom('oidc_payloads')
        .where((eb) =>
          eb(
            eb.refTuple('model', 'id'),
            'in',
            eb
              .selectFrom('oidc_payloads')
              .select(['model', 'id'])
              .where('expires_at', '<=', now.toISOString())
              .limit(limit)
              .$asTuple('model', 'id'),
          ),
        )
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type OidcRepository = ReturnType<typeof oidcRepository>
