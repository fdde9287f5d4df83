import type { Db } from '../db/schema.ts'
import { toDate } from '../db/schema.ts'

export interface Consent {
  clientId: string
  clientName: string
  scopes: string[]
  grantedAt: Date
  updatedAt: Date
}

const split = (scopes: string) => scopes.split(' ').filter(Boolean)

/** What users allowed clients (oauth_consents). Works on a Kysely instance or a transaction. */
export function consentRepository(db: Db) {
  return {
    async find(userId: string, clientId: string): Promise<string[] | undefined> {
      const row = await db
        .selectFrom('oauth_consents')
        .select('scopes')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return row && split(row.scopes)
    },

    /** Adds scopes to what the user allowed the client (the first consent creates the row). */
    async grant(userId: string, clientId: string, scopes: string[], now: Date): Promise<string[]> {
      const all = [...new Set([...((await this.find(userId, clientId)) ?? []), ...scopes])]
      const at = now.toISOString()
      await db
        .insertInto('oauth_consents')
        .values({
          user_id: userId,
          client_id: clientId,
          scopes: all.join(' '),
          granted_at: at,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'client_id'])
            .doUpdateSet({ scopes: all.join(' '), updated_at: at }),
        )
        .execute()
      return all
    },

    async list(userId: string): Promise<Consent[]> {
      const rows = await db
        .selectFrom('oauth_consents')
        .innerJoin('oauth_clients', 'oauth_clients.client_id', 'oauth_consents.client_id')
        .select([
          'oauth_consents.client_id as clientId',
          'oauth_clients.name as clientName',
          'oauth_consents.scopes as scopes',
          'oauth_consents.granted_at as grantedAt',
          'oauth_consents.updated_at as updatedAt',
        ])
        .where('oauth_consents.user_id', '=', userId)
        .orderBy('oauth_consents.granted_at', 'desc')
        .execute()
      return rows.map((row) => ({
        ...row,
        scopes: split(row.scopes),
        grantedAt: toDate(row.grantedAt),
        updatedAt: toDate(row.updatedAt),
      }))
    },

    async remove(userId: string, clientId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('oauth_consents')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
